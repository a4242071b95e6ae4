// Dispatch options for one instance. The request passes the caller's options through as they
// are when nothing needs changing (the common case: no copy); else it uses a copy with the
// instance's base path prefixed and a caller's `Host` header removed (undici then sends the
// instance's host and port). The per-try timeout is not undici's `headersTimeout`: undici arms
// that on its 1-second fast timers; the request enforces it itself (deadlines.ts).

import type { Dispatcher } from 'undici';

type Headers = Dispatcher.DispatchOptions['headers'];

/** Whether `headers` carries a `Host` header, in any of the shapes undici accepts. */
export function hasHostHeader(headers: Headers): boolean {
  if (headers === null || headers === undefined) return false;
  if (Array.isArray(headers)) {
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i];
      if (typeof name === 'string' && name.length === 4 && name.toLowerCase() === 'host') return true;
    }
    return false;
  }
  if (typeof (headers as Iterable<unknown>)[Symbol.iterator] === 'function') {
    for (const pair of headers as Iterable<[string, unknown]>) {
      if (pair[0].length === 4 && pair[0].toLowerCase() === 'host') return true;
    }
    return false;
  }
  for (const name in headers as object) {
    if (name.length === 4 && name.toLowerCase() === 'host') return true;
  }
  return false;
}

/** The `[name, value]` pairs of headers given as an object or an iterable of pairs. */
function entriesOf(headers: object): Iterable<[string, string | string[] | number | undefined]> {
  return typeof (headers as Iterable<unknown>)[Symbol.iterator] === 'function'
    ? (headers as Iterable<[string, string | string[]]>)
    : Object.entries(headers);
}

function withoutHost(headers: Headers): Headers {
  if (headers === null || headers === undefined) return headers;
  if (Array.isArray(headers)) {
    const out: string[] = [];
    for (let i = 0; i + 1 < headers.length; i += 2) {
      if (String(headers[i]).toLowerCase() !== 'host')
        out.push(headers[i] as string, headers[i + 1] as string);
    }
    return out;
  }
  const out: Record<string, string | string[] | number | undefined> = {};
  for (const [name, value] of entriesOf(headers)) if (name.toLowerCase() !== 'host') out[name] = value;
  return out as Headers;
}

/** A copy of `source` for an instance with `basePath`, without a caller's `Host`. */
export function copyOptions(
  source: Dispatcher.DispatchOptions,
  basePath: string,
): Dispatcher.DispatchOptions {
  return {
    ...source,
    path: basePath === '' ? source.path : basePath + source.path,
    headers: withoutHost(source.headers),
  };
}

/**
 * `headers` with `name: value` added (a copy: the caller's object is left alone). Made when an
 * attempt asks an instance for a load report, at most once per instance per interval, so a
 * request without headers of its own gets a new object rather than a shared one.
 */
export function withHeader(headers: Headers, name: string, value: string): Headers {
  if (Array.isArray(headers)) return [...headers, name, value] as Headers;
  const out: Record<string, string | string[] | number | undefined> = {};
  if (headers !== null && headers !== undefined) for (const [key, v] of entriesOf(headers)) out[key] = v;
  out[name] = value;
  return out as Headers;
}
