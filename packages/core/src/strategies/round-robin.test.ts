import { describe, expect, it } from 'vitest';
import { roundRobin } from './round-robin.ts';
import { countPicks, makeEndpoints, makePicker, shares, urlOf } from './testing.ts';

describe('roundRobin', () => {
  it('is named round-robin', () => {
    expect(roundRobin().name).toBe('round-robin');
  });

  it('returns undefined for an empty set', () => {
    const picker = makePicker(roundRobin(), []);
    expect(picker.pick(undefined, 0)).toBeUndefined();
    picker.rebuild(makeEndpoints(2));
    picker.rebuild([]);
    expect(picker.pick(undefined, 0)).toBeUndefined();
  });

  it('visits every endpoint once per cycle when weights are equal', () => {
    const endpoints = makeEndpoints(4);
    const picker = makePicker(roundRobin(), endpoints);
    for (let cycle = 0; cycle < 5; cycle++) {
      const seen = new Set<string>();
      for (let i = 0; i < 4; i++) seen.add(picker.pick(undefined, 0)!.instance.id);
      expect(seen.size).toBe(4);
    }
  });

  it('starts at a random endpoint, so restarted clients spread their first requests', () => {
    const endpoints = makeEndpoints(4);
    const firsts = new Map<string, number>();
    for (let seed = 1; seed <= 400; seed++) {
      const id = makePicker(roundRobin(), endpoints, seed).pick(undefined, 0)!.instance.id;
      firsts.set(id, (firsts.get(id) ?? 0) + 1);
    }
    for (const e of endpoints) expect(firsts.get(e.instance.id) ?? 0).toBeGreaterThan(60);
  });

  it('gives picks in proportion to weights 1:2:3', () => {
    const endpoints = makeEndpoints(3, [1, 2, 3]);
    const counts = countPicks(makePicker(roundRobin(), endpoints, 7), 6000);
    const [a, b, c] = endpoints.map((e) => counts.get(e.instance.id) ?? 0);
    // Deterministic after a random phase: exact up to one pick per endpoint.
    expect(Math.abs(a! - 1000)).toBeLessThanOrEqual(1);
    expect(Math.abs(b! - 2000)).toBeLessThanOrEqual(1);
    expect(Math.abs(c! - 3000)).toBeLessThanOrEqual(1);
  });

  it('interleaves weighted picks instead of sending bursts', () => {
    const endpoints = makeEndpoints(2, [3, 1]);
    const picker = makePicker(roundRobin(), endpoints, 3);
    const light = endpoints[1]!.instance.id;
    let last = -1;
    for (let i = 0; i < 400; i++) {
      if (picker.pick(undefined, 0)!.instance.id !== light) continue;
      // The weight-1 endpoint comes every 4th pick, never twice in a row, never 5 picks late.
      if (last >= 0) expect(i - last).toBe(4);
      last = i;
    }
  });

  it('keeps weighted proportions over long runs', () => {
    // Small weights advance virtual time fast, exercising the rebasing of deadlines.
    const endpoints = makeEndpoints(2, [0.001, 0.002]);
    const counts = countPicks(makePicker(roundRobin(), endpoints), 30_000);
    const [a, b] = shares(counts, endpoints, 30_000);
    expect(a).toBeCloseTo(1 / 3, 3);
    expect(b).toBeCloseTo(2 / 3, 3);
  });

  it('uses the effective endpoint weight, not the configured one', () => {
    const endpoints = makeEndpoints(2);
    endpoints[0]!.weight = 0.25; // for example during slow start
    const counts = countPicks(makePicker(roundRobin(), endpoints), 5000);
    const [a] = shares(counts, endpoints, 5000);
    expect(a).toBeCloseTo(0.2, 2);
  });

  it('never returns an excluded endpoint, and keeps rotating over the rest', () => {
    const endpoints = makeEndpoints(3);
    const exclude = new Set([urlOf(1)]);
    const counts = countPicks(makePicker(roundRobin(), endpoints), 1000, { exclude });
    expect(counts.get(urlOf(1))).toBeUndefined();
    expect(counts.get(urlOf(0))).toBe(500);
    expect(counts.get(urlOf(2))).toBe(500);
  });

  it('never returns an excluded endpoint when weights differ', () => {
    const endpoints = makeEndpoints(3, [1, 2, 3]);
    const picker = makePicker(roundRobin(), endpoints);
    const exclude = new Set([urlOf(2)]);
    const counts = countPicks(picker, 3000, { exclude });
    expect(counts.get(urlOf(2))).toBeUndefined();
    const [a, b] = shares(counts, endpoints, 3000);
    expect(a).toBeCloseTo(1 / 3, 2);
    expect(b).toBeCloseTo(2 / 3, 2);
    // Once no longer excluded, it gets its share again.
    const after = shares(countPicks(picker, 6000), endpoints, 6000);
    expect(after[2]).toBeCloseTo(0.5, 2);
  });

  it('returns undefined when every endpoint is excluded', () => {
    const exclude = new Set([urlOf(0), urlOf(1)]);
    expect(makePicker(roundRobin(), makeEndpoints(2)).pick({ exclude }, 0)).toBeUndefined();
    expect(makePicker(roundRobin(), makeEndpoints(2, [1, 2])).pick({ exclude }, 0)).toBeUndefined();
  });
});
