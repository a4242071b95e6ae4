import { describe, expect, it } from 'vitest';
import { coarseNow } from './clock.ts';

describe('coarseNow', () => {
  it('reads the performance clock and follows it within a few milliseconds', async () => {
    const before = performance.now();
    const a = coarseNow();
    expect(a).toBeGreaterThanOrEqual(before);
    expect(coarseNow()).toBe(a);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const b = coarseNow();
    expect(b).toBeGreaterThan(a + 3);
    expect(b).toBeLessThanOrEqual(performance.now());
  });
});
