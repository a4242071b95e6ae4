// The dashboard's HTTP server: the page's static files, and one Server-Sent Events stream per
// open page carrying a snapshot of every client each tick and each client event as it happens.
// Read-only: it answers GET and HEAD, and nothing it serves changes a client.

import { createHash, timingSafeEqual } from 'node:crypto';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { PicketError } from '@picket/core';
import { ATTEMPT_END_CHANNEL, type AttemptMessage } from '@picket/http';
import { type DashboardOptions, type DashboardSettings, parseDashboardOptions } from './options.ts';
import { ServiceFeed, WINDOW_MS } from './service-feed.ts';
import { loadStaticFiles, type StaticFile } from './static-files.ts';
import type { EventView, SnapshotMessage } from './view.ts';

export interface Dashboard {
  /** The page's address (`http://127.0.0.1:PORT/`), with `?token=…` when a token is set. */
  readonly url: string;
  /** Stops the server, every stream and every subscription to the clients. Idempotent. */
  close(): Promise<void>;
}

/** Events kept for a page that opens later. */
const BACKLOG = 200;
/** A stream whose browser reads slower than this much backlog is cut (it reconnects). */
const MAX_UNSENT_BYTES = 4 * 1024 * 1024;

const HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
  'cache-control': 'no-store',
};

function isLoopback(host: string): boolean {
  const name = host.startsWith('[') ? host.slice(1, -1) : host;
  if (name === 'localhost' || name.endsWith('.localhost') || name === '::1') return true;
  return isIP(name) === 4 && name.startsWith('127.');
}

/** The host name of a Host header (`127.0.0.1:9901`, `[::1]:9901`, `localhost`). */
function hostName(header: string): string {
  if (header.startsWith('[')) return header.slice(0, header.indexOf(']') + 1);
  const colon = header.indexOf(':');
  return (colon < 0 ? header : header.slice(0, colon)).toLowerCase();
}

function urlHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return isIP(host) === 6 ? `[${host}]` : host;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

class DashboardServer implements Dashboard {
  url = '';
  readonly #settings: DashboardSettings;
  readonly #files: Map<string, StaticFile>;
  readonly #feeds: ServiceFeed[];
  readonly #byClient = new Map<object, ServiceFeed>();
  readonly #streams = new Set<ServerResponse>();
  readonly #events: EventView[] = [];
  readonly #server: Server;
  readonly #token: Buffer | undefined;
  #seq = 0;
  #last: SnapshotMessage | undefined;
  #lastText: string | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closing: Promise<void> | undefined;

  constructor(settings: DashboardSettings, files: Map<string, StaticFile>) {
    this.#settings = settings;
    this.#files = files;
    this.#token = settings.token === undefined ? undefined : digest(settings.token);
    this.#feeds = settings.clients.map(
      (client, index) =>
        new ServiceFeed(client, index, settings.intervalMs, (e) => this.#event({ ...e, index })),
    );
    for (const feed of this.#feeds) this.#byClient.set(feed.client, feed);
    this.#server = createServer((req, res) => this.#handle(req, res));
  }

  readonly #onAttempt = (message: unknown): void => {
    const m = message as AttemptMessage;
    if (m.outcome !== undefined) this.#byClient.get(m.client)?.attempt(m.instanceId, m.outcome);
  };

  async start(): Promise<void> {
    subscribe(ATTEMPT_END_CHANNEL, this.#onAttempt);
    const { host, port } = this.#settings;
    try {
      await new Promise<void>((resolve, reject) => {
        this.#server.once('error', reject);
        this.#server.listen(port, host, () => {
          this.#server.off('error', reject);
          resolve();
        });
      });
    } catch (error) {
      await this.close();
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE') {
        throw new PicketError(
          'PICKET_ADDRESS_IN_USE',
          `Cannot start the dashboard: port ${port} on ${host} is in use. Pass another \`port\`, or 0 for any free port`,
          { cause: error, details: { host, port } },
        );
      }
      throw new PicketError(
        'PICKET_INVALID_OPTIONS',
        `Cannot start the dashboard on \`host\` ${JSON.stringify(host)}, \`port\` ${port}: ${code ?? (error as Error).message}`,
        { cause: error, details: { host, port } },
      );
    }
    const address = this.#server.address();
    const bound = typeof address === 'object' && address !== null ? address.port : port;
    const query =
      this.#settings.token === undefined ? '' : `?token=${encodeURIComponent(this.#settings.token)}`;
    this.url = `http://${urlHost(host)}:${bound}/${query}`;
    this.#tick();
    this.#timer = setInterval(() => this.#tick(), this.#settings.intervalMs);
    this.#timer.unref();
  }

  #tick(): void {
    this.#last = {
      at: Date.now(),
      intervalMs: this.#settings.intervalMs,
      windowSeconds: WINDOW_MS / 1000,
      services: this.#feeds.map((feed) => feed.sample()),
    };
    this.#lastText = undefined;
    if (this.#streams.size > 0) this.#broadcast(this.#snapshotText());
  }

  #snapshotText(): string {
    this.#lastText ??= `event: snapshot\ndata: ${JSON.stringify(this.#last)}\n\n`;
    return this.#lastText;
  }

  #event(partial: Omit<EventView, 'seq' | 'at'>): void {
    if (this.#closing !== undefined) return;
    const event: EventView = { seq: ++this.#seq, at: Date.now(), ...partial };
    this.#events.push(event);
    if (this.#events.length > BACKLOG) this.#events.shift();
    if (this.#streams.size > 0) this.#broadcast(`event: event\ndata: ${JSON.stringify(event)}\n\n`);
  }

  #broadcast(text: string): void {
    for (const res of this.#streams) {
      if (res.writableLength > MAX_UNSENT_BYTES) {
        this.#streams.delete(res);
        res.destroy();
      } else {
        res.write(text);
      }
    }
  }

  #authorized(req: IncomingMessage, url: URL): boolean {
    if (this.#token === undefined) return true;
    const header = req.headers.authorization;
    const given =
      url.searchParams.get('token') ??
      (header?.toLowerCase().startsWith('bearer ') ? header.slice(7).trim() : undefined);
    return given !== undefined && timingSafeEqual(digest(given), this.#token);
  }

  /** On loopback, only loopback host names: a page elsewhere cannot rebind its name to us. */
  #hostAllowed(req: IncomingMessage): boolean {
    if (!isLoopback(this.#settings.host)) return true;
    const host = req.headers.host;
    return host !== undefined && isLoopback(hostName(host));
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    // URL.parse, not new URL: a request line such as `GET //[` must be answered, not thrown.
    const url = URL.parse(req.url ?? '/', 'http://dashboard');
    const refusal = this.#refusal(req, url);
    if (refusal !== undefined) {
      const [status, text, extra] = refusal;
      res.writeHead(status, { ...HEADERS, 'content-type': 'text/plain; charset=utf-8', ...extra });
      res.end(req.method === 'HEAD' || status === 204 ? undefined : `${text}\n`);
      return;
    }
    const file = this.#files.get(url!.pathname);
    if (file === undefined) {
      this.#stream(req, res);
      return;
    }
    res.writeHead(200, { ...HEADERS, 'content-type': file.type, 'content-length': file.body.length });
    res.end(req.method === 'HEAD' ? undefined : file.body);
  }

  /** Why a request gets no file and no stream: status, text and extra headers. */
  #refusal(req: IncomingMessage, url: URL | null): [number, string, Record<string, string>] | undefined {
    if (!this.#hostAllowed(req))
      return [403, 'Forbidden: this dashboard answers loopback host names only', {}];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return [405, 'Method not allowed: the dashboard is read-only', { allow: 'GET, HEAD' }];
    }
    if (url === null) return [400, 'Bad request: the URL cannot be read', {}];
    if (url.pathname === '/favicon.ico') return [204, '', {}];
    if (url.pathname !== '/events' && !this.#files.has(url.pathname)) return [404, 'Not found', {}];
    const guarded = url.pathname === '/' || url.pathname === '/events';
    if (guarded && !this.#authorized(req, url)) {
      return [
        401,
        'This dashboard needs its token: open the URL it printed, with ?token=…',
        { 'www-authenticate': 'Bearer' },
      ];
    }
    return undefined;
  }

  #stream(req: IncomingMessage, res: ServerResponse): void {
    if (this.#closing !== undefined) return void res.destroy();
    res.writeHead(200, {
      ...HEADERS,
      'content-type': 'text/event-stream; charset=utf-8',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    if (req.method === 'HEAD') return void res.end();
    req.socket.setNoDelay(true);
    // A dead peer shows up as a failed write or a keep-alive probe, then 'close' forgets it.
    req.socket.setKeepAlive(true, 10_000);
    res.write(`retry: 2000\n\nevent: backlog\ndata: ${JSON.stringify(this.#events)}\n\n`);
    res.write(this.#snapshotText());
    this.#streams.add(res);
    res.once('close', () => this.#streams.delete(res));
  }

  /** Streams open now (for tests and the bench). */
  get streams(): number {
    return this.#streams.size;
  }

  close(): Promise<void> {
    this.#closing ??= this.#shutDown();
    return this.#closing;
  }

  async #shutDown(): Promise<void> {
    clearInterval(this.#timer);
    unsubscribe(ATTEMPT_END_CHANNEL, this.#onAttempt);
    for (const feed of this.#feeds) feed.close();
    for (const res of this.#streams) res.end();
    this.#streams.clear();
    if (!this.#server.listening) return;
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    await closed;
  }
}

/**
 * Starts a dashboard for `options.clients`: validates the options (PICKET_INVALID_OPTIONS naming
 * the option), reads the page's files from `staticDir`, and listens (PICKET_ADDRESS_IN_USE when
 * the port is taken).
 */
export async function startDashboard(options: DashboardOptions, staticDir: URL): Promise<Dashboard> {
  const settings = parseDashboardOptions(options);
  const server = new DashboardServer(settings, await loadStaticFiles(staticDir));
  await server.start();
  return server;
}
