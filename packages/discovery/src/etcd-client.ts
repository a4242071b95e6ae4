// A small client for etcd's v3 JSON gateway (no gRPC dependency): endpoints tried in turn, auth
// tokens from /v3/auth/authenticate (one per endpoint, since simple tokens are per member) renewed
// when etcd says they are invalid, and keys as etcd wants them (base64).

import { z } from 'zod';
import { backoffSchema } from './backoff.ts';
import { createHttpJson, type HttpJson, HttpStatusError, httpShape, type TlsOptions } from './http-json.ts';
import { registryUrl } from './registry-url.ts';

/** How to reach etcd; shared by `etcd()` and `registerEtcd()`. */
export interface EtcdConnectionOptions {
  /** Client URLs (`http://10.0.0.1:2379`), tried in turn. */
  endpoints: readonly string[];
  /** With `password`, authenticates through /v3/auth/authenticate. Never logged. */
  username?: string;
  /** The password for `username`. Never logged or put in errors. */
  password?: string;
  /** TLS for `https` endpoints. */
  tls?: TlsOptions;
  /** Connect time limit, ms. Default 5000. */
  connectTimeoutMs?: number;
  /** Time limit for one call, ms. Default 10000. */
  requestTimeoutMs?: number;
  /** Largest response (or one watch message), bytes. Default 16 MiB. */
  maxResponseBytes?: number;
}

const endpoint = registryUrl;

export const etcdConnectionShape = {
  endpoints: z.array(endpoint).min(1).max(64).readonly(),
  username: z.string().min(1).optional(),
  password: z.string().optional(),
  ...httpShape,
  backoff: backoffSchema.default({ initialMs: 500, maxMs: 30_000, factor: 2 }),
};

const connection = z.object(etcdConnectionShape);
export type ResolvedEtcdConnection = z.output<typeof connection>;

/** Refinement for schemas built on `etcdConnectionShape`. */
export function checkCredentials(
  o: { username?: string | undefined; password?: string | undefined },
  ctx: z.RefinementCtx,
) {
  if ((o.username === undefined) !== (o.password === undefined)) {
    ctx.addIssue({ code: 'custom', path: ['username'], message: 'and `password` go together' });
  }
}

export const b64 = (value: string | Uint8Array) => Buffer.from(value).toString('base64');
export const fromB64 = (value: unknown) =>
  typeof value === 'string' ? Buffer.from(value, 'base64').toString('utf8') : '';

/** The end of the key range that holds exactly the keys starting with `prefix`. */
export function prefixEnd(prefix: string): string {
  const bytes = Buffer.from(prefix);
  for (let i = bytes.length - 1; i >= 0; i--) {
    if (bytes[i]! < 0xff) {
      const end = Buffer.from(bytes.subarray(0, i + 1));
      end[i] = bytes[i]! + 1;
      return end.toString('base64');
    }
  }
  // Every byte is 0xff: the range runs to the end of the key space.
  return b64(new Uint8Array([0]));
}

export interface CallOptions {
  signal?: AbortSignal | undefined;
  /** Overrides `requestTimeoutMs` for this call, ms. */
  timeoutMs?: number | undefined;
}

export interface EtcdClient {
  /** POSTs to a gateway path on the first endpoint that answers; throws for a non-2xx answer. */
  call(path: string, body: unknown, options?: CallOptions): Promise<Record<string, unknown>>;
  /** Opens a watch stream with `body` (`{ create_request }`). */
  watch(body: unknown, signal: AbortSignal, idleTimeoutMs: number): Promise<AsyncIterable<unknown>>;
  /** Forgets the token of the endpoint in use (etcd rejected it). */
  dropToken(): void;
  /** The endpoint in use, for messages. */
  endpoint(): string;
  secrets(): (string | undefined)[];
  close(): Promise<void>;
}

/** An auth failure: a stale token, or none where etcd now wants one. */
export function isAuthError(error: unknown): boolean {
  if (!(error instanceof HttpStatusError)) return false;
  const code = (error.data as { code?: unknown } | undefined)?.code;
  return error.status === 401 || code === 16 || /invalid auth token|user name is empty/.test(error.message);
}

// Worth trying another member: the network failed, or the member is unavailable or leaderless.
function tryElsewhere(error: unknown): boolean {
  return !(error instanceof HttpStatusError) || error.status >= 500 || error.status === 429;
}

export function createEtcdClient(opts: ResolvedEtcdConnection): EtcdClient {
  const tokens = new Map<string, string>();
  let current = 0;
  const secrets = () => [opts.password, ...tokens.values()];
  const http: HttpJson = createHttpJson({ ...opts, secrets });

  const authenticate = async (base: string, signal?: AbortSignal): Promise<Record<string, string>> => {
    if (opts.username === undefined) return {};
    let token = tokens.get(base);
    if (token === undefined) {
      const res = await http.request(new URL('/v3/auth/authenticate', base), {
        method: 'POST',
        body: { name: opts.username, password: opts.password },
        ...(signal === undefined ? {} : { signal }),
      });
      const data = http.expectOk(res, `etcd authenticate as ${JSON.stringify(opts.username)} at ${base}`)
        .data as {
        token?: unknown;
      };
      if (typeof data?.token !== 'string') throw new Error(`etcd at ${base} returned no auth token`);
      token = data.token;
      tokens.set(base, token);
    }
    return { authorization: token };
  };

  const attempt = async (base: string, path: string, body: unknown, call: CallOptions) => {
    const { signal, timeoutMs } = call;
    for (let tries = 0; ; tries++) {
      const headers = await authenticate(base, signal);
      const res = await http.request(new URL(path, base), {
        method: 'POST',
        body,
        headers,
        ...(signal === undefined ? {} : { signal }),
        ...(timeoutMs === undefined ? {} : { timeoutMs }),
      });
      try {
        return http.expectOk(res, `etcd ${path} at ${base}`).data as Record<string, unknown>;
      } catch (error) {
        if (tries === 0 && opts.username !== undefined && isAuthError(error)) {
          tokens.delete(base);
          continue;
        }
        throw error;
      }
    }
  };

  const inTurn = async <T>(fn: (base: string) => Promise<T>, signal?: AbortSignal): Promise<T> => {
    let lastError: unknown;
    const n = opts.endpoints.length;
    for (let i = 0; i < n; i++) {
      const index = (current + i) % n;
      try {
        const result = await fn(opts.endpoints[index]!);
        current = index;
        return result;
      } catch (error) {
        if (signal?.aborted || !tryElsewhere(error)) throw error;
        lastError = error;
      }
    }
    // Start with the next member next time, so that one dead member is not always tried first.
    current = (current + 1) % n;
    throw lastError;
  };

  return {
    call: (path, body, call = {}) => inTurn((base) => attempt(base, path, body, call), call.signal),
    watch: (body, signal, idleTimeoutMs) =>
      inTurn(async (base) => {
        const headers = await authenticate(base, signal);
        return http.stream(new URL('/v3/watch', base), {
          method: 'POST',
          body,
          headers,
          signal,
          idleTimeoutMs,
        });
      }, signal),
    dropToken() {
      tokens.delete(opts.endpoints[current]!);
    },
    endpoint: () => opts.endpoints[current]!,
    secrets,
    close: () => http.close(),
  };
}
