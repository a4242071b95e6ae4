// Redaction of credentials before anything reaches an error message, an event or a log line:
// sensitive headers, userinfo in URLs, and token-like query parameters.

const SENSITIVE_HEADERS = new Set([
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'x-auth-token',
  'x-access-token',
  'x-csrf-token',
  'x-xsrf-token',
]);

// Query parameter names whose values are credentials often enough to hide them always.
const SENSITIVE_PARAM = /(token|key|secret|password|passwd|pwd|auth|signature|sig|session|credential|code)/i;

export const REDACTED = '[REDACTED]';

export function isSensitiveHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return SENSITIVE_HEADERS.has(lower) || lower.endsWith('-token') || lower.endsWith('-secret');
}

/** A copy of `headers` (object, flat array or iterable of pairs) with sensitive values replaced. */
export function redactHeaders(headers: unknown): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  if (headers === null || headers === undefined) return out;
  const put = (name: unknown, value: unknown) => {
    const key = String(name).toLowerCase();
    out[key] = isSensitiveHeader(key) ? REDACTED : Array.isArray(value) ? value.map(String) : String(value);
  };
  if (Array.isArray(headers)) {
    for (let i = 0; i + 1 < headers.length; i += 2) put(headers[i], headers[i + 1]);
  } else if (typeof (headers as Iterable<unknown>)[Symbol.iterator] === 'function') {
    for (const pair of headers as Iterable<[unknown, unknown]>) put(pair[0], pair[1]);
  } else if (typeof headers === 'object') {
    for (const [name, value] of Object.entries(headers as object)) if (value !== undefined) put(name, value);
  }
  return out;
}

function redactQuery(query: string): string {
  return query
    .split('&')
    .map((part) => {
      const eq = part.indexOf('=');
      if (eq < 0) return part;
      return SENSITIVE_PARAM.test(decodeURIComponentSafe(part.slice(0, eq)))
        ? `${part.slice(0, eq)}=${REDACTED}`
        : part;
    })
    .join('&');
}

function decodeURIComponentSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** A request path (`/a/b?x=1&token=…`) with token-like query values replaced. */
export function redactPath(path: string): string {
  const q = path.indexOf('?');
  if (q < 0) return path;
  const hash = path.indexOf('#', q);
  const query = hash < 0 ? path.slice(q + 1) : path.slice(q + 1, hash);
  return `${path.slice(0, q)}?${redactQuery(query)}`;
}

/** A URL with userinfo removed and token-like query values replaced. */
export function redactUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return redactPath(url.replace(/\/\/[^/@]*@/, '//'));
  }
  parsed.username = '';
  parsed.password = '';
  const search = parsed.search === '' ? '' : `?${redactQuery(parsed.search.slice(1))}`;
  return `${parsed.origin}${parsed.pathname}${search}`;
}
