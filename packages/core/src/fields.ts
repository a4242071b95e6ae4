// The zod fields every package's options (and the records they read) are built from, each rule
// with one wording: a percent is `must be a percentage from 0 to 100` wherever it appears, a share
// `must be a fraction from 0 to 1`, a count `must be a non-negative integer`. Durations follow the one rule in duration.ts.

import { z } from 'zod';
import { durationSchema, POSITIVE_DURATION } from './duration.ts';

/** Any duration option: milliseconds from 0 to 2³¹−1 (0 means "none" where an option says so). */
export const ms = durationSchema();

/** A duration that times something out or spaces something apart: from 1 ms to 2³¹−1. */
export const positiveMs = durationSchema(POSITIVE_DURATION);

const PERCENT = 'must be a percentage from 0 to 100';

/** A percentage: a number from 0 to 100. */
export const percent = z.number({ error: PERCENT }).min(0, { error: PERCENT }).max(100, { error: PERCENT });

const FRACTION = 'must be a fraction from 0 to 1';

/** A share of a whole (a jitter, a utilization): a number from 0 to 1. */
export const fraction = z.number({ error: FRACTION }).min(0, { error: FRACTION }).max(1, { error: FRACTION });

function integerRule(min: number): string {
  if (min === 0) return 'must be a non-negative integer';
  if (min === 1) return 'must be a positive integer';
  return `must be an integer of at least ${min}`;
}

/**
 * A whole number from `min` (`must be a positive integer` for 1), and at most `max` when given
 * (`must be at most 100`).
 */
export function integer(min: 0 | 1 | number, max?: number) {
  const error = integerRule(min);
  const field = z.number({ error }).int({ error }).min(min, { error });
  return max === undefined ? field : field.max(max, { error: `must be at most ${max}` });
}

const PORT = 'must be between 1 and 65535';

/** A TCP port: a whole number from 1 to 65535 (the wording instance records use too). */
export const port = z
  .number({ error: PORT })
  .int({ error: PORT })
  .min(1, { error: PORT })
  .max(65535, { error: PORT });

/** Any Uint8Array, a Buffer included (`z.instanceof(Uint8Array)` types only an ArrayBuffer's). */
export const bytes = z.custom<Uint8Array>((v) => v instanceof Uint8Array, { error: 'must be a Buffer' });

/** A number greater than 0 (a factor, an exponent). */
export const positiveNumber = z.number({ error: 'must be a number' }).positive({ error: 'must be positive' });

/** A number of 0 or more (a rate, a utilization). */
export const nonNegativeNumber = z
  .number({ error: 'must be a non-negative number' })
  .min(0, { error: 'must be a non-negative number' });

/** A string with at least one character (a name, a zone, a source). */
export const nonEmptyString = z.string({ error: 'must be a string' }).min(1, { error: 'must not be empty' });

/** A function option (a clock, a random source, a factory), its type given by the caller. */
export function fn<T>(error = 'must be a function') {
  return z.custom<T>((v) => typeof v === 'function', { error });
}

/**
 * `true` when a documented options interface and a schema's input type agree: the same keys, and
 * each assignable to the other. The interfaces carry the JSDoc editors show (a type derived with
 * `z.input` loses it in the emitted `.d.ts`); this keeps them from drifting from the schema:
 * `const _: Agrees<HealthOptions, z.input<typeof schema>> = true`.
 */
export type Agrees<Documented, Input> = [Documented] extends [Input]
  ? [Input] extends [Documented]
    ? [Exclude<keyof Documented, keyof Input> | Exclude<keyof Input, keyof Documented>] extends [never]
      ? true
      : false
    : false
  : false;
