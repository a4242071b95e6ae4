import { type Balancer, createBalancer, isPicketError, seededRandom } from '@picket/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { HealthOptions } from './options.ts';
import { createHealthChecker, type HealthChecker, type HealthCheckerEvents } from './scheduler.ts';
import { FakeCheck } from './test-support.ts';

const FAKED = [
  'setTimeout',
  'clearTimeout',
  'setInterval',
  'clearInterval',
  'setImmediate',
  'clearImmediate',
  'Date',
  'performance',
] as const;

function records(...ids: string[]) {
  return ids.map((id, i) => ({ id, url: `http://127.0.0.1:${8001 + i}` }));
}

let check: FakeCheck;
let balancer: Balancer;
let checker: HealthChecker;
const changes: HealthCheckerEvents['instance-state'][] = [];

function setup(ids: string[], options: Partial<HealthOptions> = {}): void {
  balancer = createBalancer({
    strategy: 'round-robin',
    healthSources: ['active'],
    outlierDetection: false,
    random: seededRandom(7),
  });
  balancer.update(records(...ids));
  checker = createHealthChecker(balancer, {
    check,
    interval: 1000,
    timeout: 500,
    jitter: 0,
    random: seededRandom(3),
    ...options,
  });
  checker.on('instance-state', (change) => changes.push(change));
}

const state = (id: string) => checker.snapshot().find((s) => s.id === id)?.state;
const lbState = (id: string) => balancer.snapshot().instances.find((s) => s.id === id)?.state;
const tick = (ms: number) => vi.advanceTimersByTimeAsync(ms);

beforeEach(() => {
  vi.useFakeTimers({ toFake: [...FAKED] });
  check = new FakeCheck();
  changes.length = 0;
});

afterEach(async () => {
  await checker?.close();
  vi.useRealTimers();
});

describe('createHealthChecker', () => {
  it('refuses something that is not a balancer at once, typed, instead of failing at start()', () => {
    let error: unknown;
    try {
      createHealthChecker({} as never, { check: new FakeCheck() });
    } catch (e) {
      error = e;
    }
    expect(isPicketError(error, 'PICKET_INVALID_OPTIONS')).toBe(true);
    expect((error as Error).message).toBe(
      'createHealthChecker needs a balancer from createBalancer(), got {}',
    );
  });

  it("decides a new instance's state from its first result, at once", async () => {
    setup(['a', 'b']);
    check.outcomes.set('b', false);
    expect(lbState('a')).toBe('unknown');
    checker.start();
    await tick(0);
    expect(state('a')).toBe('healthy');
    expect(state('b')).toBe('unhealthy');
    expect(lbState('a')).toBe('healthy');
    expect(lbState('b')).toBe('unhealthy');
    expect(balancer.snapshot().instances.find((s) => s.id === 'b')?.health.active?.reason).toBe(
      'l7: sick (first check)',
    );
    expect(changes.map((c) => [c.instance.id, c.from, c.to])).toEqual([
      ['a', 'unknown', 'healthy'],
      ['b', 'unknown', 'unhealthy'],
    ]);
  });

  it('needs unhealthyThreshold failures in a row to go out and healthyThreshold successes to return', async () => {
    setup(['a'], { healthyThreshold: 2, unhealthyThreshold: 3 });
    checker.start();
    await tick(0);
    check.outcomes.set('a', false);
    await tick(1000);
    await tick(1000);
    expect(state('a')).toBe('healthy'); // two failures
    check.outcomes.set('a', true);
    await tick(1000); // a success resets the run
    check.outcomes.set('a', false);
    await tick(2000);
    expect(state('a')).toBe('healthy');
    expect(checker.snapshot()[0]?.consecutive).toEqual({ successes: 0, failures: 2 });
    await tick(1000);
    expect(state('a')).toBe('unhealthy');
    expect(lbState('a')).toBe('unhealthy');
    expect(changes.at(-1)?.reason).toBe('l7: sick (3 consecutive failures)');
    check.outcomes.set('a', true);
    await tick(1000);
    expect(state('a')).toBe('unhealthy');
    await tick(1000);
    expect(state('a')).toBe('healthy');
    expect(lbState('a')).toBe('healthy');
    expect(changes.at(-1)?.reason).toBe('l7: fine (2 consecutive successes)');
    expect(check.callsFor('a')).toHaveLength(9);
  });

  it('checks an unhealthy instance every unhealthyInterval, and at the transition pace once it passes again', async () => {
    setup(['a'], { unhealthyInterval: 5000, healthyThreshold: 2 });
    check.outcomes.set('a', false);
    const t0 = Date.now();
    checker.start();
    await tick(10_000);
    expect(state('a')).toBe('unhealthy');
    expect(check.callsFor('a').map((c) => c.at - t0)).toEqual([0, 5000, 10_000]);
    check.outcomes.set('a', true);
    await tick(5000); // the first pass; the second follows one `interval` later, not five
    expect(state('a')).toBe('unhealthy');
    await tick(1000);
    expect(state('a')).toBe('healthy');
    await tick(1000);
    expect(check.callsFor('a').map((c) => c.at - t0)).toEqual([0, 5000, 10_000, 15_000, 16_000, 17_000]);
  });

  it('checks at transitionInterval while results disagree with the verdict, so it changes sooner', async () => {
    setup(['a'], { transitionInterval: 200, unhealthyThreshold: 3, healthyThreshold: 2 });
    const t0 = Date.now();
    checker.start();
    await tick(0);
    check.outcomes.set('a', false);
    await tick(1000); // the first failure: the next two follow 200 ms apart
    expect(state('a')).toBe('healthy');
    await tick(400);
    expect(state('a')).toBe('unhealthy');
    check.outcomes.set('a', true);
    await tick(1000); // unhealthy: back to `interval`, then one pass starts the fast pace
    expect(state('a')).toBe('unhealthy');
    await tick(200);
    expect(state('a')).toBe('healthy');
    await tick(1000);
    expect(check.callsFor('a').map((c) => c.at - t0)).toEqual([0, 1000, 1200, 1400, 2400, 2600, 3600]);
    expect(changes.map((c) => [c.to, c.reason])).toEqual([
      ['healthy', 'l7: fine (first check)'],
      ['unhealthy', 'l7: sick (3 consecutive failures)'],
      ['healthy', 'l7: fine (2 consecutive successes)'],
    ]);
  });

  it('checks a whole fleet at once at start, then spreads later rounds across the interval', async () => {
    const ids = Array.from({ length: 20 }, (_, i) => `i${i}`);
    setup(ids);
    const t0 = Date.now();
    checker.start();
    expect(check.calls).toHaveLength(20); // first round at once: no instance waits to be known
    await tick(2500);
    const second = ids.map((id) => (check.callsFor(id)[1]?.at ?? Number.NaN) - t0);
    // Spread over [interval, 2 × interval): at most two in any tenth of the interval.
    const buckets = new Map<number, number>();
    for (const at of second) buckets.set(Math.floor(at / 100), (buckets.get(Math.floor(at / 100)) ?? 0) + 1);
    expect(Math.max(...buckets.values())).toBeLessThanOrEqual(2);
    expect(Math.min(...second)).toBeGreaterThanOrEqual(980);
    expect(Math.max(...second) - Math.min(...second)).toBeGreaterThanOrEqual(900);
  });

  it('varies each interval by at most ± jitter', async () => {
    setup(['a'], { jitter: 0.1 });
    checker.start();
    await tick(20_000);
    const at = check.callsFor('a').map((c) => c.at);
    const gaps = at.slice(1).map((t, i) => t - (at[i] ?? 0));
    expect(gaps.length).toBeGreaterThan(15);
    // ± 10%, and checks batched into 20 ms slots may each run up to a slot early.
    for (const gap of gaps) {
      expect(gap).toBeGreaterThanOrEqual(880);
      expect(gap).toBeLessThanOrEqual(1120);
    }
    expect(new Set(gaps).size).toBeGreaterThan(5);
  });

  it('runs at most `concurrency` checks at once and starts the next as one finishes', async () => {
    const ids = Array.from({ length: 10 }, (_, i) => `i${i}`);
    for (const id of ids) check.outcomes.set(id, 'hold');
    setup(ids, { concurrency: 3, timeout: 60_000, interval: 120_000 });
    checker.start();
    expect(check.calls.map((c) => c.id)).toEqual(['i0', 'i1', 'i2']);
    check.calls[1]?.settle(true);
    await tick(0);
    expect(check.calls.map((c) => c.id)).toEqual(['i0', 'i1', 'i2', 'i3']);
    for (let i = 0; i < 10 && check.calls.length < 10; i++) {
      for (const call of check.calls) call.settle(true);
      await tick(0);
    }
    for (const call of check.calls) call.settle(true);
    await tick(0);
    expect(check.calls).toHaveLength(10);
    expect(check.maxActive).toBe(3);
    expect(checker.snapshot().every((s) => s.state === 'healthy')).toBe(true);
  });

  it('aborts a check at its timeout and counts it as a failure, even if the check ignores the signal', async () => {
    check.outcomes.set('a', 'hold');
    setup(['a'], { timeout: 500 });
    checker.start();
    const call = check.calls[0];
    await tick(499);
    expect(call?.signal.aborted).toBe(false);
    await tick(1);
    expect(call?.signal.aborted).toBe(true);
    expect(isPicketError(call?.signal.reason, 'PICKET_TIMEOUT')).toBe(true);
    await tick(1);
    expect(state('a')).toBe('unhealthy');
    expect(checker.snapshot()[0]?.lastChecks.l7?.reason).toBe('l7: timed out after 500 ms');
  });

  it('keeps the reason of a check that honours the timeout (it names the layer that timed out)', async () => {
    check.outcomes.set('a', 'until-abort');
    setup(['a'], { timeout: 500 });
    checker.start();
    await tick(501);
    expect(checker.snapshot()[0]?.lastChecks.l4?.reason).toBe('l4: timed out connecting to the fake');
  });

  it('stops checking instances that leave discovery, aborting their checks and freeing their slots', async () => {
    check.outcomes.set('b', 'hold');
    check.outcomes.set('c', 'hold');
    setup(['a', 'b', 'c'], { concurrency: 2, timeout: 60_000 });
    checker.start();
    await tick(0); // a done; c takes its slot; b and c now hold both slots
    const [b, c] = [check.callsFor('b')[0], check.callsFor('c')[0]];
    expect(c).toBeDefined();
    balancer.update(records('a', 'd'));
    expect(b?.signal.aborted).toBe(true);
    expect(c?.signal.aborted).toBe(true);
    expect(check.calls.at(-1)?.id).toBe('d'); // started at once in a freed slot
    expect(checker.snapshot().map((s) => s.id)).toEqual(['a', 'd']);
    const before = check.calls.length;
    await tick(5000);
    expect(check.calls.slice(before).map((c) => c.id)).not.toContain('b');
    expect(check.calls.slice(before).map((c) => c.id)).not.toContain('c');
    expect(check.calls.length - before).toBeGreaterThanOrEqual(8);
  });

  it('keeps state and schedule across a discovery refresh, checking only new instances at once', async () => {
    setup(['a', 'b']);
    check.outcomes.set('a', false);
    checker.start();
    await tick(0);
    check.outcomes.set('b', false);
    await tick(1500); // b's second check comes half an interval later (staggered)
    expect(checker.snapshot().find((s) => s.id === 'b')?.consecutive.failures).toBe(1);
    const calls = check.calls.length;
    balancer.update(records('a', 'b', 'c')); // a refresh that also adds c
    expect(check.calls.slice(calls).map((c) => c.id)).toEqual(['c']);
    expect(state('a')).toBe('unhealthy');
    expect(lbState('a')).toBe('unhealthy');
    expect(checker.snapshot().find((s) => s.id === 'b')).toMatchObject({
      state: 'healthy',
      consecutive: { failures: 1 },
    });
    await tick(2000);
    expect(state('b')).toBe('unhealthy'); // the refresh did not reset its run of failures
  });

  it('checks afresh an instance whose address changed under the same id', async () => {
    setup(['a']);
    checker.start();
    await tick(0);
    const calls = check.calls.length;
    balancer.update([{ id: 'a', url: 'http://127.0.0.1:9999' }, ...records('x', 'c').slice(1)]);
    expect(
      check.calls
        .slice(calls)
        .map((c) => c.id)
        .sort(),
    ).toEqual(['a', 'c']);
  });

  it('takes an instance out at once when its server reports drain', async () => {
    setup(['a']);
    checker.start();
    await tick(0);
    check.outcomes.set('a', { ok: false, reason: 'load: /load in 1 ms: status drain', status: 'drain' });
    await tick(1000);
    expect(state('a')).toBe('unhealthy');
    expect(changes.at(-1)?.reason).toBe('load: /load in 1 ms: status drain');
  });

  it('sets a reported weight on the balancer and restores the record weight when it goes away', async () => {
    check.outcomes.set('a', { ok: true, weight: 40 });
    setup(['a', 'b']);
    checker.start();
    await tick(0);
    const weight = (id: string) => balancer.snapshot().instances.find((s) => s.id === id)?.effectiveWeight;
    expect(weight('a')).toBe(40);
    expect(checker.snapshot()[0]?.weight).toBe(40);
    check.outcomes.set('a', true);
    await tick(1000);
    expect(weight('a')).toBe(1);
    check.outcomes.set('a', { ok: true, weight: 5 });
    await tick(1000);
    await checker.close();
    expect(weight('a')).toBe(1);
  });

  it('does not prefer a new instance over known-healthy ones before its first result', async () => {
    setup(['a']);
    checker.start();
    await tick(0);
    check.outcomes.set('b', 'hold');
    balancer.update(records('a', 'b'));
    const picked = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const pick = balancer.pick();
      picked.add(pick.instance.id);
      pick.release({ ok: true, latencyMs: 1 });
    }
    expect([...picked]).toEqual(['a']);
    check.callsFor('b')[0]?.settle(true);
    await tick(0);
    for (let i = 0; i < 50; i++) {
      const pick = balancer.pick();
      picked.add(pick.instance.id);
      pick.release({ ok: true, latencyMs: 1 });
    }
    expect([...picked].sort()).toEqual(['a', 'b']);
  });

  it('holds back a new instance even on a balancer created without healthSources', async () => {
    balancer = createBalancer({ strategy: 'round-robin', outlierDetection: false, random: seededRandom(7) });
    balancer.update(records('a'));
    checker = createHealthChecker(balancer, { check, interval: 1000, jitter: 0 });
    checker.start();
    await tick(0);
    check.outcomes.set('b', 'hold');
    balancer.update(records('a', 'b'));
    expect(lbState('b')).toBe('unknown');
    for (let i = 0; i < 20; i++) balancer.pick().release({ ok: true });
    expect(balancer.snapshot().instances.find((s) => s.id === 'b')?.requests).toBe(0);
  });

  it('counts a check that throws as a failure and reports the error on the check event', async () => {
    check.outcomes.set('a', 'throw');
    setup(['a']);
    const events: HealthCheckerEvents['check'][] = [];
    checker.on('check', (e) => events.push(e));
    checker.start();
    await tick(0);
    expect(state('a')).toBe('unhealthy');
    expect(events[0]?.error).toBeInstanceOf(Error);
    expect(events[0]?.result.reason).toBe('l7: check could not run: boom for a');
  });

  it('keeps going when a listener throws, reporting it as listener-error', async () => {
    setup(['a']);
    const errors: unknown[] = [];
    checker.on('instance-state', () => {
      throw new Error('listener bug');
    });
    checker.on('listener-error', (e) => errors.push(e.error));
    checker.start();
    await tick(3000);
    expect(errors).toHaveLength(1);
    expect(check.callsFor('a')).toHaveLength(4);
  });

  it('close() is idempotent, aborts checks, clears its timers, withdraws verdicts and closes the check', async () => {
    check.outcomes.set('b', false);
    check.outcomes.set('c', 'hold');
    setup(['a', 'b', 'c']);
    checker.start();
    await tick(0);
    expect(lbState('b')).toBe('unhealthy');
    const pending = check.callsFor('c')[0];
    const first = checker.close();
    expect(checker.close()).toBe(first);
    await first;
    expect(pending?.signal.aborted).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
    expect(check.closes).toBe(1);
    expect(lbState('b')).toBe('healthy');
    expect(lbState('c')).toBe('healthy');
    expect(checker.closed).toBe(true);
    const calls = check.calls.length;
    await tick(10_000);
    expect(check.calls).toHaveLength(calls);
    expect(() => checker.start()).toThrow(expect.objectContaining({ code: 'PICKET_CLIENT_CLOSED' }));
  });

  it('stops by itself once the balancer is closed', async () => {
    setup(['a']);
    checker.start();
    await tick(0);
    balancer.close();
    await tick(1000);
    expect(checker.closed).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('reports as a configurable health source', async () => {
    setup(['a'], { source: 'l3-probe' });
    check.outcomes.set('a', false);
    checker.start();
    await tick(0);
    expect(balancer.snapshot().instances[0]?.health['l3-probe']?.state).toBe('unhealthy');
  });
});
