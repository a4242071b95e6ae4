// A ClientRequest that sends through a Picket client: what axios's Node adapter, and
// follow-redirects between them, write to and listen on. Its body is collected when it is all
// written at once (a Buffer or string: the client may then retry it), else streamed as it comes.
// Its ServiceSocket (service-socket.ts) stands for the connection as axios's timeouts see it.

import { PassThrough, Writable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { Client } from '../client.ts';
import { redactPath } from '../redact.ts';
import { connectionReset, requestError } from './node-errors.ts';
import { ServiceResponse } from './service-response.ts';
import { ServiceSocket } from './service-socket.ts';

export type ServiceClient = Pick<Client, 'request' | 'service'>;

/** The options of `http.request` that a ServiceRequest reads. */
export interface RequestOptions {
  method?: string;
  path?: string;
  hostname?: string;
  host?: string;
  port?: string | number;
  protocol?: string;
  auth?: string;
  headers?: Record<string, string | string[] | number | undefined>;
}

type HeaderValue = string | string[] | number;

// axios destroys its request with these when it gives up on it (timeout, cancel): an abort.
const GIVING_UP = new Set(['ERR_CANCELED', 'ECONNABORTED', 'ETIMEDOUT']);

function isCancel(error: Error): boolean {
  return GIVING_UP.has((error as { code?: string }).code ?? '') || error.name === 'CanceledError';
}

/** `host[:port]` as a Host header or a URL has it, an IPv6 address in brackets. */
export function hostPort(hostname: string, port: string | number | undefined): string {
  const name = hostname.includes(':') ? `[${hostname}]` : hostname;
  return port === undefined || port === '' ? name : `${name}:${port}`;
}

const BUFFERING = 0;
const STREAMING = 1;
const SENT = 2;

function ignoreError(): void {}

export class ServiceRequest extends Writable {
  readonly method: string;
  readonly path: string;
  readonly host: string;
  readonly protocol: string;
  socket: ServiceSocket | null = null;
  res: ServiceResponse | null = null;
  aborted = false;
  reusedSocket = false;
  finished = false;
  readonly #client: ServiceClient;
  readonly #headers = new Map<string, [string, HeaderValue]>();
  readonly #controller = new AbortController();
  readonly #socket: ServiceSocket;
  #mode = BUFFERING;
  #chunks: Buffer[] = [];
  #upload: PassThrough | null = null;
  /** The response has ended or failed: destroying the request no longer aborts anything. */
  #over = false;
  /** The client's call, until it has settled. */
  #pending: Promise<void> | null = null;

  constructor(client: ServiceClient, options: RequestOptions, onResponse?: (res: ServiceResponse) => void) {
    super({ autoDestroy: false, decodeStrings: true });
    this.#client = client;
    this.method = (options.method ?? 'GET').toUpperCase();
    this.path = options.path ?? '/';
    this.protocol = options.protocol ?? 'http:';
    const hostname = options.hostname ?? options.host ?? client.service;
    this.host = hostname;
    for (const [name, value] of Object.entries(options.headers ?? {})) {
      if (value !== undefined) this.setHeader(name, value);
    }
    // As Node's http does: `auth` becomes basic auth, and Host names the URL's host.
    if (options.auth !== undefined && !this.hasHeader('authorization')) {
      this.setHeader('Authorization', `Basic ${Buffer.from(options.auth).toString('base64')}`);
    }
    if (!this.hasHeader('host')) this.#headers.set('host', ['Host', hostPort(hostname, options.port)]);
    if (onResponse !== undefined) this.once('response', onResponse);
    this.#socket = new ServiceSocket(this);
    process.nextTick(() => {
      if (this.destroyed) return;
      this.socket = this.#socket;
      this.emit('socket', this.#socket);
    });
    // A body of known length written and ended at once is sent as bytes, which the client may
    // send again; one still being written a turn later (a stream piped in) is streamed.
    setImmediate(() => {
      if (this.#mode === BUFFERING && !this.destroyed) this.#stream();
    });
  }

  /** For loggers: the request line, its query's credentials hidden (the object itself is circular). */
  toJSON(): { method: string; host: string; path: string } {
    return { method: this.method, host: this.host, path: redactPath(this.path) };
  }

  get connection(): ServiceSocket | null {
    return this.socket;
  }

  // ── Headers, as ClientRequest has them ────────────────────────────────────────────────

  setHeader(name: string, value: HeaderValue): this {
    this.#headers.set(name.toLowerCase(), [name, value]);
    return this;
  }

  getHeader(name: string): HeaderValue | undefined {
    return this.#headers.get(name.toLowerCase())?.[1];
  }

  getHeaders(): Record<string, HeaderValue> {
    const out: Record<string, HeaderValue> = Object.create(null);
    for (const [key, [, value]] of this.#headers) out[key] = value;
    return out;
  }

  getHeaderNames(): string[] {
    return [...this.#headers.keys()];
  }

  getRawHeaderNames(): string[] {
    return [...this.#headers.values()].map(([name]) => name);
  }

  hasHeader(name: string): boolean {
    return this.#headers.has(name.toLowerCase());
  }

  removeHeader(name: string): void {
    this.#headers.delete(name.toLowerCase());
  }

  setTimeout(ms: number, callback?: () => void): this {
    if (callback !== undefined) this.once('timeout', callback);
    const arm = (socket: ServiceSocket) => {
      socket.setTimeout(ms);
      socket.removeListener('timeout', this.#onSocketTimeout);
      if (ms > 0) socket.on('timeout', this.#onSocketTimeout);
    };
    if (this.socket !== null) arm(this.socket);
    else this.once('socket', arm);
    return this;
  }

  readonly #onSocketTimeout = (): void => {
    this.emit('timeout');
  };

  setNoDelay(): void {}

  setSocketKeepAlive(): void {}

  flushHeaders(): void {}

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    process.nextTick(() => this.emit('abort'));
    this.destroy();
  }

  // ── The body ──────────────────────────────────────────────────────────────────────────

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#socket.activity();
    // Without a length, Node sends a body chunked as it is written; so does a streamed one.
    if (this.#upload === null && !this.hasHeader('content-length')) this.#stream();
    if (this.#upload === null) {
      this.#chunks.push(chunk);
      callback();
    } else if (this.#upload.write(chunk)) callback();
    else this.#upload.once('drain', () => callback());
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.finished = true;
    if (this.#upload !== null) this.#upload.end();
    else {
      const chunks = this.#chunks;
      this.#chunks = [];
      this.#send(chunks.length === 0 ? null : chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
    }
    callback();
  }

  #stream(): void {
    const upload = new PassThrough();
    // Its failure reaches the call through undici's read of it (the iterator sees `errored` even
    // when it was not waiting); an 'error' emitted while undici is not reading must not be an
    // uncaught exception.
    upload.on('error', ignoreError);
    this.#upload = upload;
    for (const chunk of this.#chunks) upload.write(chunk);
    this.#chunks = [];
    // An iterable, not the stream: undici would give a stream that ended before it looked a
    // Content-Length, where Node sends what it was not told the length of chunked.
    this.#send(upload[Symbol.asyncIterator]() as AsyncIterable<Buffer>, STREAMING);
  }

  #send(body: Buffer | AsyncIterable<Buffer> | null, mode = SENT): void {
    if (this.#mode === SENT || this.destroyed) return;
    this.#mode = mode;
    const headers: Record<string, string | string[]> = {};
    for (const [key, [, value]] of this.#headers) {
      if (key !== 'host') headers[key] = typeof value === 'number' ? String(value) : value;
    }
    this.#pending = this.#client
      .request({
        path: this.path,
        method: this.method as Dispatcher.HttpMethod,
        headers,
        // undici sends an async iterable as it sends a stream; its types leave iterables out.
        body: body as Buffer | null,
        signal: this.#controller.signal,
      })
      .then(
        (data) => this.#respond(data),
        (error: unknown) => this.#fail(error),
      )
      .finally(() => {
        this.#pending = null;
      });
  }

  #respond(data: Dispatcher.ResponseData): void {
    if (this.destroyed) {
      data.body.destroy();
      return;
    }
    this.#socket.activity();
    const res = new ServiceResponse(data, this, this.#socket);
    this.res = res;
    const over = () => {
      this.#over = true;
      this.#socket.release();
      if (!this.destroyed) this.destroy();
    };
    res.once('end', over);
    res.once('close', over);
    this.emit('response', res);
  }

  #fail(error: unknown): void {
    this.#over = true;
    this.#socket.release();
    if (!this.destroyed) this.destroy(requestError(error));
  }

  /** Its socket was destroyed (an idle timeout, or the caller): lost as Node loses it. */
  connectionLost(error?: Error): void {
    if (this.res !== null) {
      this.#abort();
      this.#resLost();
    } else if (!this.destroyed) this.destroy(error ?? connectionReset('socket hang up'));
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#socket.release();
    if (this.#over) {
      callback(error);
      return;
    }
    const settled = error === null ? null : this.failUpload(error);
    if (settled !== null) {
      void settled.then(() => callback(error));
      return;
    }
    this.#abort();
    this.#resLost();
    callback(error);
  }

  /**
   * For a destroy with `error` while the body streams and no answer has come: when the error is
   * the upload's (its source, or maxBodyLength), not axios giving up, the body fails with it as
   * undici fails a stream body, and the client fails the call as the caller's own, once. Resolves
   * when that call has ended and its attempt is released; null for any other destroy.
   */
  failUpload(error: Error): Promise<void> | null {
    const pending = this.res === null ? this.#pending : null;
    if (pending === null || this.#upload === null || isCancel(error)) return null;
    this.#upload.destroy(error);
    return pending;
  }

  // As a socket's end reaches its response: on a later tick, after what the destroyer emits now.
  #resLost(): void {
    const res = this.res;
    if (res !== null && !res.complete) process.nextTick(() => res.lost());
  }

  #abort(): void {
    this.#over = true;
    if (!this.#controller.signal.aborted) this.#controller.abort();
    this.#upload?.destroy();
  }
}
