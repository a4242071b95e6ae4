import { describe, expect, it } from 'vitest';
import { RollingCounts } from './rolling.ts';

describe('RollingCounts', () => {
  it('sums each series over the window and forgets buckets that slid out', () => {
    // 10 buckets of 100 ms.
    const w = new RollingCounts(2, 10, 1000, 0);
    w.add(0, 0);
    w.add(0, 50, 2);
    w.add(1, 150);
    w.add(0, 950);
    expect(w.sum(0, 950)).toBe(4);
    expect(w.sum(1, 950)).toBe(1);
    // At 1000 the bucket [0, 100) leaves: its 3 counts go; [100, 200) still holds series 1.
    expect(w.sum(0, 1000)).toBe(1);
    expect(w.sum(1, 1099)).toBe(1);
    expect(w.sum(1, 1100)).toBe(0);
    expect(w.sum(0, 1899)).toBe(1);
    expect(w.sum(0, 1900)).toBe(0);
  });

  it('clears everything after a gap longer than the window, without walking the gap', () => {
    const w = new RollingCounts(1, 4, 400, 0);
    for (let t = 0; t < 400; t += 10) w.add(0, t);
    expect(w.sum(0, 399)).toBe(40);
    expect(w.sum(0, 1e12)).toBe(0);
    w.add(0, 1e12 + 1);
    expect(w.sum(0, 1e12 + 2)).toBe(1);
  });

  it('counts a reading older than the newest bucket in the newest bucket', () => {
    const w = new RollingCounts(1, 10, 1000, 0);
    w.add(0, 500);
    // An attempt that started at 20 settles after the window moved to 500.
    w.add(0, 20);
    expect(w.sum(0, 1400)).toBe(2);
    expect(w.sum(0, 1500)).toBe(0);
  });

  it('reset forgets every count', () => {
    const w = new RollingCounts(3, 5, 500, 0);
    w.add(0, 0);
    w.add(2, 300, 7);
    w.reset();
    expect([w.sum(0, 300), w.sum(1, 300), w.sum(2, 300)]).toEqual([0, 0, 0]);
    w.add(2, 320);
    expect(w.sum(2, 320)).toBe(1);
  });
});
