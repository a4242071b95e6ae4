// Credentials never reach the page: instance URLs and every URL in a text (an error message, a
// reason) go through the packages' own URL redaction.

import { redactUrl } from '@picket/http';

const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>`]+/gi;

/** A URL without userinfo or token-like query values, as written otherwise (no slash added). */
export function redactShownUrl(url: string): string {
  const redacted = redactUrl(url);
  return !url.endsWith('/') && redacted.endsWith('/') && !redacted.slice(0, -1).endsWith('/')
    ? redacted.slice(0, -1)
    : redacted;
}

export function redactText(text: string): string {
  return text.replace(URL_IN_TEXT, (match) => {
    // Sentence punctuation after a URL is not part of it.
    const url = match.replace(/[).,;:!?]+$/, '');
    return redactShownUrl(url) + match.slice(url.length);
  });
}
