// One opossum circuit breaker per instance, made on first use. Breaker state is mirrored into
// the balancer under the health source 'breaker', so an open breaker makes its instance
// unpickable (Ribbon's availability filter) instead of failing requests routed to it. All
// breakers share one bucket-rotation controller and keep no snapshot timers.
//
// opossum keeps each breaker's state machine (closed, open, half-open), its reset timer and
// its events; attempts never run through `fire()`, which costs promises and closures per
// request, and an attempt is not a promise-returning action. The counts the open rule reads
// are kept here in a rolling window of the same size (rolling.ts), moved by the clock readings
// the request already has: counting through opossum's events cost several listener calls and
// a latency array push per attempt. The open rule is opossum's own (`fail()` in its circuit.js):
// once `volumeThreshold` attempts are in the window, failures above `errorThresholdPercentage`
// open it; any failure while half-open does. Unlike opossum, and as Hystrix does, a breaker
// that closes after a good trial starts with an empty window, so the failures that opened it
// cannot open it again on the next error.

import { EventEmitter } from 'node:events';
import type { Balancer, Instance } from '@picket/core';
import CircuitBreaker from 'opossum';
import type { BreakerConfig } from '../config.ts';
import type { BreakerState } from '../contracts.ts';
import { RollingCounts } from '../rolling.ts';

// opossum requires an action; attempts never run through it.
function unused(): Promise<void> {
  return Promise.resolve();
}

// The series of a breaker's rolling window.
const FIRES = 0;
const FAILURES = 1;
const SUCCESSES = 2;
const REJECTS = 3;

/** One instance's breaker, its counts, and the half-open trial bookkeeping. */
export class BreakerEntry {
  readonly breaker: CircuitBreaker;
  readonly instance: Instance;
  readonly counts: RollingCounts;
  /** Half-open, and the one trial attempt is out. */
  trialOut = false;

  constructor(breaker: CircuitBreaker, instance: Instance, counts: RollingCounts) {
    this.breaker = breaker;
    this.instance = instance;
    this.counts = counts;
  }
}

export interface BreakerSnapshot {
  state: BreakerState;
  fires: number;
  failures: number;
  successes: number;
  rejects: number;
}

type Emit = (instance: Instance, state: BreakerState) => void;

export class BreakerRegistry {
  readonly #config: BreakerConfig;
  readonly #balancer: Balancer;
  readonly #emit: Emit;
  readonly #entries = new Map<string, BreakerEntry>();
  // The bucket-rotation controller every opossum breaker shares, so that none starts an interval
  // of its own. It never fires: opossum's windows are not read (the counts are ours), so there
  // is nothing to rotate.
  readonly #rotate = new EventEmitter();
  #closed = false;

  constructor(config: BreakerConfig, balancer: Balancer, emit: Emit) {
    this.#config = config;
    this.#balancer = balancer;
    this.#emit = emit;
    this.#rotate.setMaxListeners(0);
  }

  /**
   * Admits an attempt to `instance` at `now` (ms, the client's clock) and counts it: the breaker
   * when it is closed, or half-open with its trial not yet out (this attempt becomes the
   * trial); undefined when it refuses.
   */
  admit(instance: Instance, now: number): BreakerEntry | undefined {
    let entry = this.#entries.get(instance.id);
    if (entry === undefined) {
      if (this.#closed) return undefined;
      entry = this.#create(instance, now);
    }
    const breaker = entry.breaker;
    if (!breaker.closed) {
      if (!breaker.halfOpen || entry.trialOut) {
        entry.counts.add(REJECTS, now);
        return undefined;
      }
      entry.trialOut = true;
      // Keep every other request off the instance until the trial settles.
      this.#balancer.setHealth(instance.id, 'unhealthy', 'breaker half-open: trial in flight', 'breaker');
    }
    entry.counts.add(FIRES, now);
    return entry;
  }

  /**
   * Records how an admitted attempt ended: failed (5xx, transport error), succeeded, or neither
   * (undefined). `now` is a clock reading from the attempt, ms. `trial`: the attempt was admitted
   * as the half-open trial (`isTrial` when it was admitted). Only the trial's outcome decides a
   * half-open breaker: an attempt admitted before the breaker opened that ends late is counted,
   * never taken for the verdict.
   */
  settle(entry: BreakerEntry, failed: boolean | undefined, now: number, trial: boolean): void {
    const breaker = entry.breaker;
    if (breaker.isShutdown) return;
    if (trial) entry.trialOut = false;
    const deciding = trial && breaker.halfOpen;
    if (failed === undefined) {
      // Cancelled (a lost hedge, the caller's abort): no verdict. A trial must be re-run.
      if (deciding) this.#balancer.setHealth(entry.instance.id, 'healthy', 'breaker half-open', 'breaker');
      return;
    }
    const counts = entry.counts;
    if (!failed) {
      counts.add(SUCCESSES, now);
      if (deciding) breaker.close();
      return;
    }
    counts.add(FAILURES, now);
    if (deciding) {
      breaker.open();
      return;
    }
    if (!breaker.closed) return;
    const fires = counts.sum(FIRES, now);
    if (fires < breaker.volumeThreshold) return;
    if ((counts.sum(FAILURES, now) / fires) * 100 > this.#config.errorThresholdPercentage) breaker.open();
  }

  /** Whether `entry`, just returned by `admit`, admitted its attempt as the half-open trial. */
  isTrial(entry: BreakerEntry): boolean {
    return !entry.breaker.closed;
  }

  #create(instance: Instance, now: number): BreakerEntry {
    const c = this.#config;
    const breaker = new CircuitBreaker(unused, {
      name: instance.id,
      timeout: false,
      errorThresholdPercentage: c.errorThresholdPercentage,
      volumeThreshold: c.volumeThreshold,
      resetTimeout: c.resetTimeoutMs,
      rollingCountTimeout: c.windowMs,
      rollingCountBuckets: c.buckets,
      rollingPercentilesEnabled: false,
      enableSnapshots: false,
      rotateBucketController: this.#rotate,
    });
    const entry = new BreakerEntry(breaker, instance, new RollingCounts(4, c.buckets, c.windowMs, now));
    const id = instance.id;
    breaker.on('open', () => {
      this.#balancer.setHealth(id, 'unhealthy', 'breaker open', 'breaker');
      this.#emit(instance, 'open');
    });
    breaker.on('halfOpen', () => {
      // Pickable again so that one request can be the trial.
      entry.trialOut = false;
      this.#balancer.setHealth(id, 'healthy', 'breaker half-open', 'breaker');
      this.#emit(instance, 'half-open');
    });
    breaker.on('close', () => {
      entry.counts.reset();
      this.#balancer.setHealth(id, 'healthy', 'breaker closed', 'breaker');
      this.#emit(instance, 'closed');
    });
    this.#entries.set(id, entry);
    return entry;
  }

  /** Shuts down the breaker of an instance that left. */
  remove(id: string): void {
    const entry = this.#entries.get(id);
    if (entry === undefined) return;
    this.#entries.delete(id);
    entry.breaker.shutdown();
  }

  state(id: string): BreakerState | undefined {
    const b = this.#entries.get(id)?.breaker;
    if (b === undefined) return undefined;
    return b.opened ? 'open' : b.halfOpen ? 'half-open' : 'closed';
  }

  snapshot(id: string, now: number): BreakerSnapshot | undefined {
    const entry = this.#entries.get(id);
    if (entry === undefined) return undefined;
    const counts = entry.counts;
    return {
      state: this.state(id) ?? 'closed',
      fires: counts.sum(FIRES, now),
      failures: counts.sum(FAILURES, now),
      successes: counts.sum(SUCCESSES, now),
      rejects: counts.sum(REJECTS, now),
    };
  }

  /** Shuts every breaker down. Idempotent. */
  close(): void {
    this.#closed = true;
    for (const id of [...this.#entries.keys()]) this.remove(id);
  }
}
