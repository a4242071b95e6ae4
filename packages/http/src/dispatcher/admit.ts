// Admission of a request's next attempt: pick an instance (avoiding those tried, for a retry or
// a hedge), ask its breaker, check its pool's queue, and make the attempt. An instance refused
// by its breaker or a full queue is logged and passed over for another pick.

import { type Instance, NEUTRAL, type Outcome, type PickHandle } from '@picket/core';
import type { Breaker } from '../breaker/breaker.ts';
import { Attempt, type AttemptOwner } from './attempt.ts';
import { type AttemptLog, pickAgain } from './attempt-log.ts';

const BREAKER_REFUSED: Outcome = Object.freeze({ ok: false, error: 'other' });
/** Instances passed over before a request gives up on finding one. */
const MAX_TURNS = 1024;

/** The request an attempt is admitted for. */
export interface Admitting extends AttemptOwner {
  /** Null until the request needs more than one attempt. */
  readonly log: AttemptLog | null;
  logged(): AttemptLog;
  /** The instance the next round must go to again (`sameInstance`), taken once; else null. */
  takeTarget(): Instance | null;
  /** The balancer had no instance to give (or is closed): `error` is its reason. */
  pickFailed(error: unknown, hedge: boolean): void;
  /** Every instance picked was refused: MAX_TURNS turns without an attempt. */
  refusedEverywhere(): void;
}

/** The next attempt, not yet dispatched (it waits in `waitingIn`'s count once sent), or null. */
export function admit(request: Admitting, hedge: boolean, now: number): Attempt | null {
  const core = request.core;
  const breakers = core.breakers;
  // Each turn either makes an attempt or rules out one more instance refused by its breaker.
  for (let turn = 0; turn < MAX_TURNS; turn++) {
    let pick: PickHandle;
    try {
      const log = request.log;
      const key = request.opts.hashKey;
      if (log === null) {
        pick = core.balancer.pick(
          key === undefined ? undefined : { key },
          core.sharesClock ? now : undefined,
        );
      } else {
        pick = pickAgain(core.balancer, key, log, request.takeTarget(), hedge);
      }
    } catch (error) {
      request.pickFailed(error, hedge);
      return null;
    }
    const instance = pick.instance;
    let breaker: Breaker | undefined;
    if (breakers !== undefined) {
      breaker = breakers.admit(instance, now);
      if (breaker === undefined) {
        pick.release(BREAKER_REFUSED);
        request.logged().refuse(instance, hedge);
        continue;
      }
    }
    const slot = core.pools.slot(instance);
    const maxPending = core.config.limits.maxPendingPerInstance;
    if (slot.pending >= maxPending) {
      // Its pool's queue is full: pass it over for another instance.
      pick.release(NEUTRAL);
      breaker?.settle(undefined, now, breaker.isTrial());
      request.logged().refuse(instance, hedge, 'overloaded');
      request.log!.overloaded = maxPending;
      continue;
    }
    const attempt = new Attempt(request, pick, hedge, now);
    if (breaker !== undefined) {
      attempt.breaker = breaker;
      attempt.trial = breaker.isTrial();
    }
    attempt.waitingIn = slot;
    attempt.slot = slot;
    return attempt;
  }
  request.refusedEverywhere();
  return null;
}
