// `staticList(records)`: what a plain array of instances means. Records are options here, so an
// invalid one is rejected at once rather than skipped.

import { type Instance, type InstanceRecord, PicketError, toInstances } from '@picket/core';
import { createProvider, type ProviderContext } from './base.ts';
import type { Provider } from './provider.ts';

export interface StaticListProvider extends Provider {
  /** Replaces the list (validated the same way) and publishes it. */
  set(records: readonly (InstanceRecord | Instance)[]): void;
}

function validate(records: readonly unknown[]): Instance[] {
  if (!Array.isArray(records)) {
    throw new PicketError(
      'PICKET_INVALID_OPTIONS',
      `staticList expected an array of instance records, got ${typeof records}`,
    );
  }
  return toInstances(records);
}

/**
 * A provider with a fixed list. Throws `PICKET_INVALID_INSTANCE` naming the index of the first
 * invalid record, or of a repeated id.
 */
export function staticList(records: readonly (InstanceRecord | Instance)[]): StaticListProvider {
  let instances = validate(records);
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
      instances = validate(next);
      ctx?.publishInstances(instances);
    },
  });
}
