import { describe, expect, it } from 'vitest';
import { deterministicOrder, rendezvousOrder } from './subset-order.ts';

const ids = (n: number, from = 0) =>
  Array.from({ length: n }, (_, i) => `10.0.${(i + from) >> 8}.${(i + from) & 255}:8080`);

function changed(a: readonly string[], b: readonly string[]): number {
  const set = new Set(b);
  return a.filter((id) => !set.has(id)).length;
}

describe('rendezvousOrder', () => {
  it('orders every id once, the same way whatever order discovery lists them in', () => {
    const list = ids(50);
    const order = rendezvousOrder('caller-1', list);
    expect(new Set(order).size).toBe(50);
    expect(rendezvousOrder('caller-1', [...list].reverse())).toEqual(order);
    expect(rendezvousOrder('caller-2', list)).not.toEqual(order);
  });

  it('changes a caller’s top 10 by at most one member when one instance joins or leaves', () => {
    const list = ids(100);
    for (let c = 0; c < 200; c++) {
      const before = rendezvousOrder(`caller-${c}`, list).slice(0, 10);
      const joined = rendezvousOrder(`caller-${c}`, [...list, '10.9.9.9:8080']).slice(0, 10);
      const left = rendezvousOrder(
        `caller-${c}`,
        list.filter((id) => id !== list[c % 100]),
      ).slice(0, 10);
      expect(changed(before, joined)).toBeLessThanOrEqual(1);
      expect(changed(before, left)).toBeLessThanOrEqual(1);
    }
  });

  it('spreads 300 callers’ subsets of 90 over 300 instances within the binomial spread', () => {
    const list = ids(300);
    const load = new Map<string, number>();
    for (let c = 0; c < 300; c++) {
      for (const id of rendezvousOrder(`caller-${c}`, list).slice(0, 90))
        load.set(id, (load.get(id) ?? 0) + 1);
    }
    const counts = list.map((id) => load.get(id) ?? 0);
    // Binomial(300, 0.3): mean 90, standard deviation 7.9; ±4 deviations.
    expect(Math.min(...counts)).toBeGreaterThan(58);
    expect(Math.max(...counts)).toBeLessThan(122);
  });
});

describe('deterministicOrder', () => {
  it.each([
    [100, 100, 20],
    [300, 300, 90],
    [12, 40, 10],
    [100, 300, 20],
    [7, 13, 5],
    [1000, 100, 20],
  ])(
    'deals %i callers over %i instances, %i each, so every instance has ⌊mean⌋ or ⌈mean⌉ callers',
    (callers, n, size) => {
      const list = ids(n);
      const load = new Map<string, number>();
      for (let c = 0; c < callers; c++) {
        const order = deterministicOrder(c, size, list);
        expect(new Set(order).size).toBe(n);
        for (const id of order.slice(0, size)) load.set(id, (load.get(id) ?? 0) + 1);
      }
      const mean = (callers * size) / n;
      const counts = list.map((id) => load.get(id) ?? 0);
      // Below 3 × size instances a slice that runs into the next round may skip a repeat: ±1 more.
      const slack = n >= 3 * size ? 0 : 1;
      expect(Math.min(...counts)).toBeGreaterThanOrEqual(Math.floor(mean) - slack);
      expect(Math.max(...counts)).toBeLessThanOrEqual(Math.ceil(mean) + slack);
    },
  );

  it('gives a caller all instances when the service has no more than its size', () => {
    expect(new Set(deterministicOrder(3, 10, ids(8)))).toEqual(new Set(ids(8)));
  });
});
