// Shared parts of the failure suite: misbehaving raw TCP servers, the checks every case makes
// (each call settles within a deadline; every failure is typed; nothing is left open), and a
// paced GET/POST load that records every outcome.

import { createServer, type Server, type Socket } from 'node:net';
import type { Client } from 'picket';
import { isPicketError } from 'picket';
import { expect } from 'vitest';
import { waitFor } from '../servers/wait.ts';

// ── Settling and typed failures ─────────────────────────────────────────────────────────────

export type Settled<T> = { ok: true; value: T; ms: number } | { ok: false; error: unknown; ms: number };

/** Waits for `promise` at most `deadlineMs`; a promise still pending then is a hang and fails the test. */
export async function settle<T>(promise: Promise<T>, deadlineMs: number, what: string): Promise<Settled<T>> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what} did not settle within ${deadlineMs} ms (a hang)`)),
      deadlineMs,
    );
  });
  try {
    const value = await Promise.race([promise, hang]);
    return { ok: true, value, ms: performance.now() - started };
  } catch (error) {
    if (error instanceof Error && error.message.endsWith('(a hang)')) throw error;
    return { ok: false, error, ms: performance.now() - started };
  } finally {
    clearTimeout(timer);
  }
}

/** Codes a body may fail with after its headers reached the caller (documented: undici's own error). */
const BODY_CODES = /^(UND_ERR_[A-Z_]+|ECONNRESET|EPIPE|ECONNABORTED)$/;

export function explain(error: unknown): string {
  const e = error as { name?: string; code?: unknown; message?: string };
  return `${e?.name ?? typeof error} ${String(e?.code ?? '')} ${e?.message ?? String(error)}`.slice(0, 400);
}

/** A request's failure must be a PicketError (with one of `codes`, when given). */
export function expectPicketError(error: unknown, codes?: readonly string[]): void {
  expect(isPicketError(error), `untyped failure: ${explain(error)}`).toBe(true);
  if (codes !== undefined) expect(codes, explain(error)).toContain((error as { code: string }).code);
}

/** A failure while reading a body whose headers had arrived: undici's typed error, or a PicketError. */
export function expectBodyError(error: unknown): void {
  const code = (error as { code?: unknown }).code;
  const typed = isPicketError(error) || (typeof code === 'string' && BODY_CODES.test(code));
  expect(typed, `untyped body failure: ${explain(error)}`).toBe(true);
}

// ── Leaks ───────────────────────────────────────────────────────────────────────────────────

/** Handle kinds a closed client, provider, checker or server must not leave behind. */
const WATCHED = [
  'TCPSocketWrap',
  'TCPServerWrap',
  'TCPWRAP',
  'UDPWrap',
  'ProcessWrap',
  'FSEventWrap',
  'StatWatcher',
];

export function handleCounts(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) counts[kind] = (counts[kind] ?? 0) + 1;
  return counts;
}

/** Waits until no watched kind of handle is above `baseline` (sockets close asynchronously). */
export async function expectNoLeaks(baseline: Record<string, number>, timeoutMs = 5000): Promise<void> {
  const over = () =>
    WATCHED.filter((k) => (handleCounts()[k] ?? 0) > (baseline[k] ?? 0)).map(
      (k) => `${k}: ${handleCounts()[k]} (was ${baseline[k] ?? 0})`,
    );
  await waitFor(() => over().length === 0, {
    timeoutMs,
    message: `handles left open: ${over().join(', ')}`,
  }).catch(() => {
    throw new Error(`handles left open after closing: ${over().join(', ')}`);
  });
}

// ── Misbehaving servers ─────────────────────────────────────────────────────────────────────

export interface RawServer {
  readonly url: string;
  readonly port: number;
  /** Connections accepted so far. */
  readonly connections: number;
  close(): Promise<void>;
}

/** A TCP server on loopback whose every connection is handed to `behave`; close() destroys them all. */
export async function startRawServer(behave: (socket: Socket) => void): Promise<RawServer> {
  const sockets = new Set<Socket>();
  let connections = 0;
  const server: Server = createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined); // resets are the point here
    behave(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get connections() {
      return connections;
    },
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Runs `fn` once the first request bytes arrive on `socket`. */
export function onRequest(socket: Socket, fn: () => void): void {
  socket.once('data', fn);
}

// ── Load ────────────────────────────────────────────────────────────────────────────────────

export interface Outcomes {
  ok: number;
  /** Non-2xx responses by status. */
  statuses: Record<number, number>;
  errors: unknown[];
  /** Successful responses per `x-instance` (instance processes) or `x-server`. */
  byInstance: Record<string, number>;
}

export function outcomes(): Outcomes {
  return { ok: 0, statuses: {}, errors: [], byInstance: {} };
}

/** Sends one request through `client`, reads the body, and records the outcome in `into`. */
export async function send(
  client: Client,
  into: Outcomes,
  options: { path?: string; method?: 'GET' | 'POST'; body?: string } = {},
): Promise<void> {
  try {
    const res = await client.request({
      path: options.path ?? '/work',
      method: options.method ?? 'GET',
      body: options.body,
    });
    await res.body.text();
    if (res.statusCode >= 200 && res.statusCode < 300) {
      into.ok++;
      const id = res.headers['x-instance'] ?? res.headers['x-server'];
      if (typeof id === 'string') into.byInstance[id] = (into.byInstance[id] ?? 0) + 1;
    } else {
      into.statuses[res.statusCode] = (into.statuses[res.statusCode] ?? 0) + 1;
    }
  } catch (error) {
    into.errors.push(error);
  }
}

export interface Loop {
  readonly sent: number;
  /** Resolves when `n` more requests have completed (deadline `timeoutMs`). */
  more(n: number, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** `workers` request loops, each pausing `pauseMs` between requests, until stop() (or `maxMs`). */
export function loop(
  fn: () => Promise<void>,
  { workers = 4, pauseMs = 2, maxMs = 60_000 }: { workers?: number; pauseMs?: number; maxMs?: number } = {},
): Loop {
  let stopped = false;
  let sent = 0;
  const until = performance.now() + maxMs;
  const run = async () => {
    while (!stopped && performance.now() < until) {
      await fn();
      sent++;
      if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  };
  const running = Promise.all(Array.from({ length: workers }, run));
  return {
    get sent() {
      return sent;
    },
    async more(n, timeoutMs = 20_000) {
      const target = sent + n;
      await waitFor(() => sent >= target, { timeoutMs, intervalMs: 10, message: `${n} more requests` });
    },
    async stop() {
      stopped = true;
      await running;
    },
  };
}
