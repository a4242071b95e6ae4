// Which URLs belong to a client's service: `/path` and `http(s)://<service>/path`. Anything else
// is refused rather than sent to the service's instances, so that a redirect to another host, or
// a mistaken URL, can never deliver one host's request to another.

import { PicketError } from '@picket/core';
import { describeOpaque } from '../errors.ts';
import { redactUrl } from '../redact.ts';

export function serviceOrigin(service: string): string {
  return `http://${service}`;
}

function wrongHost(service: string, url: string): PicketError {
  return new PicketError(
    'PICKET_INVALID_OPTIONS',
    `${redactUrl(url)} is not a URL of service "${service}": pass a path ("/items/42") or http://${service}/…; use createAgent() to route several services by host name`,
    { details: { url: redactUrl(url) } },
  );
}

function notAUrl(service: string, what: string): PicketError {
  return new PicketError(
    'PICKET_INVALID_OPTIONS',
    `Expected a path starting with "/" or an http://${service}/… URL, got ${what}`,
  );
}

/** Resolves a front's input to an absolute URL on the service, or throws PICKET_INVALID_OPTIONS. */
export function serviceUrl(service: string, input: string | URL): string {
  if (typeof input === 'string' && input.startsWith('/') && !input.startsWith('//')) {
    return serviceOrigin(service) + input;
  }
  // A URL from another realm (a vm context, a polyfill) is read by its href.
  const text = typeof input === 'string' ? input : (input as { href?: unknown } | null)?.href;
  if (typeof text !== 'string') {
    throw notAUrl(service, describeOpaque(input));
  }
  let url: URL;
  try {
    url = input instanceof URL ? input : new URL(text);
  } catch {
    throw notAUrl(service, JSON.stringify(redactUrl(text)));
  }
  if (
    (url.protocol !== 'http:' && url.protocol !== 'https:') ||
    url.hostname.toLowerCase() !== service.toLowerCase()
  ) {
    throw wrongHost(service, url.href);
  }
  return url.href;
}

/**
 * For the dispatcher: whether a dispatch `origin` (string, URL or absent) names the service.
 * Strings are compared first as they are, so the common case costs no parsing.
 */
export function originMatches(service: string, http: string, https: string, origin: unknown): boolean {
  if (origin === undefined || origin === null || origin === http || origin === https) return true;
  let host: string;
  if (typeof origin === 'string') {
    try {
      host = new URL(origin).hostname;
    } catch {
      return false;
    }
  } else if (origin instanceof URL) {
    host = origin.hostname;
  } else {
    return false;
  }
  return host.toLowerCase() === service.toLowerCase();
}

export function originError(service: string, origin: unknown): PicketError {
  return wrongHost(service, String(origin));
}
