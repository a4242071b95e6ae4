// The checker with a real balancer: a fleet whose checks fail everywhere at once must not starve
// the caller (the balancer's panic threshold), and real servers flipping health on loopback.

import { type Balancer, type BalancerEvents, createBalancer, seededRandom } from '@picket/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { httpCheck } from './http-check.ts';
import { createHealthChecker, type HealthChecker } from './scheduler.ts';
import { FakeCheck, type TestServer, testServer } from './test-support.ts';

function picks(balancer: Balancer, n: number): Map<string, number> {
  const seen = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const pick = balancer.pick();
    seen.set(pick.instance.id, (seen.get(pick.instance.id) ?? 0) + 1);
    pick.release({ ok: true, latencyMs: 1 });
  }
  return seen;
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  vi.useRealTimers();
});

describe('a fleet under active health checks', () => {
  it('still serves every pick when checks fail everywhere at once (panic threshold)', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'] });
    const balancer = createBalancer({
      strategy: 'round-robin',
      healthSources: ['active'],
      outlierDetection: false,
      random: seededRandom(5),
    });
    const ids = Array.from({ length: 10 }, (_, i) => `i${i}`);
    balancer.update(ids.map((id, i) => ({ id, url: `http://127.0.0.1:${9100 + i}` })));
    const panics: BalancerEvents['panic'][] = [];
    balancer.on('panic', (e) => panics.push(e));
    const check = new FakeCheck();
    const checker = createHealthChecker(balancer, { check, interval: 1000, jitter: 0 });
    cleanups.push(() => checker.close());
    checker.start();
    await vi.advanceTimersByTimeAsync(0);

    // Four of ten fail: the rest carry the traffic, no panic.
    for (const id of ids.slice(0, 4)) check.outcomes.set(id, false);
    await vi.advanceTimersByTimeAsync(4000); // three rounds, staggered over a second
    let seen = picks(balancer, 600);
    expect([...seen.keys()].sort()).toEqual(ids.slice(4));
    expect(balancer.snapshot().panic).toEqual([]);

    // All ten fail: rather than refuse every request, the balancer spreads over all of them.
    for (const id of ids) check.outcomes.set(id, false);
    await vi.advanceTimersByTimeAsync(4000);
    expect(checker.snapshot().every((s) => s.state === 'unhealthy')).toBe(true);
    seen = picks(balancer, 600);
    expect(seen.size).toBe(10);
    for (const n of seen.values()) expect(n).toBeGreaterThan(30);
    expect(panics.at(-1)).toMatchObject({ panic: true, availableShare: 0 });

    // They recover: panic ends.
    for (const id of ids) check.outcomes.set(id, true);
    await vi.advanceTimersByTimeAsync(3000);
    picks(balancer, 10);
    expect(panics.at(-1)).toMatchObject({ panic: false });
  });
});

describe('active checks against real servers on loopback', () => {
  let checker: HealthChecker;

  /** Resolves when `id` moves to `to`, or rejects after `timeoutMs`. */
  function becomes(id: string, to: 'healthy' | 'unhealthy', timeoutMs = 5000): Promise<number> {
    const start = performance.now();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(
          new Error(
            `${id} did not become ${to} within ${timeoutMs} ms: ${JSON.stringify(checker.snapshot())}`,
          ),
        );
      }, timeoutMs);
      const off = checker.on('instance-state', (e) => {
        if (e.instance.id !== id || e.to !== to) return;
        clearTimeout(timer);
        off();
        resolve(performance.now() - start);
      });
    });
  }

  it('takes a server out when /health fails or hangs, and back once it recovers', async () => {
    const servers: TestServer[] = await Promise.all([testServer(), testServer(), testServer()]);
    cleanups.push(() => Promise.all(servers.map((s) => s.close())));
    const balancer = createBalancer({
      strategy: 'round-robin',
      healthSources: ['active'],
      outlierDetection: false,
    });
    balancer.update(servers.map((s, i) => ({ id: `s${i}`, url: `http://127.0.0.1:${s.port}` })));
    const interval = 100;
    checker = createHealthChecker(balancer, {
      check: httpCheck({ path: '/health' }),
      interval,
      timeout: 300,
      healthyThreshold: 2,
      unhealthyThreshold: 3,
      jitter: 0,
    });
    cleanups.push(() => checker.close());
    const up = Promise.all(['s0', 's1', 's2'].map((id) => becomes(id, 'healthy')));
    checker.start();
    await up;

    const [s0, s1] = servers as [TestServer, TestServer, TestServer];
    s0.status = 503;
    const out = await becomes('s0', 'unhealthy');
    // Three failures in a row: the flip, then two more intervals at least.
    expect(out).toBeGreaterThanOrEqual(2 * interval - 20);
    expect(picks(balancer, 60).has('s0')).toBe(false);
    expect(checker.snapshot().find((s) => s.id === 's0')?.lastChecks.l7?.reason).toMatch(
      /^l7: status 503 from \/health/,
    );

    s0.status = 200;
    const back = await becomes('s0', 'healthy');
    expect(back).toBeGreaterThanOrEqual(interval - 20);
    expect(picks(balancer, 60).has('s0')).toBe(true);

    s1.mode = 'hang';
    await becomes('s1', 'unhealthy');
    expect(checker.snapshot().find((s) => s.id === 's1')?.lastChecks.l7?.reason).toMatch(
      /^l7: timed out after 300 ms/,
    );
    expect(picks(balancer, 60).has('s1')).toBe(false);
  });
});
