import { isPicketError } from '@picket/core';
import { describe, expect, it } from 'vitest';
import { backoff } from './backoff.ts';

describe('backoff', () => {
  it('grows by the factor, stays within [step/2, step] and is capped at maxMs', () => {
    const b = backoff({ initialMs: 100, maxMs: 1000, factor: 2 });
    const steps = [100, 200, 400, 800, 1000, 1000, 1000];
    for (const step of steps) {
      const delay = b.next();
      expect(delay).toBeGreaterThanOrEqual(step / 2);
      expect(delay).toBeLessThanOrEqual(step);
    }
    expect(b.attempts).toBe(steps.length);
  });

  it('jitters: the random source decides where in the upper half a delay falls', () => {
    expect(backoff({ initialMs: 1000 }, () => 0).next()).toBe(500);
    expect(backoff({ initialMs: 1000 }, () => 0.999999).next()).toBe(1000);
    const spread = new Set(Array.from({ length: 20 }, () => backoff({ initialMs: 1000 }).next()));
    expect(spread.size).toBeGreaterThan(5);
  });

  it('starts over after reset()', () => {
    const b = backoff({ initialMs: 100, maxMs: 10_000 }, () => 1);
    b.next();
    b.next();
    b.next();
    b.reset();
    expect(b.attempts).toBe(0);
    expect(b.next()).toBe(100);
  });

  it('never overflows after very many failures', () => {
    const b = backoff({ initialMs: 100, maxMs: 5000 }, () => 1);
    for (let i = 0; i < 10_000; i++) b.next();
    expect(b.next()).toBe(5000);
  });

  it('rejects invalid options naming the field and value', () => {
    try {
      backoff({ initialMs: -1 });
      expect.unreachable();
    } catch (error) {
      expect(isPicketError(error, 'PICKET_INVALID_OPTIONS')).toBe(true);
      expect((error as Error).message).toContain('`initialMs`');
      expect((error as Error).message).toContain('-1');
    }
  });

  it('words its range in Picket’s one duration rule, Infinity shown as itself', () => {
    expect(() => backoff({ maxMs: Number.POSITIVE_INFINITY })).toThrowError(
      'Invalid backoff options: `maxMs` must be a whole number of milliseconds from 1 to 3600000, got Infinity',
    );
  });
});
