import { describe, expect, it } from 'vitest';
import { random } from './random.ts';
import { countPicks, makeEndpoints, makePicker, shares, urlOf } from './testing.ts';

const TIMES = 30_000;

describe('random', () => {
  it('is named random', () => {
    expect(random().name).toBe('random');
  });

  it('returns undefined for an empty set', () => {
    expect(makePicker(random(), []).pick(undefined, 0)).toBeUndefined();
  });

  it('spreads evenly when weights are equal', () => {
    const endpoints = makeEndpoints(4);
    for (const share of shares(countPicks(makePicker(random(), endpoints), TIMES), endpoints, TIMES)) {
      expect(share).toBeGreaterThan(0.23);
      expect(share).toBeLessThan(0.27);
    }
  });

  it('picks in proportion to weights 1:2:3', () => {
    const endpoints = makeEndpoints(3, [1, 2, 3]);
    const [a, b, c] = shares(countPicks(makePicker(random(), endpoints, 5), TIMES), endpoints, TIMES);
    expect(Math.abs(a! - 1 / 6)).toBeLessThan(0.015);
    expect(Math.abs(b! - 2 / 6)).toBeLessThan(0.015);
    expect(Math.abs(c! - 3 / 6)).toBeLessThan(0.015);
  });

  it('never picks an endpoint whose weight is 0, unless all are 0', () => {
    const endpoints = makeEndpoints(3);
    endpoints[1]!.weight = 0;
    const picker = makePicker(random(), endpoints);
    expect(countPicks(picker, 3000).get(urlOf(1))).toBeUndefined();
    for (const e of endpoints) e.weight = 0;
    picker.rebuild(endpoints);
    expect(countPicks(picker, 3000).size).toBe(3);
  });

  it('never returns an excluded endpoint, and keeps the ratio among the rest', () => {
    const endpoints = makeEndpoints(3, [1, 2, 3]);
    const exclude = new Set([urlOf(2)]);
    const counts = countPicks(makePicker(random(), endpoints), TIMES, { exclude });
    expect(counts.get(urlOf(2))).toBeUndefined();
    const [a, b] = shares(counts, endpoints, TIMES);
    expect(Math.abs(a! - 1 / 3)).toBeLessThan(0.015);
    expect(Math.abs(b! - 2 / 3)).toBeLessThan(0.015);
  });

  it('finds the few endpoints left when most are excluded', () => {
    const endpoints = makeEndpoints(
      50,
      Array.from({ length: 50 }, (_, i) => i + 1),
    );
    const exclude = new Set(endpoints.slice(2).map((e) => e.instance.id));
    const counts = countPicks(makePicker(random(), endpoints), 3000, { exclude });
    expect([...counts.keys()].sort()).toEqual([urlOf(0), urlOf(1)]);
    // Weights 1 and 2 still apply between the two left.
    expect((counts.get(urlOf(1)) ?? 0) / 3000).toBeGreaterThan(0.6);
    expect((counts.get(urlOf(1)) ?? 0) / 3000).toBeLessThan(0.73);
  });

  it('returns undefined when every endpoint is excluded', () => {
    const exclude = new Set([urlOf(0), urlOf(1)]);
    expect(makePicker(random(), makeEndpoints(2)).pick({ exclude }, 0)).toBeUndefined();
    expect(makePicker(random(), makeEndpoints(2, [1, 2])).pick({ exclude }, 0)).toBeUndefined();
  });
});
