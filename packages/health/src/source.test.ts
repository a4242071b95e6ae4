// The checker's health source: registered once with the balancer, under whatever name `source`
// gives it, with what an active check's verdicts may do declared on the handle.

import { type Balancer, createBalancer, isPicketError, seededRandom } from '@picket/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createHealthChecker, type HealthChecker } from './scheduler.ts';
import { FakeCheck } from './test-support.ts';

const FAKED = [
  'setTimeout',
  'clearTimeout',
  'setImmediate',
  'clearImmediate',
  'Date',
  'performance',
] as const;

const IDS = ['a', 'b', 'c'];
const records = IDS.map((id, i) => ({ id, url: `http://127.0.0.1:${8001 + i}` }));

let check: FakeCheck;
let balancer: Balancer;
const checkers: HealthChecker[] = [];

function checker(source?: string): HealthChecker {
  const made = createHealthChecker(balancer, {
    check,
    interval: 1000,
    jitter: 0,
    random: seededRandom(3),
    ...(source === undefined ? {} : { source }),
  });
  checkers.push(made);
  return made;
}

const lbState = (id: string) => balancer.snapshot().instances.find((s) => s.id === id)?.state;
const tick = (ms: number) => vi.advanceTimersByTimeAsync(ms);

beforeEach(() => {
  vi.useFakeTimers({ toFake: [...FAKED] });
  check = new FakeCheck();
  // Outlier detection on, with its defaults: 5 consecutive failures eject for 30 s.
  balancer = createBalancer({
    strategy: 'round-robin',
    random: seededRandom(7),
    now: () => performance.now(),
  });
  balancer.update(records);
});

afterEach(async () => {
  for (const c of checkers.splice(0)) await c.close();
  balancer.close();
  vi.useRealTimers();
});

/** Fails every request to `id` until outlier detection ejects it. */
function eject(id: string): void {
  for (let i = 0; i < 60 && lbState(id) !== 'ejected'; i++) {
    const pick = balancer.pick();
    pick.release(pick.instance.id === id ? { ok: false, status: 503 } : { ok: true, latencyMs: 1 });
  }
  expect(lbState(id)).toBe('ejected');
}

describe("the checker's health source", () => {
  it.each(['active', 'l7'])(
    'ends an outlier ejection on the next passing check, with source %j',
    async (source) => {
      checker(source).start();
      await tick(0);
      expect(IDS.map(lbState)).toEqual(['healthy', 'healthy', 'healthy']);
      eject('a');
      await tick(999);
      expect(lbState('a')).toBe('ejected');
      await tick(1);
      // 29 s before the ejection would have ended by itself.
      expect(lbState('a')).toBe('healthy');
    },
  );

  it('holds back instances present before it was made and those that join, under its name', async () => {
    const c = checker('l7');
    expect(lbState('a')).toBe('unknown');
    balancer.update([...records, { id: 'd', url: 'http://127.0.0.1:8004' }]);
    expect(balancer.snapshot().instances.find((s) => s.id === 'd')?.health).toEqual({
      l7: { state: 'unknown', reason: 'not checked yet' },
    });
    c.start();
    await tick(0);
    expect([...IDS, 'd'].map(lbState)).toEqual(['healthy', 'healthy', 'healthy', 'healthy']);
  });

  it('refuses a second checker under the same name, typed; another name or a closed first is fine', async () => {
    const first = checker();
    let error: unknown;
    try {
      checker();
    } catch (e) {
      error = e;
    }
    expect(isPicketError(error) && error.code).toBe('PICKET_INVALID_OPTIONS');
    expect((error as Error).message).toContain('Health source "active" is already registered');
    checker('l4');
    await first.close();
    checker();
  });

  it('leaves no instance waiting once closed, started or not', async () => {
    const c = checker('l7');
    expect(lbState('a')).toBe('unknown');
    await c.close();
    balancer.update([...records, { id: 'd', url: 'http://127.0.0.1:8004' }]);
    expect([...IDS, 'd'].map(lbState)).toEqual(['healthy', 'healthy', 'healthy', 'healthy']);
  });
});
