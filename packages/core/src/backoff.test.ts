import { describe, expect, it } from 'vitest';
import { backoffDelay, exponentialBackoff } from './backoff.ts';
import { isPicketError } from './errors.ts';
import { seededRandom } from './random.ts';

describe('exponentialBackoff', () => {
  it('grows by the factor up to maxMs, each delay between half its step and the step', () => {
    const low = exponentialBackoff({ initialMs: 100, maxMs: 1000, factor: 3 }, () => 0);
    const high = exponentialBackoff({ initialMs: 100, maxMs: 1000, factor: 3 }, () => 0.999999);
    expect(Array.from({ length: 5 }, () => [low.next(), high.next()])).toEqual([
      [50, 100],
      [150, 300],
      [450, 900],
      [500, 1000],
      [500, 1000],
    ]);
    expect([low.attempts, high.attempts]).toEqual([5, 5]);
  });

  it('draws its jitter from the source it is given: the same seed, the same delays', () => {
    const run = (seed: number) => {
      const b = exponentialBackoff({ initialMs: 1000, maxMs: 1000 }, seededRandom(seed));
      return Array.from({ length: 20 }, () => b.next());
    };
    expect(run(42)).toEqual(run(42));
    expect(run(42)).not.toEqual(run(43));
    expect(new Set(run(42)).size).toBeGreaterThan(5);
    expect(exponentialBackoff({ initialMs: 1000 }, () => 0).next()).toBe(500);
    expect(exponentialBackoff({ initialMs: 1000 }, () => 0.999999).next()).toBe(1000);
  });

  it('counts failures from the first step again after reset()', () => {
    const b = exponentialBackoff({ initialMs: 10, maxMs: 10_000, factor: 10 }, () => 0.999999);
    expect([b.next(), b.next(), b.next()]).toEqual([10, 100, 1000]);
    b.reset();
    expect(b.attempts).toBe(0);
    expect([b.next(), b.attempts]).toEqual([10, 1]);
  });

  it('stays finite after very many failures, whatever the factor, and at 0 when initialMs is 0', () => {
    const b = exponentialBackoff({ initialMs: 100, maxMs: 5000, factor: 100 }, () => 1);
    for (let i = 0; i < 10_000; i++) b.next();
    expect(b.next()).toBe(5000);
    const zero = exponentialBackoff({ initialMs: 0, maxMs: 5000, factor: 100 }, () => 1);
    for (let i = 0; i < 10_000; i++) zero.next();
    expect(zero.next()).toBe(0);
  });

  it('defaults to 500 ms doubling up to 30 s', () => {
    const b = exponentialBackoff({}, () => 1);
    const delays = Array.from({ length: 8 }, () => b.next());
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000]);
  });

  it.each([
    [{ initialMs: -1 }, '`initialMs` must be a number of milliseconds from 0 to 2147483647, got -1'],
    [{ maxMs: 2 ** 31 }, '`maxMs` must be a number of milliseconds from 0 to 2147483647, got 2147483648'],
    [{ maxMs: Number.NaN }, 'got NaN'],
    [{ factor: 0.5 }, '`factor` must be a number from 1 to 100, got 0.5'],
    [{ factor: Number.POSITIVE_INFINITY }, '`factor` must be a number from 1 to 100, got Infinity'],
  ])('refuses %o by name and value', (options, message) => {
    try {
      exponentialBackoff(options);
      expect.unreachable();
    } catch (error) {
      expect(isPicketError(error, 'PICKET_INVALID_OPTIONS')).toBe(true);
      expect((error as Error).message).toContain(message);
    }
  });

  it('refuses a random source that is not a function', () => {
    expect(() => exponentialBackoff({}, 0.5 as never)).toThrowError(
      'exponentialBackoff: `random` must be a function returning numbers in [0, 1), got 0.5',
    );
  });
});

describe('backoffDelay', () => {
  it('is the step for a failure count, for callers that count failures themselves', () => {
    expect([0, 1, 2, 3, 4].map((n) => backoffDelay(n, 25, 250, 2, () => 1))).toEqual([25, 50, 100, 200, 250]);
    expect(backoffDelay(3, 25, 250, 2, () => 0)).toBe(100);
  });
});
