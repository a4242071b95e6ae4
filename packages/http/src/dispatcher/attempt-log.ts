// What a request remembers once it needs more than one attempt: the attempts made (for the
// final error and events), the instances to keep away from, and how to pick with them excluded.
// Made on the first failure, hedge or breaker refusal, so a request that succeeds at once never
// allocates one.

import { type Balancer, type Instance, isPicketError, type PicketError, type PickHandle } from '@picket/core';
import type { AttemptRecord } from '../contracts.ts';
import { attemptsExhaustedError, noAvailableError } from '../errors.ts';
import type { Attempt } from './attempt.ts';
import { elapsed } from './settle.ts';

export class AttemptLog {
  readonly records: AttemptRecord[] = [];
  /** Instances tried, racing or refused: the next pick avoids them while others remain. */
  readonly exclude = new Set<string>();
  /** Instances whose breaker refused: avoided even when every other instance was tried. */
  refused: Set<string> | null = null;
  /** Set when an instance was passed over for its full queue: the cap, for PICKET_OVERLOADED. */
  overloaded = 0;

  push(record: AttemptRecord): AttemptRecord {
    if (record.hedge !== true) delete record.hedge;
    this.records.push(record);
    return record;
  }

  /** Records a failed attempt and keeps later picks away from its instance. */
  failed(a: Attempt, now: number, error: string | undefined, code: string | undefined): AttemptRecord {
    const record: AttemptRecord = {
      instance: a.instance.id,
      url: a.instance.url,
      latencyMs: Math.round(elapsed(a, now)),
    };
    if (a.status > 0) record.status = a.status;
    if (error !== undefined) record.error = error;
    if (code !== undefined) record.code = code;
    if (a.hedge) record.hedge = true;
    this.exclude.add(a.instance.id);
    return this.push(record);
  }

  /** `instance` was passed over: its breaker is open, or its pool's queue is full (`overloaded`). */
  refuse(instance: Instance, hedge: boolean, why: 'breaker-open' | 'overloaded' = 'breaker-open'): void {
    this.push({ instance: instance.id, url: instance.url, error: why, hedge });
    this.exclude.add(instance.id);
    this.refused ??= new Set();
    this.refused.add(instance.id);
  }

  /** The error for a request that gets no further attempt. */
  exhausted(service: string, method: string, path: string, reason: string, cause: unknown): PicketError {
    const records = this.records;
    if (records.every((r) => r.error === 'breaker-open')) return noAvailableError(service, records, cause);
    return attemptsExhaustedError(service, method, path, records, reason, cause);
  }
}

/**
 * Picks for a retry or hedge. `target` asks for the same instance again (`sameInstance`);
 * otherwise instances in the log are avoided, and when every other instance was tried a retry
 * (not a hedge: it must race a different instance) falls back to any instance, as Ribbon does.
 */
export function pickAgain(
  balancer: Balancer,
  key: string | number | undefined,
  log: AttemptLog,
  target: Instance | null,
  hedge: boolean,
): PickHandle {
  if (target !== null) {
    const others = new Set<string>();
    for (const i of balancer.instances()) if (i.id !== target.id) others.add(i.id);
    try {
      return balancer.pick({ key, exclude: others });
    } catch {
      // No longer pickable: move on to another instance.
    }
  }
  try {
    return balancer.pick({ key, exclude: log.exclude });
  } catch (error) {
    if (hedge || !isPicketError(error, 'PICKET_NO_AVAILABLE_INSTANCE')) throw error;
    return balancer.pick(log.refused === null ? { key } : { key, exclude: log.refused });
  }
}
