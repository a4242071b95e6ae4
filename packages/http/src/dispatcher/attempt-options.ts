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
  const entries =
    typeof (headers as Iterable<unknown>)[Symbol.iterator] === 'function'
      ? (headers as Iterable<[string, string | string[]]>)
      : Object.entries(headers as object);
  for (const [name, value] of entries) if (name.toLowerCase() !== 'host') out[name] = value;
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

// By name, then value: two lookups of strings already hashed, where one key built per request
// would be a new string to hash every time.
const ALONE = new Map<string, Map<string, Headers>>();

/** `headers` with `name: value` added (a copy: the caller's object is left alone). */
export function withHeader(headers: Headers, name: string, value: string): Headers {
  if (headers === null || headers === undefined) {
    // Requests without headers of their own share one frozen object.
    let byValue = ALONE.get(name);
    if (byValue === undefined) {
      byValue = new Map();
      ALONE.set(name, byValue);
    }
    let alone = byValue.get(value);
    if (alone === undefined) {
      alone = Object.freeze({ [name]: value }) as Headers;
      byValue.set(value, alone);
    }
    return alone;
  }
  if (Array.isArray(headers)) return [...headers, name, value] as Headers;
  const out: Record<string, string | string[] | number | undefined> = {};
  const entries =
    typeof (headers as Iterable<unknown>)[Symbol.iterator] === 'function'
      ? (headers as Iterable<[string, string | string[]]>)
      : Object.entries(headers as object);
  for (const [key, v] of entries) out[key] = v;
  out[name] = value;
  return out as Headers;
}
