import { describe, expect, it } from 'vitest';
import {
  durationError,
  durationRule,
  durationSchema,
  isDuration,
  MAX_DURATION_MS,
  POSITIVE_DURATION,
} from './duration.ts';
import { isPicketError } from './errors.ts';
import { parseWith } from './options.ts';

const NOT_DURATIONS: unknown[] = [3e9, 2 ** 31, Infinity, -Infinity, NaN, -1, '5000', null, 5n, [1000]];

describe('the duration rule', () => {
  it('is a finite number of milliseconds from 0 to 2147483647, the longest a Node timer holds', () => {
    expect(MAX_DURATION_MS).toBe(2 ** 31 - 1);
    for (const ok of [0, 0.5, 1, 1000, MAX_DURATION_MS]) expect(isDuration(ok)).toBe(true);
    for (const bad of NOT_DURATIONS) expect(isDuration(bad)).toBe(false);
    expect(durationRule()).toBe('must be a number of milliseconds from 0 to 2147483647');
  });

  it('narrows to a range, never widens past the timer limit', () => {
    expect(isDuration(0, POSITIVE_DURATION)).toBe(false);
    expect(isDuration(1, POSITIVE_DURATION)).toBe(true);
    expect(isDuration(MAX_DURATION_MS + 1, { max: 2 ** 40 })).toBe(false);
    expect(durationRule({ min: 100, max: 2 ** 40 })).toBe(
      'must be a number of milliseconds from 100 to 2147483647',
    );
    expect(isDuration(1.5, { integer: true })).toBe(false);
    expect(durationRule({ min: 1, max: 60_000, integer: true })).toBe(
      'must be a whole number of milliseconds from 1 to 60000',
    );
  });

  it('as a schema, names the option and the value it got, NaN and Infinity as themselves', () => {
    const schema = durationSchema(POSITIVE_DURATION);
    for (const bad of NOT_DURATIONS) {
      let message = '';
      try {
        parseWith(schema, bad, 'Invalid test options');
      } catch (error) {
        expect(isPicketError(error, 'PICKET_INVALID_OPTIONS')).toBe(true);
        message = (error as Error).message;
      }
      expect(message).toMatch(
        /^Invalid test options: value must be a number of milliseconds from 1 to 2147483647, got /,
      );
    }
    expect(() => parseWith(schema, Infinity, 'x')).toThrow(/got Infinity$/);
    expect(() => parseWith(schema, NaN, 'x')).toThrow(/got NaN$/);
    expect(() => parseWith(schema, 3e9, 'x')).toThrow(/got 3000000000$/);
    expect(parseWith(schema, MAX_DURATION_MS, 'x')).toBe(MAX_DURATION_MS);
  });

  it('as an error for a value checked by hand, is PICKET_INVALID_OPTIONS naming the path', () => {
    const error = durationError('Invalid request options', 'timeout', '5000', POSITIVE_DURATION);
    expect(isPicketError(error, 'PICKET_INVALID_OPTIONS')).toBe(true);
    expect(error.message).toBe(
      'Invalid request options: `timeout` must be a number of milliseconds from 1 to 2147483647, got "5000"',
    );
    expect(error.details).toEqual({ option: 'timeout' });
  });
});
