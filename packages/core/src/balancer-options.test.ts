import { describe, expect, it } from 'vitest';
import { createBalancer } from './balancer.ts';
import { isPicketError } from './errors.ts';
import type { BalancerOptions } from './types.ts';

function invalid(options: unknown): string {
  try {
    createBalancer(options as BalancerOptions).close();
  } catch (error) {
    expect(isPicketError(error, 'PICKET_INVALID_OPTIONS')).toBe(true);
    return (error as Error).message;
  }
  throw new Error('expected PICKET_INVALID_OPTIONS');
}

const STRATEGY_RULE =
  "must be one of 'round-robin', 'random', 'least-request', 'peak-ewma', 'weighted-response-time', " +
  "'ring-hash', 'maglev', 'weighted-round-robin', or a strategy factory";

describe('balancer options: each rule said one way', () => {
  it.each([
    [5, '5'],
    [{ create() {} }, '{}'],
    [{ name: 'x' }, '{"name":"x"}'],
    ['fastest', '"fastest"'],
  ])('refuses strategy %j with the strategy rule (not "Invalid input")', (strategy, shown) => {
    expect(invalid({ strategy })).toBe(
      `Invalid balancer options: \`strategy\` ${STRATEGY_RULE}, got ${shown}`,
    );
  });

  it.each([
    [{ panicThreshold: 'x' }, 'panicThreshold', '"x"'],
    [{ outlierDetection: { maxEjectionPercent: -1 } }, 'outlierDetection.maxEjectionPercent', '-1'],
    [{ slowStart: { windowMs: 1000, minWeightPercent: 101 } }, 'slowStart.minWeightPercent', '101'],
  ])('refuses percentage %j with the percent rule, whatever is wrong with it', (options, path, shown) => {
    // A percentage that was not a number said only "must be a number".
    expect(invalid(options)).toBe(
      `Invalid balancer options: \`${path}\` must be a percentage from 0 to 100, got ${shown}`,
    );
  });

  it('names what a zone may be (it said "Invalid input")', () => {
    expect(invalid({ zone: 5 })).toBe(
      'Invalid balancer options: `zone` must be a zone name or { local: zone name }, got 5',
    );
    expect(invalid({ zone: { local: '' } })).toBe(
      'Invalid balancer options: `zone.local` must not be empty, got ""',
    );
  });

  it('says a count that is not a number is a non-negative integer', () => {
    expect(invalid({ outlierDetection: { consecutiveFailures: 'x' } })).toBe(
      'Invalid balancer options: `outlierDetection.consecutiveFailures` must be a non-negative integer, got "x"',
    );
  });
});
