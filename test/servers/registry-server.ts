// A restartable loopback HTTP(S) server underneath the Consul, Kubernetes and Eureka test servers:
// it records requests, injects faults, and can go away and come back on the same port, as a
// registry does when it restarts. Waits are event-driven with deadlines, never sleeps.

import { EventEmitter } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

export type Handler = (req: RecordedRequest, res: http.ServerResponse) => void;

export interface TlsMaterial {
  readonly key: string;
  readonly cert: string;
}

const MAX_BODY = 1024 * 1024;

export class LoopbackServer {
  readonly requests: RecordedRequest[] = [];
  readonly #handler: Handler;
  readonly #tls: TlsMaterial | undefined;
  readonly #sockets = new Set<Socket>();
  readonly #events = new EventEmitter();
  #server: http.Server | undefined;
  #port = 0;
  #faults: number[] = [];

  constructor(handler: Handler, tls?: TlsMaterial) {
    this.#handler = handler;
    this.#tls = tls;
  }

  get port(): number {
    return this.#port;
  }

  get url(): string {
    return `${this.#tls === undefined ? 'http' : 'https'}://127.0.0.1:${this.#port}`;
  }

  /** Listens on the port it had before, or on a fresh one the first time. */
  async start(): Promise<void> {
    const listener = (req: http.IncomingMessage, res: http.ServerResponse) => this.#receive(req, res);
    const server =
      this.#tls === undefined ? http.createServer(listener) : https.createServer(this.#tls, listener);
    server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
    // A restart takes the port it had; while the server was away, the port may have been lent
    // to some outgoing connection as its local port, so a clash is retried for a while.
    for (let attempt = 1; ; attempt++) {
      try {
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(this.#port, '127.0.0.1', () => {
            server.off('error', reject);
            resolve();
          });
        });
        break;
      } catch (error) {
        if (this.#port === 0 || attempt >= 40 || (error as NodeJS.ErrnoException).code !== 'EADDRINUSE')
          throw error;
        server.close();
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
    this.#port = (server.address() as AddressInfo).port;
    this.#server = server;
  }

  /** Goes away: refuses connections and cuts the open ones (hanging watches and long polls too). */
  async stop(): Promise<void> {
    const server = this.#server;
    if (server === undefined) return;
    this.#server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.#sockets) socket.destroy();
    await closed;
  }

  /** The next `count` requests get `status` with an empty JSON body instead of an answer. */
  failNext(status: number, count = 1): void {
    for (let i = 0; i < count; i++) this.#faults.push(status);
  }

  /** Connections currently open to the server (keep-alive included). */
  get openConnections(): number {
    return this.#sockets.size;
  }

  /**
   * Resolves with the first request at index `from` or later that matches; by default only
   * requests that arrive after the call count.
   */
  waitForRequest(
    match: (req: RecordedRequest) => boolean,
    { from = this.requests.length, timeoutMs = 15_000 }: { from?: number; timeoutMs?: number } = {},
  ): Promise<RecordedRequest> {
    for (let i = from; i < this.requests.length; i++) {
      const req = this.requests[i];
      if (req !== undefined && match(req)) return Promise.resolve(req);
    }
    return new Promise((resolve, reject) => {
      const onRequest = (req: RecordedRequest) => {
        if (!match(req)) return;
        clearTimeout(timer);
        this.#events.off('request', onRequest);
        resolve(req);
      };
      const timer = setTimeout(() => {
        this.#events.off('request', onRequest);
        reject(new Error(`no matching request within ${timeoutMs} ms (saw ${this.requests.length})`));
      }, timeoutMs);
      this.#events.on('request', onRequest);
    });
  }

  /** Resolves when no connection is open, for asserting that a client closed its sockets. */
  async waitForNoConnections(timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.#sockets.size > 0) {
      if (Date.now() > deadline) throw new Error(`${this.#sockets.size} connection(s) still open`);
      const [socket] = this.#sockets;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(0, deadline - Date.now()) + 1);
        socket?.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  #receive(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY) chunks.push(chunk);
    });
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const recorded: RecordedRequest = {
        method: req.method ?? 'GET',
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      this.requests.push(recorded);
      const fault = this.#faults.shift();
      if (fault !== undefined) {
        sendJson(res, fault, { message: 'injected fault' });
      } else {
        try {
          this.#handler(recorded, res);
        } catch (error) {
          sendJson(res, 500, { message: String(error) });
        }
      }
      this.#events.emit('request', recorded);
    });
  }
}

export function sendJson(
  res: http.ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.destroyed || res.writableEnded) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

export function sendText(res: http.ServerResponse, status: number, text: string, type = 'text/plain'): void {
  if (res.destroyed || res.writableEnded) return;
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Resolves with the first event that matches, or rejects after `timeoutMs`. */
export function whenEvent<T>(
  subscribe: (fn: (payload: T) => void) => () => void,
  match: (payload: T) => boolean = () => true,
  timeoutMs = 15_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`no matching event within ${timeoutMs} ms`));
    }, timeoutMs);
    const unsubscribe = subscribe((payload) => {
      if (!match(payload)) return;
      clearTimeout(timer);
      unsubscribe();
      resolve(payload);
    });
  });
}
