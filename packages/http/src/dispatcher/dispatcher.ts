// The load-balanced undici dispatcher: every request it is given is picked, sent to the chosen
// instance's pool, retried elsewhere when safe, and answered once. undici's `request`, `stream`,
// `fetch` and `compose` work on it as on any Dispatcher.

import { PicketError } from '@picket/core';
import { durationError, isDuration, POSITIVE_DURATION } from '@picket/core/internal';
import { Dispatcher, Dispatcher1Wrapper } from 'undici';
import { describeOpaque, invalidRequestError } from '../errors.ts';
import { originError, originMatches } from '../fronts/target.ts';
import type { DispatchCore, PicketDispatchOptions } from './core.ts';
import { RequestState } from './request.ts';

type WrapHandler = (handler: unknown) => Dispatcher.DispatchHandler;
// Node's built-in fetch (undici 7 inside Node) hands us handlers of the older interface
// (onConnect, onHeaders, …); undici's own wrapper adapts them.
const wrapLegacy = (Dispatcher1Wrapper as unknown as { wrapHandler: WrapHandler }).wrapHandler;

export interface DispatcherHooks {
  /** Counts a request in, or returns the error to fail it with (the client is closed). */
  begin(): Error | undefined;
  /** Closes the client this dispatcher belongs to; in-flight requests finish first. */
  close(): Promise<void>;
  /** Closes the client at once, failing in-flight requests. */
  destroy(error: Error | null): Promise<void>;
}

/** Fails the dispatch through its handler, as undici refuses a request: nothing is picked or sent. */
function refuse(handler: Dispatcher.DispatchHandler, error: Error): true {
  handler.onResponseError?.(null as never, error);
  return true;
}

function optionError(option: string, rule: string, value: unknown): PicketError {
  return new PicketError(
    'PICKET_INVALID_OPTIONS',
    `Invalid request options: \`${option}\` ${rule}, got ${describeOpaque(value)}`,
    { details: { option } },
  );
}

/**
 * Dispatch options that are not an object, or whose path or method is not a string: the error,
 * or undefined. Both are written into every message about the call (a Symbol cannot be).
 */
function shapeError(service: string, options: unknown): PicketError | undefined {
  const { path, method } = (options ?? {}) as { path?: unknown; method?: unknown };
  const problem =
    options === null || typeof options !== 'object'
      ? `dispatch options must be an object, got ${describeOpaque(options)}`
      : typeof path !== 'string'
        ? `\`path\` must be a string, got ${describeOpaque(path)}`
        : method !== undefined && typeof method !== 'string'
          ? `\`method\` must be a string, got ${describeOpaque(method)}`
          : undefined;
  if (problem === undefined) return undefined;
  return new PicketError(
    'PICKET_INVALID_REQUEST',
    `A request to service "${service}" is invalid and was not sent: ${problem}`,
  );
}

/**
 * Headers given as an iterable of pairs (a Map, a generator), as the flat array undici also
 * takes: read once, here, so that every attempt and the Host check see them all (a generator is
 * read only once). Throws what reading them throws, and on an entry that is not a pair.
 */
function flatHeaders(headers: Iterable<unknown>): unknown[] {
  const flat: unknown[] = [];
  for (const pair of headers) {
    if (!Array.isArray(pair) || pair.length !== 2) {
      throw new Error(`headers must be [name, value] pairs, got ${describeOpaque(pair)}`);
    }
    flat.push(pair[0], pair[1]);
  }
  return flat;
}

/** `options` with iterable headers made a flat array; the others as they are. */
function withFlatHeaders(options: Dispatcher.DispatchOptions): Dispatcher.DispatchOptions {
  const headers = options.headers as unknown;
  if (headers === null || typeof headers !== 'object' || Array.isArray(headers)) return options;
  if (typeof (headers as Partial<Iterable<unknown>>)[Symbol.iterator] !== 'function') return options;
  return { ...options, headers: flatHeaders(headers as Iterable<unknown>) as string[] };
}

/** Picket's per-request options, checked: the error to fail the call with, or undefined. */
function perRequestError(options: PicketDispatchOptions): PicketError | undefined {
  const { timeout, idempotent, hashKey } = options;
  // A timeout Node cannot hold would fire at once or never.
  if (timeout !== undefined && !isDuration(timeout, POSITIVE_DURATION))
    return durationError('Invalid request options', 'timeout', timeout, POSITIVE_DURATION);
  // Read as truthy, `'no'` would let a POST be sent twice.
  if (idempotent !== undefined && typeof idempotent !== 'boolean')
    return optionError('idempotent', 'must be true or false', idempotent);
  // Every object (and NaN) hashes alike: all of them would stick to one instance.
  if (hashKey !== undefined && typeof hashKey !== 'string' && !Number.isFinite(hashKey))
    return optionError('hashKey', 'must be a string or a finite number', hashKey);
  return undefined;
}

export class PicketDispatcher extends Dispatcher {
  readonly #core: DispatchCore;
  readonly #hooks: DispatcherHooks;
  readonly #http: string;
  readonly #https: string;

  constructor(core: DispatchCore, hooks: DispatcherHooks) {
    super();
    this.#core = core;
    this.#hooks = hooks;
    this.#http = `http://${core.service}`;
    this.#https = `https://${core.service}`;
  }

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    if (typeof handler?.onRequestStart !== 'function') handler = wrapLegacy(handler);
    // undici refuses these through the handler too.
    const unusable = shapeError(this.#core.service, options);
    if (unusable !== undefined) return refuse(handler, unusable);
    // Only the service's own URLs: a redirect elsewhere must not reach its instances.
    if (!originMatches(this.#core.service, this.#http, this.#https, options.origin)) {
      return refuse(handler, originError(this.#core.service, options.origin));
    }
    // Fail the call before anything is picked, so it is neither retried nor charged to an instance.
    const invalid = perRequestError(options as PicketDispatchOptions);
    if (invalid !== undefined) return refuse(handler, invalid);
    try {
      options = withFlatHeaders(options);
    } catch (error) {
      return refuse(
        handler,
        invalidRequestError(this.#core.service, options.method ?? 'GET', options.path, error),
      );
    }
    const refused = this.#hooks.begin();
    if (refused !== undefined) return refuse(handler, refused);
    const request = new RequestState(this.#core, options as PicketDispatchOptions, handler);
    try {
      request.start();
    } catch (error) {
      // Nothing thrown while starting a request may reach undici: the request fails, typed.
      request.caller.callbackThrew(null, 'dispatch', error);
    }
    return true;
  }

  override close(): Promise<void>;
  override close(callback: () => void): void;
  override close(callback?: () => void): Promise<void> | void {
    const done = this.#hooks.close();
    if (callback === undefined) return done;
    done.then(callback, callback);
  }

  override destroy(): Promise<void>;
  override destroy(error: Error | null): Promise<void>;
  override destroy(callback: () => void): void;
  override destroy(error: Error | null, callback: () => void): void;
  override destroy(a?: Error | null | (() => void), b?: () => void): Promise<void> | void {
    const error = typeof a === 'function' ? null : (a ?? null);
    const callback = typeof a === 'function' ? a : b;
    const done = this.#hooks.destroy(error);
    if (callback === undefined) return done;
    done.then(callback, callback);
  }
}
