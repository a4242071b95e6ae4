// What the retry, breaker, hashing and event options do to real requests, beyond their defaults:
// each option is set and its effect seen from the servers' side.

import { describe, expect, it } from 'vitest';
import { testClients } from '../fixtures/clients.ts';
import { drop, echo, never, serverOf, status, testResources } from '../fixtures/http-servers.ts';
import { freePort, waitFor } from '../fixtures/instances.ts';

const resources = testResources({ destroy: true });
const server = resources.server;
const { client, inOrder } = testClients(resources);

describe('hashKey', () => {
  it('sends every request with one key to one instance with ring-hash, and spreads keys', async () => {
    const all = await Promise.all(['a', 'b', 'c'].map((name) => server(echo(name))));
    const c = client({ service: 's', discovery: all.map((s) => s.url), strategy: 'ring-hash' });
    const sticky = new Set<string>();
    for (let i = 0; i < 20; i++)
      sticky.add(await serverOf(await c.request({ path: '/', hashKey: 'user-42' })));
    for (let i = 0; i < 5; i++) {
      const viaFetch = await c.fetch('/', { hashKey: 'user-42' });
      sticky.add(((await viaFetch.json()) as { server: string }).server);
    }
    expect(sticky.size).toBe(1);
    const spread = new Set<string>();
    for (let i = 0; i < 60; i++)
      spread.add(await serverOf(await c.request({ path: '/', hashKey: `user-${i}` })));
    expect(spread.size).toBe(3);
  });
});

describe('retry options', () => {
  it('retry: false sends one attempt and returns its answer', async () => {
    const bad = await server(status(503));
    const good = await server(echo('good'));
    const c = inOrder(bad, good, {
      retry: false,
    });
    const res = await c.request({ path: '/' });
    expect(res.statusCode).toBe(503);
    await res.body.text();
    expect([bad.requests, good.requests]).toEqual([1, 0]);
  });

  it('retries the statuses it is given, and only those', async () => {
    const bad = await server(status(500));
    const good = await server(echo('good'));
    const c = inOrder(bad, good, {
      retry: { statuses: [500] },
    });
    expect(await serverOf(await c.request({ path: '/' }))).toBe('good');
    bad.handle(status(503));
    const res = await c.request({ path: '/' });
    expect(res.statusCode).toBe(503);
    await res.body.text();
    expect(good.requests).toBe(1);
  });

  it('replays only the methods it is given after a connection dropped', async () => {
    const dropping = await server(drop);
    const good = await server(echo('good'));
    const c = inOrder(dropping, good, {
      retry: { methods: ['GET'] },
    });
    expect(await serverOf(await c.request({ path: '/' }))).toBe('good');
    // PUT is idempotent by default, but not in this client's list.
    await expect(c.request({ path: '/', method: 'PUT', body: 'x' })).rejects.toMatchObject({
      code: 'PICKET_ATTEMPTS_EXHAUSTED',
    });
    expect(good.requests).toBe(1);
  });

  it('sameInstance retries on each instance before moving on, and starts again on the next', async () => {
    const a = await server(status(503));
    const b = await server(status(503));
    const c = inOrder(a, b, {
      retry: { retries: 1, sameInstance: 1, budget: false },
    });
    const res = await c.request({ path: '/' });
    expect(res.statusCode).toBe(503);
    await res.body.text();
    // (1 + sameInstance) attempts on each of (1 + retries) instances.
    expect([a.requests, b.requests]).toEqual([2, 2]);
  });

  it('lets a share of requests through the budget as retries, beyond its floor', async () => {
    const a = await server(status(503));
    const b = await server(status(503));
    const c = client({
      service: 's',
      discovery: [a.url, b.url],
      retry: { retries: 1, budget: { percent: 50, minPerSecond: 0, windowMs: 60_000 } },
      breaker: false,
      outlierDetection: false,
    });
    for (let i = 0; i < 20; i++) await (await c.request({ path: '/' })).body.text();
    // Half as many retries as requests; with the percentage ignored there would be none.
    expect(a.requests + b.requests).toBeGreaterThanOrEqual(20 + 9);
    expect(a.requests + b.requests).toBeLessThanOrEqual(20 + 10);
  });

  it('waits out a short Retry-After on a 503, in seconds or as a date', async () => {
    for (const retryAfter of ['1', () => new Date(Date.now() + 2000).toUTCString()]) {
      let n = 0;
      const limited = await server((req, res, body) => {
        const value = typeof retryAfter === 'string' ? retryAfter : retryAfter();
        if (n++ === 0) status(503, { 'retry-after': value })(req, res, body);
        else echo('ok')(req, res, body);
      });
      const c = client({
        service: 's',
        discovery: [limited.url],
        retry: { sameInstance: 1, maxRetryAfterMs: 3000 },
        breaker: false,
      });
      const started = performance.now();
      expect(await serverOf(await c.request({ path: '/' }))).toBe('ok');
      // An HTTP date has whole seconds: "2 s from now" is at least 1 s away.
      expect(performance.now() - started).toBeGreaterThanOrEqual(950);
      expect(limited.requests).toBe(2);
    }
  });
});

describe('retries, in the corners', () => {
  it('retries a POST whose host name does not resolve: it was never sent', async () => {
    const good = await server(echo('good'));
    const c = client({
      service: 's',
      // `.invalid` never resolves (RFC 2606).
      discovery: [{ url: 'http://picket-test.invalid:8080' }, { url: good.url, priority: 1 }],
      breaker: false,
    });
    const retries: { error?: string }[] = [];
    c.on('retry', (e) => retries.push(e.attempt));
    const res = await c.request({ path: '/', method: 'POST', body: 'once' });
    expect(((await res.body.json()) as { body: string }).body).toBe('once');
    expect(retries).toMatchObject([{ error: 'connect' }]);
  });

  it('starts no retry after close(): a request waiting out its backoff fails at once', async () => {
    let n = 0;
    const flaky = await server((req, res, body) => {
      if (n++ < 2) status(503)(req, res, body);
      else echo('flaky')(req, res, body);
    });
    const c = client({
      service: 's',
      discovery: [flaky.url],
      retry: { sameInstance: 2, backoff: { baseMs: 300, maxMs: 300 } },
      breaker: false,
    });
    let retries = 0;
    const backingOff = new Promise<void>((resolve) =>
      c.on('retry', () => {
        if (++retries === 2) resolve();
      }),
    );
    const pending = c.request({ path: '/' });
    // The first retry goes at once; the second waits 300 ms: close the client in that wait.
    await backingOff;
    expect(flaky.requests).toBe(2);
    const closing = c.close();
    await expect(pending).rejects.toMatchObject({ code: 'PICKET_CLIENT_CLOSED' });
    await closing;
    expect(flaky.requests).toBe(2);
  });

  it('waits for a racing hedge when the first answer is a retryable 503', async () => {
    const failing = await server((req, res, body) => setTimeout(() => status(503)(req, res, body), 100));
    const slower = await server((req, res, body) => setTimeout(() => echo('hedge')(req, res, body), 300));
    const c = inOrder(failing, slower, {
      hedge: { delayMs: 20 },
    });
    const res = await c.request({ path: '/' });
    expect(res.statusCode).toBe(200);
    expect(await serverOf(res)).toBe('hedge');
    expect(slower.requests).toBe(1);
  });
});

describe('circuit breakers, beyond 5xx', () => {
  it('open on refused connections', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const good = await server(echo('good'));
    const c = client({
      service: 's',
      discovery: [dead, good.url],
      strategy: 'round-robin',
      outlierDetection: false,
      breaker: { volumeThreshold: 2, resetTimeoutMs: 60_000 },
    });
    const opened: string[] = [];
    c.on('breaker', (e) => opened.push(`${e.instance.url}:${e.state}`));
    for (let i = 0; i < 6; i++) await (await c.request({ path: '/' })).body.text();
    expect(opened).toEqual([`${dead}:open`]);
  });

  it('do not count requests the caller aborted', async () => {
    const hung = await server(never);
    const c = client({ service: 's', discovery: [hung.url], breaker: { volumeThreshold: 2 } });
    for (let i = 0; i < 4; i++) {
      const controller = new AbortController();
      const pending = c.request({ path: '/', signal: controller.signal });
      await waitFor(() => hung.requests === i + 1, 'the request to arrive');
      controller.abort();
      await expect(pending).rejects.toThrow();
    }
    expect(c.snapshot().instances[0]?.breaker).toMatchObject({ state: 'closed', failures: 0 });
  });
});

describe('events and credentials', () => {
  it("relays the balancer's ejections", async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const good = await server(echo('good'));
    const c = client({
      service: 's',
      discovery: [dead, good.url],
      strategy: 'round-robin',
      outlierDetection: { consecutiveFailures: 1, maxEjectionPercent: 50 },
      breaker: false,
    });
    const ejected: string[] = [];
    c.on('eject', (e) => ejected.push(e.instance.url));
    for (let i = 0; i < 4; i++) await (await c.request({ path: '/' })).body.text();
    expect(ejected).toEqual([dead]);
  });

  it('keeps query credentials out of timeout errors and hedge events', async () => {
    const slow = await server(never);
    const fast = await server(never);
    const c = inOrder(slow, fast, {
      hedge: { delayMs: 20 },
      perTryTimeout: 100,
      timeout: 400,
    });
    const hedges: unknown[] = [];
    c.on('hedge', (e) => hedges.push(e));
    const error = (await c
      .request({ path: '/x?password=hunter2&page=2' })
      .catch((e: unknown) => e)) as Error & {
      cause?: unknown;
      details?: unknown;
    };
    expect(error).toMatchObject({ code: expect.stringMatching(/^PICKET_(TIMEOUT|ATTEMPTS_EXHAUSTED)$/) });
    const text = [
      error.message,
      String(error.cause),
      JSON.stringify(error.details),
      JSON.stringify(hedges),
    ].join('\n');
    expect(hedges.length).toBeGreaterThan(0);
    expect(text).not.toContain('hunter2');
    expect(text).toContain('password=[REDACTED]');
  });
});
