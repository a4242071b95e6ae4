// Capped exponential backoff with jitter, the one Picket uses wherever something is tried again
// (an HTTP retry, a discovery source, a registrar). Jitter keeps a fleet of clients from retrying
// a recovering server in lockstep.

import { durationError, isDuration } from './duration.ts';
import { describeValue, PicketError } from './errors.ts';
import { type RandomSource, randomUnit, unseededRandom } from './random.ts';

export interface BackoffOptions {
  /** The first step, ms. Default 500. */
  initialMs?: number;
  /** No step exceeds this, ms. Default 30000. */
  maxMs?: number;
  /** Growth per failed attempt, from 1 to 100. Default 2. */
  factor?: number;
}

export interface Backoff {
  /** The delay before the next attempt, ms; each call counts one more failure. */
  next(): number;
  /** Call after a success: the next failure starts again from `initialMs`. */
  reset(): void;
  /** Failures since the last reset. */
  readonly attempts: number;
}

const MAX_FACTOR = 100;
// Past this many doublings every step is at its cap anyway; bounding the exponent keeps the
// product finite (100 ** 64 is), so an initialMs of 0 never meets Infinity and turns NaN.
const MAX_EXPONENT = 64;

/**
 * The delay after `failures` failures (0 for the first retry), ms: "equal jitter", half the
 * capped exponential step plus a random share of the other half, so it never collapses to ~0
 * (a hot loop against a dead server) nor exceeds `maxMs`. Options as checked by `exponentialBackoff`.
 */
export function backoffDelay(
  failures: number,
  initialMs: number,
  maxMs: number,
  factor: number,
  random: RandomSource,
): number {
  const step = Math.min(maxMs, initialMs * factor ** Math.min(failures, MAX_EXPONENT));
  const half = step / 2;
  return Math.round(half + randomUnit(random) * half);
}

/**
 * A backoff that counts failures itself. `random` draws the jitter, in [0, 1): pass a seeded
 * source (`seededRandom`) for a reproducible sequence.
 */
export function exponentialBackoff(
  options: BackoffOptions = {},
  random: RandomSource = unseededRandom(),
): Backoff {
  const initialMs = options.initialMs ?? 500;
  const maxMs = options.maxMs ?? 30_000;
  const factor = options.factor ?? 2;
  if (!isDuration(initialMs)) throw durationError('exponentialBackoff', 'initialMs', initialMs);
  if (!isDuration(maxMs)) throw durationError('exponentialBackoff', 'maxMs', maxMs);
  if (!(typeof factor === 'number' && factor >= 1 && factor <= MAX_FACTOR)) {
    throw new PicketError(
      'PICKET_INVALID_OPTIONS',
      `exponentialBackoff: \`factor\` must be a number from 1 to ${MAX_FACTOR}, got ${describeValue(factor)}`,
      { details: { option: 'factor' } },
    );
  }
  if (typeof random !== 'function') {
    throw new PicketError(
      'PICKET_INVALID_OPTIONS',
      `exponentialBackoff: \`random\` must be a function returning numbers in [0, 1), got ${describeValue(random)}`,
      { details: { option: 'random' } },
    );
  }
  let attempts = 0;
  return {
    next: () => backoffDelay(attempts++, initialMs, maxMs, factor, random),
    reset() {
      attempts = 0;
    },
    get attempts() {
      return attempts;
    },
  };
}
