// Test-only helpers (not exported, not part of the build's entry): real servers on 127.0.0.1
// whose health endpoint can flip, hang, reset or serve a load report, and waits with deadlines.

import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type Socket } from 'node:net';
import type { Instance } from '@picket/core';
import { toInstance } from '@picket/core/internal';
import type { CheckLayer, CheckResult, HealthCheck } from './check.ts';

export type Mode = 'answer' | 'hang' | 'reset';

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
}

export interface TestServer {
  readonly server: Server;
  readonly port: number;
  readonly instance: Instance;
  /** Status of the health endpoint. Default 200. */
  status: number;
  mode: Mode;
  body: string;
  contentType: string;
  /** Paths requested, in order. */
  readonly requests: string[];
  /** Method, path and headers (names lower-cased, as Node gives them) of each request, in order. */
  readonly received: ReceivedRequest[];
  /** Sockets open on the server side now. */
  readonly sockets: Set<Socket>;
  /** Connections accepted so far. */
  connections: number;
  /** Replaces the handler for everything (for a load reporter, say). */
  handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  close(): Promise<void>;
}

/** An HTTP server on 127.0.0.1 whose every path answers with `status` (or hangs, or resets). */
export async function testServer(): Promise<TestServer> {
  const sockets = new Set<Socket>();
  const state: Omit<TestServer, 'server' | 'port' | 'instance' | 'close'> = {
    status: 200,
    mode: 'answer',
    body: 'ok',
    contentType: 'text/plain',
    requests: [],
    received: [],
    sockets,
    connections: 0,
    handler: undefined,
  };
  const server = createServer((req, res) => {
    state.requests.push(req.url ?? '');
    state.received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    if (state.handler !== undefined) return state.handler(req, res);
    if (state.mode === 'hang') return; // never answers; the socket is destroyed on close()
    if (state.mode === 'reset') {
      req.socket.resetAndDestroy();
      return;
    }
    res.writeHead(state.status, { 'content-type': state.contentType });
    res.end(state.body);
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    state.connections++;
    socket.once('close', () => sockets.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  return Object.assign(state, {
    server,
    port,
    instance: toInstance(`http://127.0.0.1:${port}`),
    async close(): Promise<void> {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  });
}

/** A port on 127.0.0.1 that was just bound and released, so connecting to it is refused. */
export async function closedPort(): Promise<number> {
  const server = createTcpServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  server.close();
  await once(server, 'close');
  return port;
}

/**
 * Resolves when `condition()` holds, re-checked every few ms (cheap on a busy 2-core machine);
 * rejects naming `what` after `timeoutMs`. For state that no event announces.
 */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise<void>((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * A port on 127.0.0.1 whose listener never accepts and whose accept queue is already full, so a
 * new connection's SYN is dropped and connecting hangs. Needs python3 (Node always accepts);
 * undefined without it.
 */
export async function unacceptedPort(): Promise<{ port: number; close(): Promise<void> } | undefined> {
  const { spawn } = await import('node:child_process');
  const { connect } = await import('node:net');
  const script =
    'import socket,sys\ns=socket.socket()\ns.bind(("127.0.0.1",0))\ns.listen(0)\n' +
    'print(s.getsockname()[1],flush=True)\nsys.stdin.read()\n';
  const child = spawn('python3', ['-c', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const failed = once(child, 'error').then(() => undefined);
  const line = once(child.stdout, 'data').then(([chunk]) => Number(String(chunk).trim()));
  const port = await Promise.race([line, failed]);
  if (port === undefined) return undefined;
  // Backlog 0 admits one connection to the queue; that one fills it.
  const filler = connect({ host: '127.0.0.1', port });
  await once(filler, 'connect');
  return {
    port,
    async close() {
      filler.destroy();
      child.stdin.end(); // python exits on end of input
      if (child.exitCode === null) await once(child, 'exit');
    },
  };
}

/** What the fake check does for an instance. */
export type FakeOutcome =
  | boolean
  | { ok: boolean; reason?: string; weight?: number; status?: CheckResult['status'] }
  /** Waits for the test to call `settle`, ignoring the signal. */
  | 'hold'
  /** Answers only when its signal aborts, naming the abort as an l4 check would. */
  | 'until-abort'
  /** Throws from run() instead of returning a promise. */
  | 'throw';

export interface FakeCall {
  id: string;
  /** Date.now() when the check started (faked in scheduler tests). */
  at: number;
  signal: AbortSignal;
  settle(ok: boolean): void;
}

/** A check collaborator whose outcome per instance id the test sets. Default: passes. */
export class FakeCheck implements HealthCheck {
  layer: CheckLayer = 'l7';
  readonly outcomes = new Map<string, FakeOutcome>();
  readonly calls: FakeCall[] = [];
  active = 0;
  maxActive = 0;
  closes = 0;

  run(instance: Instance, signal: AbortSignal): Promise<CheckResult> {
    const outcome = this.outcomes.get(instance.id) ?? true;
    if (outcome === 'throw') throw new Error(`boom for ${instance.id}`);
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    const done = (result: CheckResult): CheckResult => {
      this.active--;
      return result;
    };
    const result = (
      ok: boolean,
      reason = `l7: ${ok ? 'fine' : 'sick'}`,
      layer: CheckLayer = 'l7',
    ): CheckResult => ({
      ok,
      layer,
      reason,
      latencyMs: 1,
    });
    let settle: (ok: boolean) => void = () => {};
    const pending = new Promise<CheckResult>((resolve) => {
      if (outcome === 'hold') settle = (ok) => resolve(result(ok));
      else if (outcome === 'until-abort') {
        signal.addEventListener(
          'abort',
          () => resolve(result(false, 'l4: timed out connecting to the fake', 'l4')),
          { once: true },
        );
      } else if (typeof outcome === 'boolean') resolve(result(outcome));
      else resolve({ ...result(outcome.ok), ...outcome, layer: 'l7', latencyMs: 1 });
    }).then(done);
    this.calls.push({ id: instance.id, at: Date.now(), signal, settle: (ok) => settle(ok) });
    return pending;
  }

  async close(): Promise<void> {
    this.closes++;
  }

  callsFor(id: string): FakeCall[] {
    return this.calls.filter((c) => c.id === id);
  }
}
