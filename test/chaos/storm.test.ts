// Instances that answer but answer badly: a 503 storm (one instance, then every instance), and
// health that flaps (active checks against instances that go up and down every few checks).
// Callers must see a 200, the documented last 503 (a retryable status out of retries is
// returned, not thrown), or a typed error; retries must stay within the budget; the service
// must come back when the storm ends; and a closed client must stop checking.

import { type Client, type ClientOptions, createClient, httpCheck } from 'picket';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type InstanceProcess, spawnInstances } from '../fixtures/instances.ts';
import { waitFor } from '../servers/wait.ts';
import { expectNoLeaks, expectPicketError, handleCounts, loop, outcomes, send, settle } from './support.ts';

let instances: InstanceProcess[];
let baseline: Record<string, number>;
const clients: Client[] = [];

beforeAll(async () => {
  baseline = handleCounts();
  instances = await spawnInstances(3);
});
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  for (const i of instances) await i.set({ status: 0 });
});
afterAll(async () => {
  await Promise.all(instances.map((i) => i.close()));
  await expectNoLeaks(baseline);
});

function client(options: Partial<ClientOptions> = {}): Client {
  const c = createClient({ service: 'inventory', discovery: instances.map((i) => i.url), ...options });
  clients.push(c);
  return c;
}

async function served(path = 'GET /work'): Promise<number> {
  let n = 0;
  for (const i of instances) n += (await i.stats()).byPath[path] ?? 0;
  return n;
}

describe('a 503 storm', () => {
  it.each([
    ['peak-ewma', 'avoided'],
    ['round-robin', 'ejected'],
  ] as const)(
    'on one instance (%s): no caller sees a 503 or an error, and the instance is %s',
    async (strategy, how) => {
      const c = client({ strategy });
      for (const i of instances) await i.reset();
      await instances[2]!.set({ status: 503 });
      const seen = outcomes();
      const load = loop(() => send(c, seen), { workers: 4, pauseMs: 2 });
      await load.more(400);
      await load.stop();
      expect(seen.errors.map(String)).toEqual([]);
      expect(seen.statuses).toEqual({});
      const hits = (await instances[2]!.stats()).byPath['GET /work'] ?? 0;
      const state = c.snapshot().instances.find((i) => i.url === instances[2]!.url)!.state;
      // Peak-EWMA charges each 503 a 250 ms latency and stops picking the instance long before
      // outlier detection has five failures in a row; round robin keeps sending until it ejects.
      if (how === 'avoided') expect(hits).toBeLessThan(20);
      else expect(state).toBe('ejected');
    },
  );

  it('on every instance: each call settles with the 503 or a typed error, retries stay in budget, and the service recovers', async () => {
    // Short breaker and ejection times so that recovery fits the test; the defaults are 10 s and 30 s.
    const c = client({ breaker: { resetTimeoutMs: 400 }, outlierDetection: { baseEjectionMs: 400 } });
    for (const i of instances) {
      await i.reset();
      await i.set({ status: 503 });
    }
    const seen = outcomes();
    let calls = 0;
    const started = performance.now();
    const load = loop(
      async () => {
        calls++;
        const r = await settle(send(c, seen), 3000, 'a call during the storm');
        expect(r.ok).toBe(true);
      },
      { workers: 4, pauseMs: 5 },
    );
    await load.more(300);
    await load.stop();
    const seconds = (performance.now() - started) / 1000;

    expect(seen.ok).toBe(0);
    expect(Object.keys(seen.statuses)).toEqual(['503']);
    for (const e of seen.errors)
      expectPicketError(e, ['PICKET_NO_AVAILABLE_INSTANCE', 'PICKET_ATTEMPTS_EXHAUSTED']);
    // Each call is one attempt plus retries from the budget: 20% of calls plus 10 per second
    // (and the retries of calls that were already in flight when the budget ran dry).
    const attempts = await served();
    expect(attempts).toBeLessThanOrEqual(calls * 1.2 + 10 * (seconds + 1) + 8);

    for (const i of instances) await i.set({ status: 0 });
    await waitFor(
      async () => {
        const res = await c.request({ path: '/work' }).catch(() => undefined);
        await res?.body.text();
        return res?.statusCode === 200;
      },
      { timeoutMs: 10_000, intervalMs: 50, message: 'the service to answer 200 again' },
    );
    // Instances come back one by one as their breakers and ejections end: all within a few seconds.
    await waitFor(() => c.snapshot().instances.every((i) => i.state === 'healthy'), {
      timeoutMs: 10_000,
      message: 'every instance healthy again',
    });
    const after = outcomes();
    for (let k = 0; k < 60; k++) await send(c, after);
    expect(after.errors.map(String)).toEqual([]);
    expect(after.ok).toBe(60);
  });
});

describe('the retry budget in an outage', () => {
  // Breakers and outlier ejection off: nothing but the budget stands between an outage and
  // three attempts a call. A window longer than the test, so its bound is one figure.
  const retry = {
    retries: 2,
    backoff: { baseMs: 1, maxMs: 1 },
    budget: { percent: 20, minPerSecond: 1, windowMs: 60_000 },
  };
  const calls = 300;

  async function outage(options: Partial<ClientOptions>): Promise<{ attempts: number; statuses: object }> {
    const c = client({ breaker: false, outlierDetection: false, ...options });
    for (const i of instances) {
      await i.reset();
      await i.set({ status: 503 });
    }
    const seen = outcomes();
    const load = loop(() => send(c, seen), { workers: 4, pauseMs: 0 });
    await load.more(calls);
    await load.stop();
    expect(seen.errors.map(String)).toEqual([]);
    return { attempts: await served(), statuses: seen.statuses };
  }

  it('holds the attempts to the calls plus the budget, and spends the budget', async () => {
    const { attempts, statuses } = await outage({ retry });
    const made = Object.values(statuses).reduce((a: number, n) => a + (n as number), 0);
    expect(Object.keys(statuses)).toEqual(['503']);
    // 60 (1 a second over the 60 s window) plus 20% of the calls made: the retries allowed.
    const bound = 60 + 0.2 * made;
    const retries = attempts - made;
    expect(retries).toBeLessThanOrEqual(bound + 4);
    // Every call wants two retries: the budget, not anything else, is what stops them.
    expect(retries).toBeGreaterThanOrEqual(bound - 4);
  });

  it('without a budget (the control), makes three attempts a call', async () => {
    const { attempts, statuses } = await outage({ retry: { ...retry, budget: false } });
    const made = Object.values(statuses).reduce((a: number, n) => a + (n as number), 0);
    expect(attempts).toBe(3 * made);
  });
});

describe('health that flaps', () => {
  const health = {
    check: httpCheck({ path: '/health' }),
    interval: 50,
    timeout: 500,
    unhealthyThreshold: 2,
    healthyThreshold: 2,
  };

  /** Flips `instance` between up and 503 (on /health and every other path) every `everyMs`. */
  function flap(instance: InstanceProcess, everyMs: number) {
    let down = false;
    let stopped = false;
    let flips = 0;
    const running = (async () => {
      while (!stopped) {
        down = !down;
        flips++;
        await instance.set({ status: down ? 503 : 0 });
        await new Promise((resolve) => setTimeout(resolve, everyMs));
      }
      await instance.set({ status: 0 });
    })();
    return {
      get flips() {
        return flips;
      },
      async stop() {
        stopped = true;
        await running;
      },
    };
  }

  it('on one instance: no caller sees a failure, state changes stay bounded, and closing stops the checks', async () => {
    const c = client({ health });
    let changes = 0;
    let checkChanges = 0;
    c.on('instance-state', (e) => {
      changes++;
      if (e.instance.url === instances[0]!.url && /active/.test(e.reason)) checkChanges++;
    });
    const flapping = flap(instances[0]!, 150);
    const seen = outcomes();
    const load = loop(() => send(c, seen), { workers: 2, pauseMs: 5 });
    await load.more(500);
    await load.stop();
    await flapping.stop();

    expect(seen.errors.map(String)).toEqual([]);
    expect(seen.statuses).toEqual({});
    // Two states per flip at most (out, back): thresholds damp flapping, they never amplify it.
    expect(changes).toBeLessThanOrEqual(2 * flapping.flips + 2);
    // And the checks did act: the instance was taken out and brought back at least once.
    expect(checkChanges).toBeGreaterThanOrEqual(2);

    await c.close();
    const probes = async () => (await instances[0]!.stats()).byPath['GET /health'] ?? 0;
    const before = await probes();
    expect(before).toBeGreaterThan(0);
    // An observation window of six check intervals (asserting that nothing happens needs one):
    // not one more probe after close().
    await new Promise((resolve) => setTimeout(resolve, 6 * health.interval));
    expect(await probes()).toBe(before);
  });

  it('on every instance at once: every call settles with a 200, the 503, or a typed error', async () => {
    const c = client({ health });
    const flaps = instances.map((i, k) => flap(i, 120 + 40 * k));
    const seen = outcomes();
    const load = loop(
      async () => {
        const r = await settle(send(c, seen), 3000, 'a call while every instance flaps');
        expect(r.ok).toBe(true);
      },
      { workers: 2, pauseMs: 5 },
    );
    await load.more(400);
    await load.stop();
    for (const f of flaps) await f.stop();
    expect(seen.ok).toBeGreaterThan(0);
    for (const status of Object.keys(seen.statuses)) expect(status).toBe('503');
    for (const e of seen.errors)
      expectPicketError(e, ['PICKET_NO_AVAILABLE_INSTANCE', 'PICKET_ATTEMPTS_EXHAUSTED']);
  });
});
