// client.fetch: undici's own fetch on the client's dispatcher. Picket's per-request options
// (idempotent, hashKey, timeout) ride on a thin dispatcher made only when they are given.

import {
  Dispatcher,
  FormData as UndiciFormData,
  type RequestInit as UndiciRequestInit,
  fetch as undiciFetch,
} from 'undici';
import type { PerRequestOptions } from '../options.ts';
import { serviceUrl } from './target.ts';

/** `client.fetch`'s init: undici's RequestInit (its dispatcher is the client's) and the per-request options. */
export type ClientFetchInit = Omit<UndiciRequestInit, 'dispatcher' | 'body'> &
  PerRequestOptions & {
    /** What undici's fetch takes, and Node's global FormData (sent as multipart, as Node's fetch does). */
    body?: UndiciRequestInit['body'] | globalThis.FormData;
  };

interface Extras extends PerRequestOptions {
  body?: string | Uint8Array;
}

// undici's fetch always sends its body as a one-shot async iterable, which can never be
// replayed. When the caller's body is bytes or text we hand the dispatcher those instead (the
// same bytes, and the Content-Length fetch computed still holds), so retries stay possible.
function replayableBody(body: unknown): string | Uint8Array | undefined {
  if (typeof body === 'string') return body;
  if (body instanceof Uint8Array) return body;
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  if (ArrayBuffer.isView(body)) return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  if (body instanceof URLSearchParams) return body.toString();
  return undefined;
}

/**
 * Node's global FormData comes from the undici inside Node, not from the undici this package
 * runs: the latter's fetch would send it as the text `[object FormData]`. Its entries (strings,
 * and Blobs or Files, which both share) are carried over into this undici's FormData.
 */
function ownFormData(body: unknown): unknown {
  if (body === null || typeof body !== 'object' || body instanceof UndiciFormData) return body;
  if (Object.prototype.toString.call(body) !== '[object FormData]') return body;
  const form = new UndiciFormData();
  for (const [name, value] of body as Iterable<[string, string | File]>) form.append(name, value);
  return form;
}

/** Adds Picket's per-request options to every dispatch, then hands it to the client's dispatcher. */
class ScopedDispatcher extends Dispatcher {
  readonly #inner: Dispatcher;
  readonly #extras: Extras;

  constructor(inner: Dispatcher, extras: Extras) {
    super();
    this.#inner = inner;
    this.#extras = extras;
  }

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const extras = this.#extras;
    // Redirects are dispatched again through here; a 303 turns the request into a bodiless GET.
    const body =
      options.body === null || options.body === undefined ? options.body : (extras.body ?? options.body);
    return this.#inner.dispatch(
      {
        ...options,
        idempotent: extras.idempotent,
        hashKey: extras.hashKey,
        timeout: extras.timeout,
        body,
      } as never,
      handler,
    );
  }

  override close(): Promise<void>;
  override close(callback: () => void): void;
  override close(callback?: () => void): Promise<void> | void {
    if (callback === undefined) return Promise.resolve();
    queueMicrotask(callback);
  }

  override destroy(): Promise<void>;
  override destroy(err: Error | null): Promise<void>;
  override destroy(callback: () => void): void;
  override destroy(err: Error | null, callback: () => void): void;
  override destroy(a?: unknown, b?: () => void): Promise<void> | void {
    const callback = typeof a === 'function' ? (a as () => void) : b;
    if (callback === undefined) return Promise.resolve();
    queueMicrotask(callback);
  }
}

interface FetchHost {
  readonly service: string;
  readonly dispatcher: Dispatcher;
}

function isRequest(input: unknown): input is Request {
  return (
    typeof input === 'object' &&
    input !== null &&
    !(input instanceof URL) &&
    'url' in input &&
    'method' in input
  );
}

export function clientFetch(
  client: FetchHost,
  input: string | URL | Request,
  init?: ClientFetchInit | null,
): Promise<Response> {
  let url: string;
  let base: UndiciRequestInit = {};
  try {
    if (isRequest(input)) {
      url = serviceUrl(client.service, input.url);
      // A Request from another fetch implementation cannot be handed over; its parts can.
      base = { method: input.method, headers: input.headers as never, signal: input.signal as never };
      if (input.body !== null) Object.assign(base, { body: input.body, duplex: 'half' });
    } else {
      url = serviceUrl(client.service, input);
    }
  } catch (error) {
    return Promise.reject(error);
  }
  // As WHATWG fetch: a null `init` is none.
  const { idempotent, hashKey, timeout, ...rest } = init ?? {};
  if (rest.body !== undefined) rest.body = ownFormData(rest.body) as never;
  const body = replayableBody(rest.body);
  const dispatcher =
    idempotent === undefined && hashKey === undefined && timeout === undefined && body === undefined
      ? client.dispatcher
      : new ScopedDispatcher(client.dispatcher, { idempotent, hashKey, timeout, body });
  const request = { ...base, ...rest, dispatcher } as UndiciRequestInit;
  return undiciFetch(url, request) as unknown as Promise<Response>;
}
