// Capped exponential backoff with jitter, for providers and registrars retrying a failed source.
// Jitter keeps a fleet of clients from retrying a recovering registry in lockstep.

import { parseWith } from '@picket/core/internal';
import { z } from 'zod';
import { wholeMs } from './fields.ts';

export interface BackoffOptions {
  /** First delay, ms. Default 500. */
  initialMs?: number;
  /** Delays never exceed this, ms. Default 30000. */
  maxMs?: number;
  /** Growth per failed attempt. Default 2. */
  factor?: number;
}

export const backoffSchema = z.strictObject({
  initialMs: wholeMs(1, 3_600_000).default(500),
  maxMs: wholeMs(1, 3_600_000).default(30_000),
  factor: z.number().min(1).max(10).default(2),
});

export type ResolvedBackoffOptions = z.output<typeof backoffSchema>;

export interface Backoff {
  /** The delay before the next attempt, ms; each call counts one more failure. */
  next(): number;
  /** Call after a success: the next failure starts again from `initialMs`. */
  reset(): void;
  /** Failures since the last reset. */
  readonly attempts: number;
}

/**
 * "Equal jitter": a delay is half the capped exponential step plus a random share of the other
 * half, so it never collapses to ~0 (a hot loop against a dead registry) nor exceeds `maxMs`.
 */
export function backoff(options: BackoffOptions = {}, random: () => number = Math.random): Backoff {
  const opts = parseWith(backoffSchema, options, 'Invalid backoff options');
  return createBackoff(opts, random);
}

/** As `backoff`, for options already parsed by `backoffSchema`. */
export function createBackoff(opts: ResolvedBackoffOptions, random: () => number = Math.random): Backoff {
  let attempts = 0;
  return {
    next() {
      const step = Math.min(opts.maxMs, opts.initialMs * opts.factor ** Math.min(attempts, 64));
      attempts++;
      const half = step / 2;
      return Math.max(1, Math.round(half + random() * half));
    },
    reset() {
      attempts = 0;
    },
    get attempts() {
      return attempts;
    },
  };
}
