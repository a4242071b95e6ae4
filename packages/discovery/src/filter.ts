// `filter(provider, predicate)`: the instances of a provider that pass a predicate, such as one
// built by `where()`. Failures and skipped records of the inner provider pass through.

import type { Instance } from '@picket/core';
import { PicketError } from '@picket/core';
import { createProvider } from './base.ts';
import type { Provider } from './provider.ts';

/** Which instances `filter()` keeps: true keeps one. `where()` builds the common ones. */
export type InstancePredicate = (instance: Instance) => boolean;

/** Owns `provider`: start() and close() reach it. A throwing predicate is reported; the last snapshot stays. */
export function filter(provider: Provider, predicate: InstancePredicate): Provider {
  if (typeof predicate !== 'function') {
    throw new PicketError(
      'PICKET_INVALID_OPTIONS',
      `filter expected a predicate function, got ${typeof predicate}`,
    );
  }
  return createProvider({
    name: `filter(${provider.name})`,
    limits: { maxRecords: 1_000_000, maxRecordBytes: 16 * 1024 * 1024 },
    lastError: () => provider.lastError(),
    run(ctx) {
      const apply = (instances: readonly Instance[]) => {
        let kept: Instance[];
        try {
          kept = instances.filter((instance) => predicate(instance) === true);
        } catch (error) {
          ctx.fail(error, 'the filter predicate threw');
          return;
        }
        ctx.publishInstances(kept);
      };
      const offs = [
        provider.on('snapshot', (e) => apply(e.instances)),
        provider.on('discovery-error', (e) => ctx.forwardError(e)),
        provider.on('invalid-record', (e) => ctx.reportInvalid(e.record, e.reason, e.provider)),
      ];
      ctx.onClose(async () => {
        for (const off of offs) off();
        await provider.close();
      });
      provider.start();
      const now = provider.current();
      if (now !== undefined) apply(now);
    },
  });
}
