import { describe, expect, it } from 'vitest';
import { LatencyWindow } from '../../src/dashboard/latency-window.ts';

describe('LatencyWindow', () => {
  it('gives p50 and p99 within a bin (6.25%) of the exact figures, from microseconds to minutes', () => {
    for (const scale of [0.01, 1, 250, 2000]) {
      const w = new LatencyWindow(10);
      // 1..1000 × scale: p50 is 500 × scale, p99 990 × scale.
      for (let i = 1; i <= 1000; i++) w.add(i * scale);
      const [p50, p99] = w.quantiles([0.5, 0.99]);
      expect(Math.abs(p50! / (500 * scale) - 1), `p50 at ${scale}`).toBeLessThan(0.0625);
      expect(Math.abs(p99! / (990 * scale) - 1), `p99 at ${scale}`).toBeLessThan(0.0625);
    }
  });

  it('forgets a tick once the window has moved past it, and reports each tick’s mean', () => {
    const w = new LatencyWindow(3);
    for (let i = 0; i < 10; i++) w.add(100);
    expect(w.tick()).toEqual({ count: 10, meanMs: 100 });
    w.advance();
    w.add(2);
    expect(w.count).toBe(11);
    expect(w.quantiles([0.5])[0]!).toBeGreaterThan(90);
    w.advance();
    w.advance();
    // The tick of 100s has left the window; only the 2 remains.
    expect(w.count).toBe(1);
    expect(w.quantiles([0.5, 0.99]).map((q) => Math.round(q!))).toEqual([2, 2]);
    w.advance();
    expect(w.quantiles([0.5])).toEqual([undefined]);
    expect(w.tick()).toEqual({ count: 0, meanMs: undefined });
  });

  it('keeps zero, negative and huge latencies in the end bins', () => {
    const w = new LatencyWindow(1);
    w.add(0);
    w.add(-1);
    w.add(1e12);
    const [low, high] = w.quantiles([0.1, 1]);
    expect(low!).toBeLessThan(0.001);
    expect(high!).toBeGreaterThan(2e6);
  });
});
