import { describe, expect, it } from 'vitest';
import { MIN_SAMPLES } from '../../packages/http/src/retry/latency.ts';
import { testClients } from '../fixtures/clients.ts';
import { after as answerAfter, echo, never, serverOf, testResources } from '../fixtures/http-servers.ts';
import { waitFor } from '../fixtures/instances.ts';

const resources = testResources({ destroy: true });
const server = resources.server;
const { client, inOrder } = testClients(resources);

describe('timeouts', () => {
  it('fails with PICKET_TIMEOUT when no instance answers in time', async () => {
    const a = await server(never);
    const c = client({ service: 's', discovery: [a.url], timeout: 300, breaker: false });
    const started = performance.now();
    await expect(c.request({ path: '/q?password=hunter2' })).rejects.toMatchObject({
      code: 'PICKET_TIMEOUT',
    });
    const took = performance.now() - started;
    expect(took).toBeGreaterThanOrEqual(290);
    expect(took).toBeLessThan(2000);
  });

  it('takes a per-request timeout over the client’s', async () => {
    const a = await server(never);
    const c = client({ service: 's', discovery: [a.url], breaker: false });
    await expect(c.request({ path: '/', timeout: 100 })).rejects.toMatchObject({ code: 'PICKET_TIMEOUT' });
  });

  it('moves on to another instance after perTryTimeout', async () => {
    const stuck = await server(never);
    const fine = await server(echo('fine'));
    const c = inOrder(stuck, fine, {
      perTryTimeout: 150,
    });
    const res = await c.request({ path: '/' });
    expect(await serverOf(res)).toBe('fine');
    expect(stuck.requests).toBe(1);
  });

  it('abandons an attempt at perTryTimeout (not on undici’s 1 s timers) and retries the GET elsewhere', async () => {
    const stuck = await server(never);
    const fine = await server(echo('fine'));
    const c = inOrder(stuck, fine, {
      perTryTimeout: 150,
    });
    const retries: { ms: number; error?: string; next: number }[] = [];
    const started = performance.now();
    c.on('retry', ({ attempt, next }) =>
      retries.push({ ms: performance.now() - started, error: attempt.error, next }),
    );
    const res = await c.request({ path: '/' });
    expect(await serverOf(res)).toBe('fine');
    expect(retries).toHaveLength(1);
    expect(retries[0]).toMatchObject({ error: 'timeout', next: 2 });
    // Generous for a loaded machine, but well under the ~1000 ms of undici's fast timers.
    expect(retries[0]!.ms).toBeGreaterThanOrEqual(145);
    expect(retries[0]!.ms).toBeLessThan(600);
    expect(stuck.requests).toBe(1);
    expect(fine.requests).toBe(1);
  });

  it('ends a POST whose attempt timed out without replaying it', async () => {
    const stuck = await server(never);
    const fine = await server(echo('fine'));
    const c = inOrder(stuck, fine, {
      perTryTimeout: 150,
    });
    const started = performance.now();
    const error = await c.request({ path: '/', method: 'POST', body: 'x' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    const took = performance.now() - started;
    expect(error).toMatchObject({
      code: 'PICKET_ATTEMPTS_EXHAUSTED',
      cause: { code: 'PICKET_TIMEOUT', details: { perTryTimeoutMs: 150 } },
      details: { attempts: [{ error: 'timeout', code: 'PICKET_TIMEOUT' }] },
    });
    expect(took).toBeGreaterThanOrEqual(145);
    expect(took).toBeLessThan(600);
    expect(fine.requests).toBe(0);
  });

  it('aborts through the caller’s signal with the caller’s reason', async () => {
    const a = await server(never);
    const c = client({ service: 's', discovery: [a.url], breaker: false });
    const controller = new AbortController();
    const pending = c.request({ path: '/', signal: controller.signal });
    await waitFor(() => a.requests === 1, 'the request to arrive');
    const reason = new Error('changed my mind');
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    // An abort says nothing about the instance.
    expect(c.snapshot().instances[0]).toMatchObject({ failures: 0, active: 0 });
  });
});

describe('hedging', () => {
  it('sends a hedge after the delay and takes the first answer, aborting the other', async () => {
    const slow = await server(answerAfter(1000, 'slow'));
    const fast = await server(echo('fast'));
    let closed = 0;
    slow.server.on('connection', (socket) => socket.on('close', () => closed++));
    const c = inOrder(slow, fast, {
      hedge: { delayMs: 50 },
    });
    const hedges: unknown[] = [];
    c.on('hedge', (e) => hedges.push(e));
    const started = performance.now();
    const res = await c.request({ path: '/' });
    expect(await serverOf(res)).toBe('fast');
    expect(performance.now() - started).toBeLessThan(800);
    expect(hedges).toEqual([{ method: 'GET', path: '/', delayMs: 50 }]);
    // The losing attempt is aborted: its connection closes rather than waiting 1 s.
    await waitFor(() => closed === 1, 'the losing attempt to be aborted', { timeoutMs: 5000 });
  });

  it('does not hedge a POST', async () => {
    const slow = await server(answerAfter(200, 'slow'));
    const fast = await server(echo('fast'));
    const c = inOrder(slow, fast, {
      hedge: { delayMs: 20 },
    });
    const res = await c.request({ path: '/', method: 'POST', body: 'x' });
    expect(await serverOf(res)).toBe('slow');
    expect(fast.requests).toBe(0);
  });

  it("hedges at the observed p95 with delayMs: 'p95'", async () => {
    // Every warm-up answer takes 20 ms, so the observed p95 is at least that. Exactly MIN_SAMPLES
    // warm-up requests: no delay exists before the last of them is recorded, so none can hedge
    // (more would each hedge with a chance of ~1 in 17, by what a 95th percentile means).
    let slowNext = false;
    const a = await server((req, res, body) => answerAfter(slowNext ? 1000 : 20, 'a')(req, res, body));
    const b = await server(echo('b'));
    const c = inOrder(a, b, {
      hedge: { delayMs: 'p95' },
    });
    const hedges: { delayMs: number }[] = [];
    c.on('hedge', (e) => hedges.push(e));
    for (let i = 0; i < MIN_SAMPLES; i++) await (await c.request({ path: '/' })).body.text();
    expect(b.requests).toBe(0);
    expect(hedges).toEqual([]);
    slowNext = true;
    const started = performance.now();
    const res = await c.request({ path: '/' });
    expect(await serverOf(res)).toBe('b');
    expect(performance.now() - started).toBeLessThan(800);
    expect(hedges).toHaveLength(1);
    expect(hedges[0]!.delayMs).toBeGreaterThanOrEqual(19);
    expect(hedges[0]!.delayMs).toBeLessThan(800);
  });

  it('charges hedges to the retry budget', async () => {
    const slow = await server(answerAfter(1000, 'slow'));
    const fast = await server(echo('fast'));
    const c = inOrder(slow, fast, {
      hedge: { delayMs: 10 },
      retry: { budget: { percent: 0, minPerSecond: 0.1, windowMs: 10_000 } },
    });
    let hedges = 0;
    c.on('hedge', () => hedges++);
    const served: string[] = [];
    for (let i = 0; i < 2; i++) served.push(await serverOf(await c.request({ path: '/' })));
    // One hedge fits the budget (0.1/s × 10 s); the second request must wait for the slow one.
    expect(served).toEqual(['fast', 'slow']);
    expect(hedges).toBe(1);
  });
});
