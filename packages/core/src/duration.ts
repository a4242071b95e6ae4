// The one rule for every duration in Picket (options, per-request values, CLI flags): a finite
// number of milliseconds from 0 to 2³¹−1. Node turns a longer timer delay into 1 ms (with a
// TimeoutOverflowWarning), so a typo such as `timeout: 3e9` would otherwise fire at once, forever.

import { z } from 'zod';
import { describeValue, PicketError } from './errors.ts';

/** The longest delay a Node timer holds: 2³¹−1 ms, about 24.8 days. */
export const MAX_DURATION_MS = 2_147_483_647;

/** Bounds narrower than the rule's own, where an option needs them (a positive timeout). */
export interface DurationRange {
  /** Smallest value accepted, ms. Default 0. */
  readonly min?: number;
  /** Largest value accepted, ms. Default, and at most, MAX_DURATION_MS. */
  readonly max?: number;
  /** Whole milliseconds only, where the value reaches an API that takes integers. Default false. */
  readonly integer?: boolean;
}

const FULL: DurationRange = {};

/**
 * The range of a duration that times something out or spaces something apart, where 0 would
 * mean "at once, always" (Node runs a timer of less than 1 ms after 1 ms anyway).
 */
export const POSITIVE_DURATION: DurationRange = Object.freeze({ min: 1 });

function bounds(range: DurationRange): [min: number, max: number] {
  return [range.min ?? 0, Math.min(range.max ?? MAX_DURATION_MS, MAX_DURATION_MS)];
}

/**
 * True for a number of milliseconds within `range`: finite, from 0 to MAX_DURATION_MS unless
 * narrowed. Allocation-free, for checks on the request path.
 */
export function isDuration(value: unknown, range: DurationRange = FULL): value is number {
  if (typeof value !== 'number') return false;
  const min = range.min ?? 0;
  const max = range.max ?? MAX_DURATION_MS;
  // NaN fails both comparisons; ±Infinity fails one.
  if (!(value >= min && value <= max && value <= MAX_DURATION_MS)) return false;
  return range.integer !== true || Number.isInteger(value);
}

/** The rule as error messages say it: `must be a number of milliseconds from 0 to 2147483647`. */
export function durationRule(range: DurationRange = FULL): string {
  const [min, max] = bounds(range);
  return `must be a ${range.integer === true ? 'whole ' : ''}number of milliseconds from ${min} to ${max}`;
}

/** The zod field for a duration option, with the rule's message. */
export function durationSchema(range: DurationRange = FULL): z.ZodNumber {
  const [min, max] = bounds(range);
  const error = durationRule(range);
  const field = z.number({ error }).min(min, { error }).max(max, { error });
  return range.integer === true ? field.int({ error }) : field;
}

/**
 * The typed error for a duration given outside the schemas (a per-request value, an argument):
 * `` `<what>: `timeout` must be a number of milliseconds from 1 to 2147483647, got 3000000000` ``.
 */
export function durationError(
  what: string,
  path: string,
  value: unknown,
  range: DurationRange = FULL,
): PicketError {
  return new PicketError(
    'PICKET_INVALID_OPTIONS',
    `${what}: \`${path}\` ${durationRule(range)}, got ${describeValue(value)}`,
    {
      details: { option: path },
    },
  );
}
