// Hedged requests: when no attempt has answered within the hedge delay (fixed, or the observed
// p95), the request sends another to an instance not tried yet. One Hedges object per hedged
// request, made only when hedging is on and the request is safe to send twice.

import { redactPath } from '../redact.ts';
import type { AttemptLog } from './attempt-log.ts';
import { type DispatchCore, OPEN, type PicketDispatchOptions } from './core.ts';

export interface HedgeTarget {
  readonly core: DispatchCore;
  readonly method: string;
  readonly opts: PicketDispatchOptions;
  /** No answer yet, and an attempt is still racing for it. */
  stillWaiting(): boolean;
  /** Adds the instances of the attempts racing now to `exclude`. */
  excludeRacing(exclude: Set<string>): void;
  logged(): AttemptLog;
  /** Picks and sends one attempt; true when one was sent. */
  launch(hedge: boolean, now: number): boolean;
}

/** The hedge delay now, ms, or -1 for none (hedging off, or p95 with too few samples yet). */
function hedgeDelay(core: DispatchCore): number {
  const hedge = core.config.hedge;
  if (hedge === false) return -1;
  return hedge.delayMs === 'p95' ? (core.latency?.p95() ?? -1) : hedge.delayMs;
}

function onTimer(hedges: Hedges): void {
  hedges.due();
}

export class Hedges {
  readonly #target: HedgeTarget;
  readonly #max: number;
  #sent = 0;
  #delayMs = -1;
  #timer: NodeJS.Timeout | undefined = undefined;

  constructor(target: HedgeTarget, max: number) {
    this.#target = target;
    this.#max = max;
  }

  /** Starts the clock for the next hedge, unless one is pending or none is left. */
  arm(): void {
    if (this.#sent >= this.#max || this.#timer !== undefined) return;
    const delay = hedgeDelay(this.#target.core);
    if (delay < 0) return;
    this.#delayMs = delay;
    this.#timer = setTimeout(onTimer, Math.max(1, Math.ceil(delay)), this);
    this.#timer.unref();
  }

  due(): void {
    this.#timer = undefined;
    if (!this.#send(this.#delayMs)) return;
    this.#sent++;
    this.arm();
  }

  /** Sends a hedge if the request still waits and the limits and budget allow; true when sent. */
  #send(delayMs: number): boolean {
    const target = this.#target;
    const core = target.core;
    if (!target.stillWaiting() || core.shutdown !== OPEN) return false;
    if (core.retriesInFlight >= core.config.limits.maxConcurrentRetries) return false;
    if (!core.budget.withdraw()) {
      core.metrics?.budgetExhausted();
      return false;
    }
    core.metrics?.hedge();
    target.excludeRacing(target.logged().exclude);
    const events = core.events;
    if (events.has('hedge'))
      events.emit('hedge', { method: target.method, path: redactPath(target.opts.path), delayMs });
    return target.launch(true, core.now());
  }

  clear(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
