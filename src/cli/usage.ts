// Command-line argument handling shared by the commands: node:util parseArgs with strict checking,
// and one error type for bad arguments (exit code 2) whose message names the argument.

import { type ParseArgsConfig, parseArgs } from 'node:util';
import { type DurationRange, durationRule, isDuration, messageOf } from '@picket/core/internal';

/** A bad argument. The CLI prints the message and the command's usage line, and exits with 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

type Options = NonNullable<ParseArgsConfig['options']>;

export interface Parsed {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/** parseArgs, with Node's own complaints (`Unknown option '--x'`) turned into UsageErrors. */
export function parse(args: readonly string[], options: Options, positionals = true): Parsed {
  try {
    const { values, positionals: rest } = parseArgs({
      args: [...args],
      options,
      strict: true,
      allowPositionals: positionals,
    });
    return { values: values as Parsed['values'], positionals: rest };
  } catch (error) {
    const message = messageOf(error);
    // parseArgs explains how to pass a value starting with `-`; that is noise here.
    throw new UsageError(message.replace(/\.?\s*To specify (an option|a positional) argument.*$/s, ''));
  }
}

/** The number a flag's value spells out in decimal digits only (surrounding spaces aside), else NaN. */
export function wholeNumber(value: string | boolean | undefined): number {
  const text = String(value).trim();
  return /^\d+$/.test(text) ? Number(text) : Number.NaN;
}

const FLAG_MS: DurationRange = { min: 1, integer: true };

/** A duration flag (`--timeout 2000`): Picket's duration rule, in positive whole milliseconds. */
export function milliseconds(name: string, value: string | boolean | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = wholeNumber(value);
  if (!isDuration(n, FLAG_MS)) {
    throw new UsageError(`\`--${name}\` ${durationRule(FLAG_MS)}, got ${JSON.stringify(value)}`);
  }
  return n;
}

/** A required string option. */
export function required(name: string, value: string | boolean | undefined, example: string): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new UsageError(`\`--${name}\` is required (for example \`--${name} ${example}\`)`);
  }
  return value.trim();
}
