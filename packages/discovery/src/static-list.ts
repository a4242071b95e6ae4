// `staticList(records)`: what a plain array of instances means. Records are options here, so an
// invalid one is rejected at once rather than skipped.

import { type Instance, type InstanceRecord, PicketError } from '@picket/core';
import { isInstance, toInstances } from '@picket/core/internal';
import { createProvider, type ProviderContext } from './base.ts';
import type { Provider } from './provider.ts';

export interface StaticListProvider extends Provider {
  /** Replaces the list (validated the same way) and publishes it. */
  set(records: readonly (InstanceRecord | Instance)[]): void;
}

type Cache = Map<string, Instance>;

function keyOf(record: unknown): string | undefined {
  if (typeof record === 'string') return `s:${record}`;
  if (record === null || typeof record !== 'object' || isInstance(record)) return undefined;
  try {
    return `o:${JSON.stringify(record)}`;
  } catch {
    return undefined;
  }
}

/**
 * Validates a list, reusing the Instance made for an identical record last time: `set()` with
 * 10,000 records that mostly stay then costs little, and the balancer sees the same objects.
 */
function validate(records: readonly unknown[], cache: Cache): { instances: Instance[]; cache: Cache } {
  if (!Array.isArray(records)) {
    throw new PicketError(
      'PICKET_INVALID_OPTIONS',
      `staticList expected an array of instance records, got ${typeof records}`,
    );
  }
  const keys = records.map(keyOf);
  const instances = toInstances(
    records.map((r, i) => (keys[i] === undefined ? r : (cache.get(keys[i]) ?? r))),
  );
  const next: Cache = new Map();
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    if (key !== undefined) next.set(key, instances[i] as Instance);
  }
  return { instances, cache: next };
}

/**
 * A provider with a fixed list. Throws `PICKET_INVALID_INSTANCE` naming the index of the first
 * invalid record, or of a repeated id.
 */
export function staticList(records: readonly (InstanceRecord | Instance)[]): StaticListProvider {
  let { instances, cache } = validate(records, new Map());
  let ctx: ProviderContext | undefined;
  const provider = createProvider({
    name: 'static',
    run(c) {
      ctx = c;
      c.publishInstances(instances);
    },
  });
  return Object.assign(provider, {
    set(next: readonly (InstanceRecord | Instance)[]) {
      ({ instances, cache } = validate(next, cache));
      ctx?.publishInstances(instances);
    },
  });
}
