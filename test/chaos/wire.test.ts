// Instances that misbehave on the wire: a connection reset before the headers or in the middle of
// the body, headers that never finish, a body shorter than its Content-Length, a server that
// accepts connections but never reads, and a listener whose backlog is full. Each case checks
// that GETs are not lost while a good instance remains, that everything else fails with a typed
// error within a deadline, and that closing leaves nothing open. The misbehaving servers are raw
// TCP servers in this process (they must break HTTP in ways no HTTP server library would); the
// good instances are real instance processes.

import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { type Client, type ClientOptions, createClient } from 'picket';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type InstanceProcess, spawnInstances } from '../fixtures/instances.ts';
import { waitFor } from '../servers/wait.ts';
import {
  expectBodyError,
  expectNoLeaks,
  expectPicketError,
  handleCounts,
  onRequest,
  type RawServer,
  settle,
  startRawServer,
} from './support.ts';

let good: InstanceProcess[];
let baseline: Record<string, number>;
const open: { close(): Promise<unknown> }[] = [];

beforeAll(async () => {
  baseline = handleCounts();
  good = await spawnInstances(2);
});
afterEach(async () => {
  for (const item of open.splice(0).reverse()) await item.close();
});
afterAll(async () => {
  await Promise.all(good.map((i) => i.close()));
  for (const i of good) expect(i.child.exitCode !== null || i.child.signalCode !== null).toBe(true);
  await expectNoLeaks(baseline);
});

async function bad(behave: (socket: Socket) => void): Promise<RawServer> {
  const server = await startRawServer(behave);
  open.push(server);
  return server;
}

/** A client that tries `first` before the good instances (a lower priority number is preferred). */
function client(first: RawServer | string, options: Partial<ClientOptions> = {}, withGood = true): Client {
  const url = typeof first === 'string' ? first : first.url;
  const c = createClient({
    service: 'inventory',
    discovery: [url, ...(withGood ? good.map((g) => ({ url: g.url, priority: 1 })) : [])],
    ...options,
  });
  open.push(c);
  return c;
}

async function get(c: Client, path = '/items/1') {
  return settle(
    c.request({ path }).then(async (res) => ({ status: res.statusCode, body: await res.body.text() })),
    5000,
    `GET ${path}`,
  );
}

async function post(c: Client, body: string | Buffer = 'order') {
  return settle(
    c.request({ path: '/orders', method: 'POST', body }).then(async (res) => res.statusCode),
    5000,
    'POST /orders',
  );
}

async function goodPosts(): Promise<number> {
  let n = 0;
  for (const g of good) n += (await g.stats()).byPath['POST /orders'] ?? 0;
  return n;
}

describe('a connection reset before the response headers are complete', () => {
  const resetMidHeaders = (s: Socket) =>
    onRequest(s, () => {
      s.write('HTTP/1.1 200 OK\r\nContent-Ty');
      setTimeout(() => s.resetAndDestroy(), 2);
    });

  it('loses no GET: each is retried on a good instance', async () => {
    const c = client(await bad(resetMidHeaders));
    for (let i = 0; i < 20; i++) {
      const r = await get(c);
      expect(r.ok && r.value.status, String(!r.ok && r.error)).toBe(200);
    }
  });

  it('fails a POST with a typed error after one attempt, and does not replay it', async () => {
    for (const g of good) await g.reset();
    const c = client(await bad(resetMidHeaders), { outlierDetection: false, breaker: false });
    for (let i = 0; i < 5; i++) {
      const r = await post(c);
      expect(r.ok).toBe(false);
      expectPicketError(!r.ok && r.error, ['PICKET_ATTEMPTS_EXHAUSTED']);
      expect(!r.ok && (r.error as { details: { attempts: unknown[] } }).details.attempts).toHaveLength(1);
    }
    expect(await goodPosts()).toBe(0);
  });
});

describe('a connection reset in the middle of the body', () => {
  const resetMidBody = (s: Socket) =>
    onRequest(s, () => {
      s.write('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nx-server: bad\r\n\r\nhalf of it');
      setTimeout(() => s.resetAndDestroy(), 2);
    });

  it('fails the body read with a typed error (the headers had reached the caller), then avoids the instance', async () => {
    const c = client(await bad(resetMidBody));
    const failures: unknown[] = [];
    for (let i = 0; i < 30; i++) {
      const r = await get(c);
      if (!r.ok) failures.push(r.error);
      else expect(r.value.status).toBe(200);
    }
    expect(failures.length).toBeGreaterThan(0);
    for (const e of failures) expectBodyError(e);
    // Outlier detection ejects after 5 consecutive failures: the rest went to the good instances.
    expect(failures.length).toBeLessThanOrEqual(6);
    const state = c.snapshot().instances.find((i) => i.priority === 0)!.state;
    expect(state).not.toBe('healthy');
  });
});

describe('headers that never finish', () => {
  const stall = (s: Socket) => onRequest(s, () => s.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n'));

  it('loses no GET with a per-try timeout: the attempt is abandoned and retried elsewhere', async () => {
    const c = client(await bad(stall), { perTryTimeout: 300, timeout: 4000 });
    for (let i = 0; i < 3; i++) {
      const r = await get(c);
      expect(r.ok && r.value.status, String(!r.ok && r.error)).toBe(200);
    }
  });

  it('ends a POST with a typed error, not replayed, and ends every call at `timeout` when nothing answers', async () => {
    for (const g of good) await g.reset();
    const c = client(await bad(stall), { perTryTimeout: 300, timeout: 4000 });
    const r = await post(c);
    expectPicketError(!r.ok && r.error, ['PICKET_ATTEMPTS_EXHAUSTED', 'PICKET_TIMEOUT']);
    expect(await goodPosts()).toBe(0);

    const alone = client(await bad(stall), { timeout: 500 }, false);
    for (let i = 0; i < 3; i++) {
      const g = await get(alone);
      expectPicketError(!g.ok && g.error, ['PICKET_TIMEOUT']);
      expect(g.ms).toBeLessThan(2500);
    }
  });

  // Issue 7: `perTryTimeout` used to be undici's `headersTimeout`, which undici arms on its
  // 1-second-resolution fast timers, so a 300 ms per-try timeout fired after about 1 s.
  it('abandons an attempt at about `perTryTimeout`, not a second later', async () => {
    const c = client(await bad(stall), { perTryTimeout: 300, timeout: 4000, retry: false }, false);
    const r = await get(c);
    expectPicketError(!r.ok && r.error);
    expect(r.ms).toBeLessThan(700);
  });
});

describe('a body shorter than its Content-Length, then the connection closes', () => {
  const truncate = (s: Socket) =>
    onRequest(s, () => s.end('HTTP/1.1 200 OK\r\nContent-Length: 100\r\nx-server: bad\r\n\r\n0123456789'));

  it('fails the body with a typed error at once, through request and fetch alike, and ejects the instance', async () => {
    const server = await bad(truncate);
    const only = client(server, {}, false);
    const r = await get(only);
    expect(r.ok).toBe(false);
    expectBodyError(!r.ok && r.error);
    expect(r.ms).toBeLessThan(2000);
    // fetch reports it the WHATWG way: a TypeError whose cause is undici's typed error.
    const f = await settle(
      only.fetch('/items/1').then((res) => res.text()),
      5000,
      'fetch',
    );
    expect(!f.ok && f.error).toBeInstanceOf(TypeError);
    expectBodyError(!f.ok && (f.error as Error).cause);

    const c = client(server);
    let failed = 0;
    for (let i = 0; i < 30; i++) if (!(await get(c)).ok) failed++;
    expect(failed).toBeGreaterThan(0);
    expect(failed).toBeLessThanOrEqual(6);
  });
});

describe('an instance that accepts connections but never reads', () => {
  const deaf = (s: Socket) => s.pause();

  it('loses no GET with a per-try timeout, and fails a large POST with a typed error by `timeout`', async () => {
    const c = client(await bad(deaf), { perTryTimeout: 300, timeout: 1500 });
    for (let i = 0; i < 3; i++) {
      const r = await get(c);
      expect(r.ok && r.value.status, String(!r.ok && r.error)).toBe(200);
    }
    // 4 MiB cannot all be written to a socket nobody reads: the request is stuck mid-body.
    const alone = client(await bad(deaf), { timeout: 1000 }, false);
    const r = await post(alone, Buffer.alloc(4 * 1024 * 1024, 97));
    expectPicketError(!r.ok && r.error, ['PICKET_TIMEOUT', 'PICKET_ATTEMPTS_EXHAUSTED']);
    expect(r.ms).toBeLessThan(3000);
  });
});

describe('a listener whose accept backlog is full', () => {
  let child: ChildProcess;
  let fillers: Socket[];
  let port: number;
  beforeAll(async () => {
    // Listens with a backlog of 1 and stops itself: the kernel queues two connections, then
    // drops further SYNs, so connecting times out (nothing is ever sent).
    child = spawn(
      process.execPath,
      [
        '-e',
        `const s = require('node:net').createServer();
         s.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
           console.log(s.address().port);
           setTimeout(() => process.kill(process.pid, 'SIGSTOP'), 20);
         });`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    port = Number(
      await new Promise<string>((resolve) => child.stdout!.once('data', (d) => resolve(String(d)))),
    );
    // /proc says T (stopped) once the child has stopped itself.
    await waitFor(() => readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]?.startsWith('T'), {
      timeoutMs: 10_000,
      message: 'the backlog child to stop itself',
    });
    fillers = Array.from({ length: 3 }, () => connect(port, '127.0.0.1').on('error', () => undefined));
  });
  afterAll(async () => {
    for (const f of fillers) f.destroy();
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  });

  it('times the connect out and retries on another instance, POST included (nothing was sent)', async () => {
    for (const g of good) await g.reset();
    const c = client(`http://127.0.0.1:${port}`, { pool: { connectTimeout: 300 }, timeout: 5000 });
    const g = await get(c);
    expect(g.ok && g.value.status, String(!g.ok && g.error)).toBe(200);
    const p = await post(c);
    expect(p.ok && p.value, String(!p.ok && p.error)).toBe(200);
    expect(await goodPosts()).toBe(1);
  });
});
