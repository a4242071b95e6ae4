// client.request: undici's request API on the client's dispatcher, with the service as origin.

import { PicketError } from '@picket/core';
import { describeValue } from '@picket/core/internal';
import type { Dispatcher } from 'undici';
import type { PicketDispatchOptions } from '../dispatcher/core.ts';
import type { PerRequestOptions } from '../options.ts';
import { serviceUrl } from './target.ts';

/** `client.request`'s options: undici's request options (origin from the picked instance) and the per-request ones. */
export type ClientRequestOptions = Omit<Dispatcher.RequestOptions, 'origin' | 'path' | 'method'> &
  PerRequestOptions & {
    /** Path on the service, with any query string. Default `/`. */
    path?: string;
    /** Default `GET`. */
    method?: Dispatcher.HttpMethod;
  };

interface RequestHost {
  readonly service: string;
  readonly dispatcher: Dispatcher;
}

/** The path on the service that `options` asks for; throws PICKET_INVALID_OPTIONS. */
function pathOf(service: string, options: ClientRequestOptions): string {
  if (options === null || typeof options !== 'object') {
    throw new PicketError(
      'PICKET_INVALID_OPTIONS',
      `Invalid request options: expected an object or a path, got ${describeValue(options)}`,
    );
  }
  const path: unknown = options.path === undefined ? '/' : options.path;
  if (typeof path === 'string' && path.startsWith('/')) return path;
  const url = new URL(serviceUrl(service, path as string));
  return url.pathname + url.search;
}

/** A call that cannot be made rejects, as any other failure of the call does: it never throws. */
export function clientRequest(
  client: RequestHost,
  options: ClientRequestOptions,
): Promise<Dispatcher.ResponseData> {
  let path: string;
  try {
    path = pathOf(client.service, options);
  } catch (error) {
    return Promise.reject(error);
  }
  // No origin: the client's dispatcher only ever sends to its service. The caller's options go
  // through as they are (undici only reads them) unless the path or the method must be filled in.
  const opts: PicketDispatchOptions & Dispatcher.RequestOptions =
    path === options.path && options.method !== undefined
      ? (options as PicketDispatchOptions & Dispatcher.RequestOptions)
      : { ...options, path, method: options.method ?? 'GET' };
  return client.dispatcher.request(opts) as Promise<Dispatcher.ResponseData>;
}
