import { type AddressInfo, createServer as createNetServer } from 'node:net';
import { Readable } from 'node:stream';
import type { AttemptRecord } from '@picket/http';
import { describe, expect, it } from 'vitest';
import { testClients } from '../fixtures/clients.ts';
import { drop, echo, serverOf, status, testResources } from '../fixtures/http-servers.ts';
import { freePort } from '../fixtures/instances.ts';

const resources = testResources();
const server = resources.server;
const { client, inOrder } = testClients(resources);

async function rejection(
  promise: Promise<unknown>,
): Promise<Error & { code: string; details: Record<string, unknown> }> {
  try {
    await promise;
  } catch (error) {
    return error as never;
  }
  throw new Error('expected the request to fail');
}

describe('retries', () => {
  it('retries a GET answered 503 on another instance', async () => {
    const bad = await server(status(503));
    const good = await server(echo('good'));
    const c = client({
      service: 's',
      discovery: [bad.url, good.url],
      strategy: 'round-robin',
      breaker: false,
    });
    for (let i = 0; i < 6; i++) {
      const res = await c.request({ path: '/' });
      expect(res.statusCode).toBe(200);
      await res.body.text();
    }
    expect(bad.requests).toBeGreaterThan(0);
    expect(good.requests).toBe(6);
  });

  it('returns the last 503 when every attempt got one (as Envoy returns the upstream answer)', async () => {
    const all = await Promise.all([server(status(503)), server(status(503)), server(status(503))]);
    const c = client({ service: 's', discovery: all.map((s) => s.url), breaker: false });
    const res = await c.request({ path: '/' });
    expect(res.statusCode).toBe(503);
    expect(await res.body.text()).toBe('status 503');
    // One attempt per instance: retries go to instances not tried yet.
    expect(all.map((s) => s.requests)).toEqual([1, 1, 1]);
  });

  it('does not retry a POST answered 503, unless the request says it is idempotent', async () => {
    const a = await server(status(503));
    const b = await server(status(503));
    const c = client({ service: 's', discovery: [a.url, b.url], breaker: false });
    const res = await c.request({ path: '/', method: 'POST', body: 'x' });
    expect(res.statusCode).toBe(503);
    await res.body.text();
    expect(a.requests + b.requests).toBe(1);
    const again = await c.request({ path: '/', method: 'POST', body: 'x', idempotent: true });
    await again.body.text();
    expect(a.requests + b.requests).toBe(1 + 3);
  });

  it('retries a POST refused at connect, which never reached a server', async () => {
    const good = await server(echo('good'));
    const dead = `http://127.0.0.1:${await freePort()}`;
    const c = client({ service: 's', discovery: [dead, good.url], strategy: 'round-robin', breaker: false });
    for (let i = 0; i < 4; i++) {
      const res = await c.request({ path: '/orders', method: 'POST', body: `order-${i}` });
      expect(res.statusCode).toBe(200);
      expect(((await res.body.json()) as { body: string }).body).toBe(`order-${i}`);
    }
    expect(good.requests).toBe(4);
  });

  it('retries a streamed POST refused at connect: its body was never read', async () => {
    const good = await server(echo('good'));
    const dead = `http://127.0.0.1:${await freePort()}`;
    const c = client({ service: 's', discovery: [dead, good.url], strategy: 'round-robin', breaker: false });
    for (let i = 0; i < 2; i++) {
      const res = await c.request({
        path: '/',
        method: 'POST',
        body: Readable.from([Buffer.from('a'), Buffer.from('b')]),
      });
      expect(((await res.body.json()) as { body: string }).body).toBe('ab');
    }
  });

  it('never replays a POST whose connection dropped after it was sent', async () => {
    const a = await server(drop);
    const b = await server(drop);
    const c = client({ service: 's', discovery: [a.url, b.url], breaker: false });
    const error = await rejection(c.request({ path: '/pay?token=s3cret', method: 'POST', body: 'once' }));
    expect(error.code).toBe('PICKET_ATTEMPTS_EXHAUSTED');
    expect(error.message).toContain('not idempotent');
    const attempts = error.details.attempts as AttemptRecord[];
    expect(attempts).toHaveLength(1);
    expect(attempts[0]).toMatchObject({ error: 'reset' });
    expect(a.requests + b.requests).toBe(1);
    expect(error.message).not.toContain('s3cret');
  });

  it('never replays a streamed PUT that may have reached the server', async () => {
    const a = await server(drop);
    const b = await server(drop);
    const c = client({ service: 's', discovery: [a.url, b.url], breaker: false });
    const error = await rejection(c.request({ path: '/', method: 'PUT', body: Readable.from(['x']) }));
    expect(error.message).toContain('stream');
    expect(a.requests + b.requests).toBe(1);
  });

  it('lists every attempt, with instance and error, when all fail', async () => {
    const ports = [await freePort(), await freePort(), await freePort()];
    const urls = ports.map((p) => `http://127.0.0.1:${p}`);
    const c = client({ service: 's', discovery: urls, breaker: false });
    const error = await rejection(c.request({ path: '/' }));
    expect(error.code).toBe('PICKET_ATTEMPTS_EXHAUSTED');
    const attempts = error.details.attempts as AttemptRecord[];
    expect(attempts.map((a) => a.url).sort()).toEqual([...urls].sort());
    for (const a of attempts) expect(a).toMatchObject({ error: 'connect', code: 'ECONNREFUSED' });
    expect((error as { cause?: { code?: string } }).cause?.code).toBe('ECONNREFUSED');
  });

  it('retries on the same instance first with sameInstance', async () => {
    let n = 0;
    const flaky = await server((req, res, body) => {
      if (n++ === 0) status(503)(req, res, body);
      else echo('flaky')(req, res, body);
    });
    const other = await server(echo('other'));
    // `other` is a backup (priority 1): the first attempt always goes to `flaky`.
    const c = inOrder(flaky, other, {
      retry: { sameInstance: 1 },
    });
    const first = await c.request({ path: '/' });
    expect(await serverOf(first)).toBe('flaky');
    expect(flaky.requests).toBe(2);
    expect(other.requests).toBe(0);
  });

  it('stops retrying when the budget is spent', async () => {
    const a = await server(status(503));
    const b = await server(status(503));
    const c = client({
      service: 's',
      discovery: [a.url, b.url],
      breaker: false,
      retry: { budget: { percent: 0, minPerSecond: 0.2, windowMs: 10_000 } },
    });
    // The budget allows 2 retries in its window (0.2/s × 10 s), then none.
    for (let i = 0; i < 4; i++) await (await c.request({ path: '/' })).body.text();
    expect(a.requests + b.requests).toBe(4 + 2);
    expect(c.snapshot().retryBudget).toBe(0);
  });

  it('honours a short Retry-After on 429, and returns a 429 that asks for longer', async () => {
    let n = 0;
    const limited = await server((req, res, body) => {
      if (n++ === 0) status(429, { 'retry-after': '1' })(req, res, body);
      else echo('ok')(req, res, body);
    });
    const c = client({ service: 's', discovery: [limited.url], breaker: false });
    const started = performance.now();
    const res = await c.request({ path: '/' });
    expect(res.statusCode).toBe(200);
    await res.body.text();
    expect(performance.now() - started).toBeGreaterThanOrEqual(950);

    limited.handle(status(429, { 'retry-after': '60' }));
    const long = await c.request({ path: '/' });
    expect(long.statusCode).toBe(429);
    await long.body.text();
  });

  it('emits a retry event naming the failed attempt', async () => {
    const bad = await server(status(502));
    const good = await server(echo('good'));
    const c = inOrder(bad, good);
    const events: unknown[] = [];
    c.on('retry', (e) => events.push(e));
    await (await c.request({ path: '/r' })).body.text();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      method: 'GET',
      path: '/r',
      attempt: { url: bad.url, status: 502 },
      next: 2,
    });
  });

  it('sends the first retry at once, then backs off with jitter (doubling from baseMs, capped at maxMs)', async () => {
    // Delays of hundreds of ms, so that scheduling noise cannot blur them (the defaults, 25 and
    // 250 ms, are checked in config.test.ts).
    const arrivals: number[] = [];
    const a = await server((req, res, body) => {
      arrivals.push(performance.now());
      status(503)(req, res, body);
    });
    const c = client({
      service: 's',
      discovery: [a.url],
      breaker: false,
      retry: { retries: 3, budget: false, backoff: { baseMs: 200, maxMs: 250 } },
    });
    const res = await c.request({ path: '/' });
    expect(res.statusCode).toBe(503);
    await res.body.text();
    expect(arrivals).toHaveLength(4);
    const gaps = arrivals.slice(1).map((t, i) => t - arrivals[i]!);
    // Jitter multiplies each delay by 1-2: at once, then 200-400 capped at 250, then 400-800
    // capped at 250 (plus scheduling).
    expect(gaps[0]).toBeLessThan(150);
    expect(gaps[1]).toBeGreaterThanOrEqual(199);
    expect(gaps[2]).toBeGreaterThanOrEqual(249);
    expect(gaps[2]).toBeLessThan(390);
  });

  it('classifies a connect timeout as a connect failure, retried for any method', async () => {
    // A TCP listener that never answers the TLS handshake: the connect phase never completes.
    const silent = createNetServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as AddressInfo).port;
    const good = await server(echo('good'));
    const c = client({
      service: 's',
      discovery: [`https://127.0.0.1:${port}`, { url: good.url, priority: 1 }],
      pool: { connectTimeout: 150 },
      breaker: false,
    });
    const events: Array<{ attempt: AttemptRecord }> = [];
    c.on('retry', (e) => events.push(e));
    try {
      const started = performance.now();
      const res = await c.request({ path: '/', method: 'POST', body: 'x' });
      expect(res.statusCode).toBe(200);
      await res.body.text();
      expect(performance.now() - started).toBeLessThan(2000);
      expect(good.requests).toBe(1);
      expect(events[0]?.attempt).toMatchObject({ error: 'connect', code: 'UND_ERR_CONNECT_TIMEOUT' });
    } finally {
      silent.close();
    }
  });
});
