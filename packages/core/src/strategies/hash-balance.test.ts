// Bounded-load consistent hashing (`hashBalanceFactor`), for both hashing strategies.

import { describe, expect, it } from 'vitest';
import { createBalancer } from '../balancer.ts';
import { isPicketError } from '../errors.ts';
import { seededRandom } from '../random.ts';
import type { Strategy } from '../strategy.ts';
import type { PickHandle } from '../types.ts';
import { maglev } from './maglev.ts';
import { ringHash } from './ring-hash.ts';
import { keyOwners, makeEndpoints, makePicker, thrown, urlOf } from './testing.ts';

const factories: [string, (hashBalanceFactor?: number) => Strategy][] = [
  ['ringHash', (hashBalanceFactor) => ringHash({ hashBalanceFactor })],
  ['maglev', (hashBalanceFactor) => maglev({ tableSize: 4099, hashBalanceFactor })],
];

function balancer(strategy: Strategy, instances: number) {
  const lb = createBalancer({ strategy, random: seededRandom(7), now: () => 0, outlierDetection: false });
  lb.update(Array.from({ length: instances }, (_, i) => urlOf(i)));
  return lb;
}

function inFlight(lb: ReturnType<typeof balancer>): number[] {
  return lb.snapshot().instances.map((i) => i.active);
}

describe.each(factories)('%s({ hashBalanceFactor })', (_name, make) => {
  it('accepts a factor of at least 1, or none', () => {
    expect(() => make(1)).not.toThrow();
    expect(() => make(1.25)).not.toThrow();
    expect(() => make(undefined)).not.toThrow();
  });

  it('rejects a factor below 1 or not a finite number, naming the option and the value', () => {
    for (const bad of [0.99, 0, -1, Number.NaN, Number.POSITIVE_INFINITY, '1.25']) {
      const error = thrown(() => make(bad as number));
      expect(isPicketError(error, 'PICKET_INVALID_OPTIONS')).toBe(true);
      expect(error.message).toContain('`hashBalanceFactor`');
      expect(error.message).toMatch(/at least 1/);
    }
  });

  it('keeps a hot key from loading its instance past 1.25 × the mean in flight (+1)', () => {
    const lb = balancer(make(1.25), 8);
    const held: PickHandle[] = [];
    for (let i = 0; i < 800; i++) {
      // Nine picks in ten are for one key; the rest spread.
      held.push(lb.pick({ key: i % 10 === 0 ? `user-${i}` : 'hot' }));
      const active = inFlight(lb);
      const mean = active.reduce((a, b) => a + b, 0) / active.length;
      expect(Math.max(...active)).toBeLessThanOrEqual(1.25 * mean + 1);
    }
    for (const pick of held) pick.release({ ok: true, latencyMs: 1 });
    expect(inFlight(lb).every((n) => n === 0)).toBe(true);
  });

  it('without a factor, lets the hot key pile onto one instance', () => {
    const lb = balancer(make(undefined), 8);
    for (let i = 0; i < 100; i++) lb.pick({ key: 'hot' });
    expect(Math.max(...inFlight(lb))).toBe(100);
  });

  it('keeps every key on its instance while load is even', () => {
    const plain = keyOwners(makePicker(make(undefined), makeEndpoints(8)), 2000);
    // Requests one at a time: nothing in flight.
    const lb = balancer(make(1.25), 8);
    const owners: string[] = [];
    for (let k = 0; k < 2000; k++) {
      const pick = lb.pick({ key: `user-${k}` });
      owners.push(pick.instance.id);
      pick.release({ ok: true, latencyMs: 1 });
    }
    expect(owners).toEqual(plain);
    // Every instance holding the same three requests: still no key moves.
    const held: PickHandle[] = [];
    for (let i = 0; i < 8; i++) {
      for (let n = 0; n < 3; n++) held.push(lb.pick({ key: 'x', exclude: except(i, 8) }));
    }
    expect(inFlight(lb)).toEqual(Array(8).fill(3));
    for (let k = 0; k < 2000; k++) {
      const pick = lb.pick({ key: `user-${k}` });
      expect(pick.instance.id).toBe(plain[k]);
      pick.release({ ok: true, latencyMs: 1 });
    }
  });

  it('passes over a loaded owner outside a balancer too, summing the endpoints’ in-flight', () => {
    const endpoints = makeEndpoints(4);
    const picker = makePicker(make(1.25), endpoints);
    const owner = picker.pick({ key: 'k' }, 0)!;
    owner.active = 10;
    const next = picker.pick({ key: 'k' }, 0)!;
    expect(next).not.toBe(owner);
    // The same key always moves to the same next instance.
    expect(picker.pick({ key: 'k' }, 0)).toBe(next);
    owner.active = 0;
    expect(picker.pick({ key: 'k' }, 0)).toBe(owner);
  });

  it('honours exclude, and takes an allowed instance over its bound when it is the only one', () => {
    const endpoints = makeEndpoints(3);
    const picker = makePicker(make(1.25), endpoints);
    endpoints[1]!.active = 50;
    const only = except(1, 3);
    expect(picker.pick({ key: 'k', exclude: only }, 0)).toBe(endpoints[1]);
    const all = new Set(endpoints.map((e) => e.instance.id));
    expect(picker.pick({ key: 'k', exclude: all }, 0)).toBeUndefined();
  });
});

/** Every test id but the i-th of n. */
function except(i: number, n: number): Set<string> {
  const ids = new Set<string>();
  for (let j = 0; j < n; j++) if (j !== i) ids.add(urlOf(j));
  return ids;
}
