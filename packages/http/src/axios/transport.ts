// The `transport` handed to axios's own Node adapter: `request(options, callback)` as Node's
// http module has it. Requests to the service go through the Picket client (ServiceRequest);
// redirects are followed by follow-redirects, the package axios itself follows them with, so
// every hop within the service is balanced and retried, and a hop to another origin is sent as
// axios sends it (Node's http), with credentials dropped as follow-redirects drops them.

import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createRequire } from 'node:module';
import type { Writable } from 'node:stream';
import type { InternalAxiosRequestConfig } from 'axios';
import { hostPort, type RequestOptions, type ServiceClient, ServiceRequest } from './service-request.ts';

type Callback = (res: unknown) => void;

interface Protocol {
  request(options: RequestOptions, callback?: Callback): Writable;
}

interface FollowRedirects {
  wrap(protocols: Record<'http' | 'https', Protocol>): Record<'http' | 'https', Protocol>;
}

/** What axios's adapter puts in the options it gives a transport, beside Node's own. */
interface TransportOptions extends RequestOptions {
  maxRedirects?: number;
  sensitiveHeaders?: string[];
  beforeRedirects?: Record<string, (options: RedirectOptions, ...rest: unknown[]) => void>;
}

interface RedirectOptions {
  href: string;
  auth?: string;
  headers?: Record<string, unknown>;
}

let followRedirects: FollowRedirects | undefined;

// The copy axios resolves, so that redirects follow the same rules as axios's own adapter.
function loadFollowRedirects(): FollowRedirects {
  if (followRedirects !== undefined) return followRedirects;
  // __filename in the CommonJS build (where import.meta is empty), import.meta.url in ESM.
  const local = createRequire(typeof __filename === 'string' ? __filename : import.meta.url);
  try {
    followRedirects = createRequire(local.resolve('axios'))('follow-redirects') as FollowRedirects;
  } catch {
    followRedirects = local('follow-redirects') as FollowRedirects;
  }
  return followRedirects;
}

export function isServiceHost(service: string, hostname: string | undefined): boolean {
  return hostname !== undefined && hostname.toLowerCase() === service.toLowerCase();
}

/** One hop: the service through the client, any other origin through Node's http or https. */
function hop(client: ServiceClient, secure: boolean): Protocol {
  return {
    request(options, callback) {
      if (isServiceHost(client.service, options.hostname ?? options.host)) {
        return new ServiceRequest(client, options, callback);
      }
      return (secure ? httpsRequest : httpRequest)(options as never, callback as never);
    },
  };
}

export interface Transport {
  request(options: TransportOptions, callback: Callback): Writable;
}

/**
 * The transport for one axios call on `client`. With `maxRedirects: 0` it is a ServiceRequest,
 * as axios's is Node's http; else what axios's adapter does before handing its options to
 * follow-redirects (which it skips for a custom transport) is done here.
 */
export function serviceTransport(client: ServiceClient): (config: InternalAxiosRequestConfig) => Transport {
  let wrapped: Record<'http' | 'https', Protocol> | undefined;
  return (config) => ({
    request(options, callback) {
      const maxRedirects = config.maxRedirects;
      if (maxRedirects === 0) return new ServiceRequest(client, options, callback);
      wrapped ??= loadFollowRedirects().wrap({ http: hop(client, false), https: hop(client, true) });
      options.sensitiveHeaders = [];
      if (maxRedirects) options.maxRedirects = maxRedirects;
      const beforeRedirects = options.beforeRedirects ?? {};
      options.beforeRedirects = beforeRedirects;
      if (config.beforeRedirect) beforeRedirects.config = config.beforeRedirect as never;
      const auth = options.auth;
      if (auth) {
        // Basic credentials are restored on a redirect within the origin only, as axios does.
        const host = hostPort(options.hostname ?? options.host ?? '', options.port);
        const origin = new URL(`${options.protocol}//${host}`).origin;
        beforeRedirects.auth = (next) => {
          try {
            if (new URL(next.href).origin === origin) next.auth = auth;
          } catch {
            // A malformed URL leaves the credentials stripped.
          }
        };
      }
      const sensitive = config.sensitiveHeaders;
      if (Array.isArray(sensitive) && sensitive.length > 0) {
        const names = new Set(sensitive.map((h) => String(h).toLowerCase()));
        options.sensitiveHeaders = [...names];
        beforeRedirects.sensitiveHeaders = (next, _response, request) => {
          const from = (request as { url?: string } | undefined)?.url;
          if (from !== undefined && sameOrigin(from, next.href)) return;
          for (const name of Object.keys(next.headers ?? {})) {
            if (names.has(name.toLowerCase())) delete next.headers![name];
          }
        };
      }
      const protocol = options.protocol === 'https:' ? 'https' : 'http';
      return settlingFirst(wrapped[protocol].request(options, callback));
    },
  });
}

/**
 * follow-redirects' request emits the error it is destroyed with at once; for an upload that
 * failed, it waits here until the service's call has ended, so that the attempt is released by
 * the time axios rejects (as with `maxRedirects: 0`, where the ServiceRequest itself waits).
 */
function settlingFirst(outer: Writable): Writable {
  const destroy = outer.destroy;
  outer.destroy = function (this: Writable & { _currentRequest?: unknown }, error?: Error) {
    const current = this._currentRequest;
    const settled =
      error !== undefined && current instanceof ServiceRequest ? current.failUpload(error) : null;
    if (settled === null) return destroy.call(this, error);
    void settled.then(() => destroy.call(this, error));
    return this;
  };
  return outer;
}

function sameOrigin(a: string, b: string): boolean {
  try {
    return new URL(a).origin === new URL(b).origin;
  } catch {
    return false;
  }
}
