// Record-level helpers for the provider skeleton: cheap snapshot comparison, and a record's size
// check and cache key in one serialisation.

import type { Instance } from '@picket/core';

export function sameInstance(a: Instance, b: Instance): boolean {
  if (a === b) return true;
  if (a.id !== b.id || a.url !== b.url || a.zone !== b.zone || a.weight !== b.weight) return false;
  if (a.priority !== b.priority) return false;
  const ka = Object.keys(a.metadata);
  if (ka.length !== Object.keys(b.metadata).length) return false;
  return ka.length === 0 || JSON.stringify(a.metadata) === JSON.stringify(b.metadata);
}

export function sameList(a: readonly Instance[], b: readonly Instance[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!sameInstance(a[i]!, b[i]!)) return false;
  return true;
}

/** A record's size check, and its text as a cache key (undefined when it cannot be serialised). */
export function measure(
  record: unknown,
  max: number,
): { key: string | undefined; tooLarge: string | undefined } {
  if (typeof record === 'string') {
    const tooLarge =
      record.length > max ? `is ${record.length} characters, more than the ${max} allowed` : undefined;
    return { key: `s${record}`, tooLarge };
  }
  if (typeof record !== 'object' || record === null) return { key: undefined, tooLarge: undefined };
  let text: string | undefined;
  try {
    text = JSON.stringify(record);
  } catch {
    // A BigInt or a cycle: record validation refuses it, naming the field.
    return { key: undefined, tooLarge: undefined };
  }
  if (text === undefined) return { key: undefined, tooLarge: undefined };
  const tooLarge =
    text.length > max ? `is ${text.length} bytes as JSON, more than the ${max} allowed` : undefined;
  return { key: `o${text}`, tooLarge };
}
