// One instance's circuit breaker: a state machine (closed, open until its reset timer fires,
// half-open with at most one trial out) over a rolling window of counts. Picket's own rather than
// opossum's: an attempt is not a promise-returning action, and running each one through
// opossum's fire() cost ~480 ns more per attempt and ~6.4 KB more per instance, with two
// interval timers each under its defaults (bench/breaker-cost.ts; figures in the README).
//
// The open rule is opossum's and Hystrix's: once `volumeThreshold` attempts are in the window,
// failures above `errorThresholdPercentage` of them open it. A half-open breaker is decided by
// its trial alone. As Hystrix does (opossum does not), a breaker that closes after a good trial
// starts with an empty window, so the failures that opened it cannot open it again at once.

import type { Instance } from '@picket/core';
import type { BreakerConfig } from '../config.ts';
import type { BreakerState } from '../contracts.ts';
import { RollingCounts } from '../rolling.ts';

/** What a breaker tells the one that owns it. Called synchronously, from admit, settle or a timer. */
export interface BreakerOwner {
  /** `breaker` moved to `state`. */
  changed(breaker: Breaker, state: BreakerState): void;
  /** Half-open: the trial went out (true), or ended without a verdict and must be run again (false). */
  trial(breaker: Breaker, out: boolean): void;
}

export interface BreakerCounts {
  state: BreakerState;
  fires: number;
  failures: number;
  successes: number;
  rejects: number;
}

type State =
  | { readonly kind: 'closed' }
  | { readonly kind: 'open'; readonly timer: ReturnType<typeof setTimeout> }
  | { readonly kind: 'half-open'; trialOut: boolean }
  | { readonly kind: 'shut' };

const CLOSED: State = Object.freeze({ kind: 'closed' });
const SHUT: State = Object.freeze({ kind: 'shut' });

// The series of the rolling window.
const FIRES = 0;
const FAILURES = 1;
const SUCCESSES = 2;
const REJECTS = 3;

export class Breaker {
  readonly instance: Instance;
  readonly #config: BreakerConfig;
  readonly #owner: BreakerOwner;
  readonly #counts: RollingCounts;
  #state: State = CLOSED;

  /** `now`: a clock reading, ms, on the clock later readings come from. */
  constructor(instance: Instance, config: BreakerConfig, now: number, owner: BreakerOwner) {
    this.instance = instance;
    this.#config = config;
    this.#owner = owner;
    this.#counts = new RollingCounts(4, config.buckets, config.windowMs, now);
  }

  get state(): BreakerState {
    const kind = this.#state.kind;
    return kind === 'shut' ? 'closed' : kind;
  }

  /** Shut down: it admits nothing and hears nothing more. */
  get isShutdown(): boolean {
    return this.#state === SHUT;
  }

  /**
   * Whether an attempt at `now` may go: yes when closed, and once when half-open (that attempt is
   * the trial, and `isTrial` says so until it settles); a refusal is counted as a reject.
   */
  admit(now: number): boolean {
    const state = this.#state;
    if (state !== CLOSED) {
      if (state.kind !== 'half-open' || state.trialOut) {
        if (state !== SHUT) this.#counts.add(REJECTS, now);
        return false;
      }
      state.trialOut = true;
      this.#owner.trial(this, true);
    }
    this.#counts.add(FIRES, now);
    return true;
  }

  /** Whether an attempt admitted just now is the half-open trial. */
  isTrial(): boolean {
    return this.#state.kind === 'half-open';
  }

  /**
   * How an admitted attempt ended: failed (5xx, transport error), succeeded, or neither
   * (undefined: cancelled, no verdict). `trial`: it was admitted as the half-open trial. Only
   * the trial decides a half-open breaker; an attempt admitted before the breaker opened that
   * ends late is counted, never taken for the verdict.
   */
  settle(failed: boolean | undefined, now: number, trial: boolean): void {
    const state = this.#state;
    if (state === SHUT) return;
    const deciding = trial && state.kind === 'half-open';
    if (deciding) state.trialOut = false;
    if (failed === undefined) {
      if (deciding) this.#owner.trial(this, false);
      return;
    }
    const counts = this.#counts;
    if (!failed) {
      counts.add(SUCCESSES, now);
      if (deciding) this.#close();
      return;
    }
    counts.add(FAILURES, now);
    if (deciding) {
      this.#open();
      return;
    }
    if (state !== CLOSED) return;
    const fires = counts.sum(FIRES, now);
    if (fires < this.#config.volumeThreshold) return;
    if ((counts.sum(FAILURES, now) / fires) * 100 > this.#config.errorThresholdPercentage) this.#open();
  }

  #open(): void {
    const timer = setTimeout(() => this.#halfOpen(), this.#config.resetTimeoutMs);
    timer.unref();
    this.#state = { kind: 'open', timer };
    this.#owner.changed(this, 'open');
  }

  #halfOpen(): void {
    if (this.#state.kind !== 'open') return;
    this.#state = { kind: 'half-open', trialOut: false };
    this.#owner.changed(this, 'half-open');
  }

  #close(): void {
    this.#state = CLOSED;
    this.#counts.reset();
    this.#owner.changed(this, 'closed');
  }

  /** The state and the counts over the window ending at `now`. */
  counts(now: number): BreakerCounts {
    const counts = this.#counts;
    return {
      state: this.state,
      fires: counts.sum(FIRES, now),
      failures: counts.sum(FAILURES, now),
      successes: counts.sum(SUCCESSES, now),
      rejects: counts.sum(REJECTS, now),
    };
  }

  /** Stops the reset timer; the breaker admits nothing more. Idempotent. */
  shutdown(): void {
    const state = this.#state;
    if (state.kind === 'open') clearTimeout(state.timer);
    this.#state = SHUT;
  }
}
