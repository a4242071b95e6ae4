// The backoff options of providers and registrars retrying a failed source: parsed with the
// bounds a registry needs, then handed to Picket's one backoff (@picket/core's exponentialBackoff).

import type { Backoff, RandomSource } from '@picket/core';
import { type Agrees, exponentialBackoff, parseWith } from '@picket/core/internal';
import { z } from 'zod';
import { wholeMs } from './fields.ts';

export type { Backoff };

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
  factor: z
    .number({ error: 'must be a number from 1 to 10' })
    .min(1, { error: 'must be a number from 1 to 10' })
    .max(10, { error: 'must be a number from 1 to 10' })
    .default(2),
});

export type ResolvedBackoffOptions = z.output<typeof backoffSchema>;

/**
 * A capped exponential backoff with "equal jitter" (each delay between half the step and the
 * step). `random` draws the jitter in [0, 1); a seeded one makes the delays reproducible.
 */
export function backoff(options: BackoffOptions = {}, random?: RandomSource): Backoff {
  return createBackoff(parseWith(backoffSchema, options, 'Invalid backoff options'), random);
}

/** As `backoff`, for options already parsed by `backoffSchema`. */
export function createBackoff(opts: ResolvedBackoffOptions, random?: RandomSource): Backoff {
  return exponentialBackoff(opts, random);
}

// The documented options are the schema's input, field for field.
true satisfies Agrees<BackoffOptions, z.input<typeof backoffSchema>>;
