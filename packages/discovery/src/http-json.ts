// JSON over HTTP for the registries that speak it (etcd's gateway, Consul, Kubernetes, Eureka):
// undici with a private Agent closed by close(), TLS options, bounded responses and lines, time
// limits, and errors that never carry a token or password.

import type { IncomingHttpHeaders } from 'node:http';
import type { TlsOptions } from '@picket/core';
import { messageOf, tlsConnectOptions, tlsSchema } from '@picket/core/internal';
import { Agent, request } from 'undici';
import { z } from 'zod';
import { wholeMs } from './fields.ts';
import { redact, redactError } from './redact.ts';

/** TLS settings for an HTTPS registry: the shape the client's `tls` has. */
export type { TlsOptions };

/** Spread into a registry provider's options schema. */
export const httpShape = {
  tls: tlsSchema.optional(),
  /** Connect time limit, ms. */
  connectTimeoutMs: wholeMs(1, 600_000).default(5_000),
  /** Whole-request time limit for non-streaming calls, ms. */
  requestTimeoutMs: wholeMs(1, 3_600_000).default(10_000),
  /** Largest registry response (or one streamed message), bytes. */
  maxResponseBytes: z
    .number()
    .int()
    .min(1024)
    .max(1024 * 1024 * 1024)
    .default(16 * 1024 * 1024),
};

export interface HttpJsonOptions {
  tls?: z.output<typeof tlsSchema> | undefined;
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  maxResponseBytes: number;
  /** Masked in every error. Read at each failure, so a refreshed token is covered. */
  secrets?: () => readonly (string | undefined)[];
}

export interface RequestInit {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Objects are sent as JSON; strings as they are. */
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Overrides `requestTimeoutMs` (blocking queries need longer). */
  timeoutMs?: number;
}

export interface StreamInit extends Omit<RequestInit, 'timeoutMs'> {
  /** Longest silence between bytes before the stream is dropped, ms; 0 waits forever. */
  idleTimeoutMs?: number;
}

export interface JsonResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** The parsed body; undefined when empty or not JSON. */
  data: unknown;
}

/** A registry answered with a status other than 2xx. Its message is already redacted. */
export class HttpStatusError extends Error {
  /** The HTTP status the registry answered with. */
  readonly status: number;
  /** The answer's parsed JSON body; undefined when it was empty or not JSON. */
  readonly data: unknown;
  /** Tells this error from others without `instanceof`. */
  readonly code = 'PICKET_HTTP_STATUS';
  constructor(message: string, status: number, data: unknown) {
    super(message);
    this.name = 'HttpStatusError';
    this.status = status;
    this.data = data;
  }
}

export interface HttpJson {
  /** One request, buffered and bounded. Any status resolves; use `expectOk` to insist on 2xx. */
  request(url: string | URL, init?: RequestInit): Promise<JsonResponse>;
  /** A streaming request whose body is newline-delimited JSON. Throws HttpStatusError unless 2xx. */
  stream(url: string | URL, init?: StreamInit): Promise<AsyncIterable<unknown>>;
  /** Throws HttpStatusError for a non-2xx response. */
  expectOk(res: JsonResponse, what: string): JsonResponse;
  /** Closes every socket. Idempotent. */
  close(): Promise<void>;
}

function excerpt(data: unknown, text: string): string {
  const raw = data === undefined ? text : JSON.stringify(data);
  return raw.length > 300 ? `${raw.slice(0, 300)}…` : raw;
}

/** Drops a response body. undici reports a destroyed unfinished body as an 'error' event, which
 * would crash the process with nobody listening, so listen first. */
function discard(body: { on(event: 'error', fn: () => void): unknown; destroy(): unknown }): void {
  body.on('error', () => {});
  body.destroy();
}

function toJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export function createHttpJson(options: HttpJsonOptions): HttpJson {
  const tls = options.tls;
  const agent = new Agent({
    connect: (tls === undefined
      ? { timeout: options.connectTimeoutMs }
      : tlsConnectOptions(tls, { timeout: options.connectTimeoutMs })) as Agent.Options['connect'],
    keepAliveTimeout: 30_000,
  });
  let closed: Promise<void> | undefined;
  const secrets = () => options.secrets?.() ?? [];
  const max = options.maxResponseBytes;

  const describe = (method: string, url: string | URL) => {
    const u = new URL(url);
    return `${method} ${u.origin}${u.pathname}`;
  };

  const wrap = (error: unknown, what: string): Error => {
    if (error instanceof HttpStatusError) return error;
    const message = messageOf(error);
    return new Error(redact(`${what}: ${message}`, secrets()), { cause: redactError(error, secrets()) });
  };

  const send = async (url: string | URL, init: RequestInit, signal: AbortSignal, timeouts: object) => {
    const method = init.method ?? (init.body === undefined ? 'GET' : 'POST');
    const body =
      init.body === undefined || typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
    const headers: Record<string, string> = { accept: 'application/json', ...init.headers };
    if (body !== undefined && init.body !== body) headers['content-type'] = 'application/json';
    return request(url, { dispatcher: agent, method, headers, body, signal, ...timeouts });
  };

  const readBounded = async (body: Parameters<typeof discard>[0] & AsyncIterable<Buffer>, what: string) => {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of body) {
      size += chunk.length;
      if (size > max) {
        discard(body);
        throw new Error(`${what}: response larger than ${max} bytes (maxResponseBytes)`);
      }
      chunks.push(chunk);
    }
    return Buffer.concat(chunks).toString('utf8');
  };

  const statusError = (method: string, url: string | URL, res: JsonResponse, text = '') =>
    new HttpStatusError(
      redact(`${describe(method, url)} returned HTTP ${res.status}: ${excerpt(res.data, text)}`, secrets()),
      res.status,
      res.data,
    );

  return {
    async request(url, init = {}) {
      const method = init.method ?? (init.body === undefined ? 'GET' : 'POST');
      const what = describe(method, url);
      const timeoutMs = init.timeoutMs ?? options.requestTimeoutMs;
      const deadline = new AbortController();
      const timer = setTimeout(
        () => deadline.abort(new Error(`no complete response within ${timeoutMs} ms`)),
        timeoutMs,
      );
      timer.unref();
      const signal =
        init.signal === undefined ? deadline.signal : AbortSignal.any([init.signal, deadline.signal]);
      try {
        const res = await send(url, init, signal, { headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
        const length = Number(res.headers['content-length'] ?? 0);
        if (length > max) {
          discard(res.body);
          throw new Error(`${what}: response of ${length} bytes is larger than ${max} (maxResponseBytes)`);
        }
        const text = await readBounded(res.body, what);
        return { status: res.statusCode, headers: res.headers, data: toJson(text) };
      } catch (error) {
        throw wrap(signal.aborted && signal.reason instanceof Error ? signal.reason : error, what);
      } finally {
        clearTimeout(timer);
      }
    },

    async stream(url, init = {}) {
      const method = init.method ?? (init.body === undefined ? 'GET' : 'POST');
      const what = describe(method, url);
      const signal = init.signal ?? new AbortController().signal;
      let res: Awaited<ReturnType<typeof send>>;
      try {
        res = await send(url, init, signal, {
          headersTimeout: options.requestTimeoutMs,
          bodyTimeout: init.idleTimeoutMs ?? 0,
        });
      } catch (error) {
        throw wrap(error, what);
      }
      if (res.statusCode < 200 || res.statusCode > 299) {
        const text = await readBounded(res.body, what).catch(() => '');
        throw statusError(
          method,
          url,
          { status: res.statusCode, headers: res.headers, data: toJson(text) },
          text,
        );
      }
      const body = res.body;
      return (async function* lines() {
        let pending = '';
        try {
          for await (const chunk of body as AsyncIterable<Buffer>) {
            pending += chunk.toString('utf8');
            let nl = pending.indexOf('\n');
            while (nl !== -1) {
              const line = pending.slice(0, nl).trim();
              pending = pending.slice(nl + 1);
              if (line !== '') yield JSON.parse(line) as unknown;
              nl = pending.indexOf('\n');
            }
            if (pending.length > max) throw new Error(`a streamed message is larger than ${max} bytes`);
          }
          if (pending.trim() !== '') yield JSON.parse(pending) as unknown;
        } catch (error) {
          throw wrap(error, `${what} stream`);
        } finally {
          discard(body);
        }
      })();
    },

    expectOk(res, what) {
      if (res.status >= 200 && res.status <= 299) return res;
      throw new HttpStatusError(
        redact(`${what} returned HTTP ${res.status}: ${excerpt(res.data, '')}`, secrets()),
        res.status,
        res.data,
      );
    },

    close() {
      closed ??= agent.destroy().catch(() => {});
      return closed;
    },
  };
}
