import { describe, expect, it } from 'vitest';
import { LatencyWindow, MIN_SAMPLES } from './latency.ts';

describe('LatencyWindow', () => {
  it('has no percentile until it has enough samples', () => {
    const w = new LatencyWindow();
    for (let i = 0; i < MIN_SAMPLES - 1; i++) w.record(5);
    expect(w.p95()).toBe(-1);
    w.record(5);
    expect(w.p95()).toBe(5);
  });

  it('reports the 95th percentile of recent samples', () => {
    const w = new LatencyWindow();
    for (let round = 0; round < 20; round++) for (let i = 1; i <= 100; i++) w.record(i);
    expect(w.p95()).toBeGreaterThanOrEqual(94);
    expect(w.p95()).toBeLessThanOrEqual(96);
  });
});
