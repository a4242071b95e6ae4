// `merge(...providers)`: one provider whose snapshot is the union of its members' latest ones, so
// that a service found in two places (two DNS names, a file plus etcd) is balanced as one.

import { type Instance, PicketError } from '@picket/core';
import { describeValue } from '@picket/core/internal';
import { createProvider } from './base.ts';
import type { Provider } from './provider.ts';

/**
 * Publishes as soon as any member has a snapshot, combining the latest of each (in argument
 * order). A failing member keeps contributing its last good snapshot. Ids repeated across
 * members are reported and the later copy skipped. Owns its members: start() and close() reach
 * them.
 */
export function merge(...providers: Provider[]): Provider {
  const members = providers;
  if (
    members.length === 0 ||
    members.some((m) => typeof m?.start !== 'function' || typeof m.on !== 'function')
  ) {
    throw new PicketError(
      'PICKET_INVALID_OPTIONS',
      `merge expected one or more providers as arguments, got ${describeValue(providers)}`,
    );
  }
  const name = `merge(${members.map((p) => p.name).join(', ')})`;
  return createProvider({
    name,
    // Members bound their own answers; the union may legitimately exceed one member's bound.
    limits: { maxRecords: 1_000_000, maxRecordBytes: 16 * 1024 * 1024 },
    lastError: () => {
      for (const member of members) {
        const error = member.lastError();
        if (error !== undefined) return error;
      }
      return undefined;
    },
    run(ctx) {
      const combine = () => {
        let any = false;
        const all: Instance[] = [];
        for (const member of members) {
          const list = member.current();
          if (list === undefined) continue;
          any = true;
          for (const instance of list) all.push(instance);
        }
        if (any) ctx.publishInstances(all);
      };
      const offs = members.flatMap((member) => [
        member.on('snapshot', combine),
        member.on('discovery-error', (e) => ctx.forwardError(e)),
        member.on('invalid-record', (e) => ctx.reportInvalid(e.record, e.reason, e.provider)),
      ]);
      ctx.onClose(async () => {
        for (const off of offs) off();
        await Promise.all(members.map((member) => member.close()));
      });
      for (const member of members) member.start();
      combine();
    },
  });
}
