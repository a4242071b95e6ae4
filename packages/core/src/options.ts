// Parsing of options and records with zod, turning zod's issues into Picket errors that name the
// field and the value that was given.

import { z } from 'zod';
import { describeValue, type ErrorCode, PicketError } from './errors.ts';

type Issue = z.core.$ZodIssue;

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

/** `a, b or c`. */
function oneOf(words: readonly string[]): string {
  return words.length === 1 ? words[0]! : `${words.slice(0, -1).join(', ')} or ${words.at(-1)}`;
}

/**
 * What one issue of a field without a message of its own says was expected, in Picket's words
 * (`a number`, `null`, `"json"`), or undefined when zod does not say. A union's alternatives are
 * each branch's; a branch with a message of its own (`must be …`) gives what follows `must be`.
 */
function expected(issue: Issue): string[] | undefined {
  if (issue.message.startsWith('must be ')) return [issue.message.slice('must be '.length)];
  if (!issue.message.startsWith('Invalid')) return undefined;
  if (issue.code === 'invalid_type') {
    if (issue.expected === 'null' || issue.expected === 'undefined') return [issue.expected];
    return [`${/^[aeiou]/i.test(issue.expected) ? 'an' : 'a'} ${issue.expected}`];
  }
  if (issue.code === 'invalid_value') return issue.values.map((v) => describeValue(v));
  if (issue.code === 'invalid_union') {
    const out: string[] = [];
    for (const branch of issue.errors) {
      const words = branch.length === 1 && branch[0]!.path.length === 0 ? expected(branch[0]!) : undefined;
      if (words === undefined) return undefined;
      out.push(...words);
    }
    return out;
  }
  return undefined;
}

/** One line per issue: `` `retry.retries` expected a non-negative integer, got -1 ``. */
export function describeIssues(
  issues: readonly Issue[],
  input: unknown,
  prefix: readonly PropertyKey[] = [],
): string {
  return issues
    .map((issue) => {
      const path = [...prefix, ...issue.path];
      const where = path.length === 0 ? 'value' : `\`${formatPath(path)}\``;
      if (issue.code === 'unrecognized_keys') {
        return `${where} has unknown option${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `\`${k}\``).join(', ')}`;
      }
      const got = describeValue(valueAt(input, issue.path));
      // zod's own wording for a field without a message of its own, said the way Picket says it.
      const field = path.length === 0 ? '' : `${where} `;
      if (issue.code === 'invalid_type' && issue.message.startsWith('Invalid input')) {
        const kind = oneOf(expected(issue) ?? [issue.expected]);
        return path.length === 0 ? `expected ${kind}, got ${got}` : `${field}must be ${kind}, got ${got}`;
      }
      if (issue.code === 'invalid_value' || issue.code === 'invalid_union') {
        const alternatives = expected(issue);
        if (alternatives !== undefined) return `${field}must be ${oneOf(alternatives)}, got ${got}`;
      }
      if (
        issue.code === 'too_small' &&
        issue.message.startsWith('Too small') &&
        (issue.origin === 'string' || issue.origin === 'array') &&
        Number(issue.minimum) === 1
      ) {
        return `${field}must not be empty, got ${got}`;
      }
      return `${where} ${issue.message}, got ${got}`;
    })
    .join('; ');
}

/**
 * Parses `input` with `schema`, or throws a PicketError with `code` whose message starts with
 * `what` and names every wrong field and its value. `path` is where `input` sits in the options
 * the caller wrote: parsing `createClient`'s `health` with `['health']` names `health.interval`.
 */
export function parseWith<S extends z.ZodType>(
  schema: S,
  input: unknown,
  what: string,
  code: ErrorCode = 'PICKET_INVALID_OPTIONS',
  path: readonly PropertyKey[] = [],
): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw new PicketError(code, `${what}: ${describeIssues(result.error.issues, input, path)}`, {
    cause: result.error,
  });
}

/** The schema an `offOr()` field checks objects with, for code that walks schemas (doc checks). */
export const offOrInner = new WeakMap<z.ZodType, z.ZodType>();

/**
 * `false` or an object checked by `schema`. A plain union would report only "Invalid input" for
 * the whole object when a field has the wrong type; this reports the inner field's path and message.
 * Its input type is `false | z.input<schema>`, so option types derived from a schema read right.
 */
export function offOr<T extends z.ZodType>(schema: T): z.ZodType<false | z.output<T>, false | z.input<T>> {
  const field = z.unknown().transform((value, ctx): false | z.output<T> => {
    if (value === false) return false;
    const result = schema.safeParse(value);
    if (result.success) return result.data;
    // Each issue as it was (an unknown key stays one, so it is worded as one).
    for (const issue of result.error.issues) ctx.addIssue({ ...issue, path: issue.path as PropertyKey[] });
    return z.NEVER;
  });
  offOrInner.set(field, schema);
  return field as unknown as z.ZodType<false | z.output<T>, false | z.input<T>>;
}
