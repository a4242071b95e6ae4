// The balancer's mutable record of one instance: what strategies read when they choose.
// Strategies may read every field; only the balancer writes them, save the strategy caches at
// the end, which hold what a strategy derives from the instance id alone.

import type { Instance } from './instance.ts';
import { LatencyTracker } from './latency.ts';
import { LoadReading } from './load-report.ts';
import type { Outcome } from './outcome.ts';
import type { EndpointView } from './strategy.ts';

/** Who receives an endpoint's releases (the balancer). */
export interface ReleaseSink {
  release(endpoint: Endpoint, outcome: Outcome, now?: number): void;
}

/** For endpoints made outside a balancer (strategy unit tests): releases go nowhere. */
const detached: ReleaseSink = { release() {} };
const detachedLatency = new LatencyTracker({ decayMs: 10_000, defaultRttMs: 30, failurePenaltyMs: 250 });

export class Endpoint implements EndpointView {
  // Field order is layout: the fields every pick and release touch are declared (and so stored)
  // first, which matters at 10,000 instances where each pick is a cache miss.
  instance: Instance;
  readonly #sink: ReleaseSink;
  /** The balancer's latency tracking: the peers' figure this endpoint is costed at while unsampled. */
  readonly tracker: LatencyTracker;
  /** Picks not yet released (in-flight requests). */
  active = 0;
  /** Weight after slow start and any server-reported weight: what strategies balance on. */
  weight = 1;
  /**
   * Peak-EWMA of latency in ms as of `ewmaStamp`; decays towards 0 with time (see peak-ewma).
   * Meaningful only once `sampled`: until then the endpoint is costed at `tracker.peersAt(now)`.
   */
  ewmaMs = 0;
  /** Balancer clock (ms) of the last EWMA update. */
  ewmaStamp = 0;
  /** Has answered since it joined or last returned (from unhealthy, ejected or removed). */
  sampled = false;
  /** Its EWMA is in the tracker's peers' figure (sampled and pickable); the tracker's to set. */
  counted = false;
  /** Releases counted since the instance joined, failures among them. */
  requests = 0;
  failures = 0;
  /** Summed latency and samples since the instance joined or last returned. */
  latencyTotalMs = 0;
  latencySamples = 0;
  /** Removed from discovery; kept until its in-flight picks are released. */
  removed = false;
  /** Outlier detection counters. */
  consecutiveFailures = 0;
  intervalRequests = 0;
  intervalFailures = 0;

  // Balancer-owned state below; strategies do not need it.
  /** Weight reported by the server (load reports), replacing the record's weight when set. */
  reportedWeight: number | undefined = undefined;
  /** Bit per health source (active checks, breaker, …) that currently says unhealthy. */
  unhealthyBits = 0;
  /** Bit per health source that has not reported yet (new instance under active checks). */
  unknownBits = 0;
  /** Reasons by source, for snapshots and events. */
  reasons: Map<string, string> = new Map();
  /** Balancer clock when slow start began, or -1. */
  warmingSince = -1;
  /** Ejected by outlier detection until `ejectedUntil`, which is kept after it passes. */
  ejected = false;
  ejectedUntil = 0;
  /** Ejection multiplier: grows with each ejection, shrinks with each clean interval. */
  ejections = 0;
  /** Ejections since the instance joined. */
  timesEjected = 0;
  /** Effective state last published in an event. */
  lastState = 'healthy';

  // Strategy caches: derived from `instance.id` (the endpoint's key, which never changes), so
  // they hold across membership updates. 0: not computed yet.
  /** Maglev's hash of the id for its permutation's offset, as int32. */
  maglevOffsetHash = 0;
  /** Maglev's hash of the id for its permutation's skip, as int32. */
  maglevSkipHash = 0;

  /** The latest load report the server sent (`Balancer.reportLoad`); the balancer writes it. */
  readonly load = new LoadReading();

  constructor(instance: Instance, tracker: LatencyTracker = detachedLatency, sink: ReleaseSink = detached) {
    this.instance = instance;
    this.#sink = sink;
    this.tracker = tracker;
    this.weight = instance.weight;
  }

  /**
   * The endpoint is also the handle `pick()` returns (one object, no allocation per pick): the
   * caller reports the outcome here, exactly once. Strategies never call it.
   */
  release(outcome: Outcome, now?: number): void {
    this.#sink.release(this, outcome, now);
  }

  /** Not removed, unhealthy or ejected: the balancer may pick it. */
  pickableAt(now: number): boolean {
    return !this.removed && this.unhealthyBits === 0 && this.ejectedUntil <= now;
  }

  /** Peak-EWMA latency decayed to `now` with time constant `decayMs`. */
  ewmaAt(now: number, decayMs: number): number {
    const elapsed = now - this.ewmaStamp;
    return elapsed <= 0 ? this.ewmaMs : this.ewmaMs * Math.exp(-elapsed / decayMs);
  }
}
