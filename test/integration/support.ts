// Shared parts of the cross-package suites: in-process node:http instances on loopback that count
// the requests they serve (and when), a paced load generator that records every failure, and
// event waits with deadlines on a client.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Client, ClientEvents, LoadReporter } from 'picket';

export interface BackendOptions {
  /** Returned in the `x-server` header and the body. */
  name: string;
  /** Default 127.0.0.1. Every 127/8 address is loopback on Linux. */
  host?: string;
  /** Default 0 (the OS picks). */
  port?: number;
  /** Serves `/load` (and counts requests in flight) with this reporter. */
  reporter?: LoadReporter;
}

export interface Backend {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly url: string;
  /** The load reporter given in the options. */
  readonly reporter: LoadReporter | undefined;
  /** Status `/health` answers (200 by default); set it to flip the instance's health. */
  health: number;
  /** Application requests served (health and load probes not counted). */
  readonly requests: number;
  /** performance.now() of the last application request, or -Infinity. */
  readonly lastRequestAt: number;
  /** performance.now() of the first application request at or after `t`, or undefined. */
  firstRequestAfter(t: number): number | undefined;
  /** Health probes answered. */
  readonly probes: number;
  readonly listening: boolean;
  /** Stops accepting connections and closes idle ones; requests in progress finish. */
  stopListening(): Promise<void>;
  /** Listens again on the same address and port. */
  listen(): Promise<void>;
  /** Closes everything. Idempotent. */
  close(): Promise<void>;
}

const MAX_ARRIVALS = 200_000;

export async function startBackend(options: BackendOptions): Promise<Backend> {
  const host = options.host ?? '127.0.0.1';
  const arrivals: number[] = [];
  const state = { requests: 0, probes: 0, health: 200, listening: false, closed: false };
  const sockets = new Set<Socket>();
  const reporter = options.reporter;

  const app = (req: IncomingMessage, res: ServerResponse) => {
    state.requests++;
    if (arrivals.length < MAX_ARRIVALS) arrivals.push(performance.now());
    req.resume();
    req.on('end', () => {
      const body = JSON.stringify({ server: options.name, path: req.url });
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        'x-server': options.name,
      });
      res.end(body);
    });
  };

  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/health') {
      state.probes++;
      res.writeHead(state.health, { 'content-type': 'text/plain', 'x-server': options.name });
      res.end(state.health === 200 ? 'ok' : 'unavailable');
      return;
    }
    if (reporter !== undefined) {
      // The reporter answers `/load` itself and counts every other request in flight.
      if (path === reporter.path) state.probes++;
      reporter(req, res, () => app(req, res));
      return;
    }
    app(req, res);
  });
  server.keepAliveTimeout = 30_000;
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const onError = (error: Error) => reject(error);
      server.once('error', onError);
      server.listen({ host, port: bound ?? options.port ?? 0, exclusive: true }, () => {
        server.removeListener('error', onError);
        state.listening = true;
        resolve();
      });
    });
  // Set once the first listen() has bound: later ones reuse the same port.
  let bound: number | undefined;
  await listen();
  const port = (server.address() as AddressInfo).port;
  bound = port;

  const stopListening = () =>
    new Promise<void>((resolve) => {
      if (!state.listening) {
        resolve();
        return;
      }
      state.listening = false;
      server.close(() => resolve());
      server.closeIdleConnections();
    });

  const backend: Backend = {
    name: options.name,
    host,
    port,
    url: `http://${host}:${port}`,
    reporter,
    get health() {
      return state.health;
    },
    set health(status: number) {
      state.health = status;
    },
    get requests() {
      return state.requests;
    },
    get lastRequestAt() {
      return arrivals.length === 0 ? Number.NEGATIVE_INFINITY : (arrivals[arrivals.length - 1] as number);
    },
    firstRequestAfter(t) {
      for (let i = arrivals.length - 1; i >= 0; i--) {
        const at = arrivals[i] as number;
        if (at < t) return i === arrivals.length - 1 ? undefined : arrivals[i + 1];
      }
      return arrivals[0];
    },
    get probes() {
      return state.probes;
    },
    get listening() {
      return state.listening;
    },
    stopListening,
    listen,
    async close() {
      if (state.closed) return;
      state.closed = true;
      const closing = stopListening();
      for (const socket of sockets) socket.destroy();
      await closing;
      reporter?.close();
    },
  };
  return backend;
}

export interface TrafficOptions {
  path?: string;
  /** Concurrent request loops. Default 2. */
  workers?: number;
  /** Pause between one loop's requests, ms (paces the load on a shared 2-core machine). Default 4. */
  pauseMs?: number;
  /** Hard stop, ms, so that a test that forgets stop() still ends. Default 60000. */
  maxMs?: number;
}

export interface Traffic {
  readonly ok: number;
  readonly failed: number;
  /** Failures: thrown errors, or `status <code>` for a non-200 answer. */
  readonly errors: readonly unknown[];
  /** Successful requests per `x-server`. */
  readonly byServer: ReadonlyMap<string, number>;
  /** Resolves once `n` more requests have succeeded (deadline `timeoutMs`). */
  more(n: number, timeoutMs?: number): Promise<void>;
  /** Stops the loops and waits for requests in flight. Idempotent. */
  stop(): Promise<void>;
}

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Sends GETs through `client` until stopped, counting successes per server and every failure. */
export function startTraffic(client: Client, options: TrafficOptions = {}): Traffic {
  const path = options.path ?? '/work';
  const workers = options.workers ?? 2;
  const pauseMs = options.pauseMs ?? 4;
  const until = performance.now() + (options.maxMs ?? 60_000);
  const byServer = new Map<string, number>();
  const errors: unknown[] = [];
  const waiters = new Set<() => void>();
  let ok = 0;
  let stopped = false;

  const loop = async () => {
    while (!stopped && performance.now() < until) {
      try {
        const res = await client.request({ path });
        await res.body.text();
        if (res.statusCode === 200) {
          ok++;
          const server = String(res.headers['x-server']);
          byServer.set(server, (byServer.get(server) ?? 0) + 1);
          for (const waiter of waiters) waiter();
        } else {
          errors.push(new Error(`status ${res.statusCode}`));
        }
      } catch (error) {
        errors.push(error);
      }
      await pause(pauseMs);
    }
  };
  const running = Promise.all(Array.from({ length: workers }, loop));

  return {
    get ok() {
      return ok;
    },
    get failed() {
      return errors.length;
    },
    errors,
    byServer,
    more(n, timeoutMs = 20_000) {
      const target = ok + n;
      return new Promise<void>((resolve, reject) => {
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        const check = () => {
          if (ok >= target) {
            done();
            resolve();
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(
            new Error(
              `traffic: ${target - ok} of ${n} more successful requests missing after ${timeoutMs} ms (${errors.length} failed)`,
            ),
          );
        }, timeoutMs);
        waiters.add(check);
      });
    },
    async stop() {
      stopped = true;
      await running;
    },
  };
}

/** A readable summary of failures for assertion messages. */
export function describeErrors(errors: readonly unknown[]): string {
  return errors
    .slice(0, 5)
    .map((e) => {
      const error = e as { code?: string; message?: string };
      return `${error.code ?? ''} ${error.message ?? String(e)}`.trim();
    })
    .join('\n');
}

/** Resolves with the next client event `name` that satisfies `accept`; rejects after `timeoutMs`. */
export function nextClientEvent<K extends keyof ClientEvents>(
  client: Client,
  name: K,
  accept: (payload: ClientEvents[K]) => boolean = () => true,
  timeoutMs = 20_000,
): Promise<ClientEvents[K] & { at: number }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`No matching '${String(name)}' event within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = client.on(name, (payload) => {
      if (!accept(payload)) return;
      clearTimeout(timer);
      off();
      resolve({ ...payload, at: performance.now() });
    });
  });
}

/** URLs of the client's current instances, sorted (not those draining after leaving discovery). */
export function instanceUrls(client: Client): string[] {
  return client
    .snapshot()
    .instances.filter((i) => i.state !== 'draining')
    .map((i) => i.url)
    .sort();
}

/** Closes everything registered with `track`, last first. */
export class Closer {
  readonly #items: { close(): unknown }[] = [];

  track<T extends { close(): unknown }>(item: T): T {
    this.#items.push(item);
    return item;
  }

  async closeAll(): Promise<void> {
    const errors: unknown[] = [];
    for (const item of this.#items.splice(0).reverse()) {
      try {
        await item.close();
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length > 0) throw errors[0];
  }
}
