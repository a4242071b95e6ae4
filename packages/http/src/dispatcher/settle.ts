// How an attempt's end is told to everything that counts it: its pool's queue, the client's
// retries in flight, the pick (peak-EWMA, outlier detection), the breaker, the metrics and
// `picket:attempt:end`. Done once per attempt (attempt.ts guards it).

import type { ErrorKind, Instance, Outcome, PickHandle } from '@picket/core';
import type { Breaker } from '../breaker/breaker.ts';
import { type AttemptMessage, attemptEndChannel } from '../observe/channels.ts';
import type { InstancePool } from '../pool/pools.ts';
import type { DispatchCore } from './core.ts';

/** What an attempt holds that its end settles. */
export interface Settled {
  readonly pick: PickHandle;
  readonly instance: Instance;
  readonly startedAt: number;
  /** From its response headers, ms; -1 before them. */
  readonly latencyMs: number;
  readonly breaker: Breaker | null;
  readonly trial: boolean;
  readonly status: number;
  readonly errorType: string | undefined;
  readonly message: AttemptMessage | null;
  waitingIn: InstancePool | null;
  countedRetry: boolean;
}

/** A connection took the attempt (or it ended before one did): it no longer waits in the pool. */
export function leaveQueue(a: Settled): void {
  const slot = a.waitingIn;
  if (slot === null) return;
  a.waitingIn = null;
  slot.pending--;
}

/** Releases the pick and tells the breaker: failed, succeeded, or (undefined) neither. */
export function settle(
  core: DispatchCore,
  method: string,
  a: Settled,
  outcome: Outcome,
  failed: boolean | undefined,
): void {
  leaveQueue(a);
  if (a.countedRetry) {
    a.countedRetry = false;
    core.retriesInFlight--;
  }
  // When the outcome was known: the response headers, or the error.
  const at = a.startedAt + (outcome.latencyMs ?? 0);
  a.pick.release(outcome, core.sharesClock ? at : undefined);
  const breaker = a.breaker;
  if (breaker !== null) breaker.settle(failed, at, a.trial);
  if (outcome.neutral !== true) {
    const metrics = core.metrics;
    if (metrics !== null) {
      const seconds = (core.now() - a.startedAt) / 1000;
      metrics.attempt(a.instance, method, seconds, a.status, a.errorType);
    }
  }
  const message = a.message;
  if (message !== null) {
    message.outcome = outcome;
    attemptEndChannel.publish(message);
  }
}

/** How long `a` took, ms: to its response headers when it had them, else until `now`. */
export function elapsed(a: Settled, now: number): number {
  return a.latencyMs >= 0 ? a.latencyMs : now - a.startedAt;
}

/** A hedge that lost the race: it was at least this slow, which peak-EWMA should hear. */
export function lostOutcome(a: Settled, now: number): Outcome {
  return { ok: true, latencyMs: elapsed(a, now) };
}

/** An attempt that failed with an error of `kind` (after its headers, when `status` is set). */
export function failedOutcome(a: Settled, kind: ErrorKind, now: number): Outcome {
  const latencyMs = elapsed(a, now);
  return a.status > 0
    ? { ok: false, status: a.status, error: kind, latencyMs }
    : { ok: false, error: kind, latencyMs };
}
