// client.request: undici's request API on the client's dispatcher, with the service as origin.

import type { Dispatcher } from 'undici';
import type { PicketDispatchOptions } from '../dispatcher/core.ts';
import type { PerRequestOptions } from '../options.ts';
import { serviceUrl } from './target.ts';

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

export function clientRequest(
  client: RequestHost,
  options: ClientRequestOptions,
): Promise<Dispatcher.ResponseData> {
  let path = options.path ?? '/';
  if (!path.startsWith('/')) {
    const url = new URL(serviceUrl(client.service, path));
    path = url.pathname + url.search;
  }
  // No origin: the client's dispatcher only ever sends to its service. The caller's options go
  // through as they are (undici only reads them) unless the path or the method must be filled in.
  const opts: PicketDispatchOptions & Dispatcher.RequestOptions =
    path === options.path && options.method !== undefined
      ? (options as PicketDispatchOptions & Dispatcher.RequestOptions)
      : { ...options, path, method: options.method ?? 'GET' };
  return client.dispatcher.request(opts) as Promise<Dispatcher.ResponseData>;
}
