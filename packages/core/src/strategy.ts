// The strategy contract. A Strategy is a named factory; the balancer asks it for one Picker per
// set of endpoints it balances over (a priority level, a zone, the panic set), rebuilds that
// picker whenever the set or its weights change, and calls `pick` on the hot path. `pick` must be
// synchronous, must not allocate in steady state, and must honour `ctx.exclude`. A picker sees
// each endpoint through a read-only view: only the balancer writes an endpoint's state.

import type { Instance } from './instance.ts';
import type { PickContext } from './outcome.ts';
import type { RandomSource } from './random.ts';

export interface StrategyContext {
  /** Random source in [0, 1); seeded in tests. */
  readonly random: RandomSource;
  /** The balancer's clock in ms. */
  readonly now: () => number;
  /**
   * Picks not yet released across the balancer, kept as they happen (bounded-load hashing reads
   * it). Absent outside a balancer, where a picker sums its endpoints' `active` instead.
   */
  readonly load?: BalancerLoad;
}

/** Running totals the balancer keeps for strategies. */
export interface BalancerLoad {
  /** Picks not yet released (in-flight requests) over every instance. */
  readonly inFlight: number;
}

/**
 * What a strategy sees of one instance it balances over. Read-only to the strategy: the balancer
 * writes these fields as picks are released (a strategy keeps any state of its own beside them,
 * keyed by `instance.id`). It is the balancer's own record, not a copy, so reading it costs
 * nothing on the hot path.
 */
export interface EndpointView {
  /** The instance this endpoint stands for. */
  readonly instance: Instance;
  /** Picks not yet released (in-flight requests). */
  readonly active: number;
  /** Weight after slow start and any server-reported weight: what to balance on. */
  readonly weight: number;
  /** Has answered since it joined or last returned (from unhealthy, ejected or removed). */
  readonly sampled: boolean;
  /** Peak-EWMA of latency in ms as of `ewmaStamp`; meaningful once `sampled`. */
  readonly ewmaMs: number;
  /** Balancer clock (ms) of the last EWMA update. */
  readonly ewmaStamp: number;
  /** Releases counted since the instance joined (neutral ones not counted). */
  readonly requests: number;
  /** Failures among `requests`: transport errors and 5xx. */
  readonly failures: number;
  /** Summed latency since the instance joined or last returned, ms. */
  readonly latencyTotalMs: number;
  /** Latency samples in `latencyTotalMs`. */
  readonly latencySamples: number;
  /** The latest load report the instance sent (`Balancer.reportLoad`). */
  readonly load: EndpointLoad;
  /** `ewmaMs` decayed to `now` with time constant `decayMs`. */
  ewmaAt(now: number, decayMs: number): number;
}

/**
 * @deprecated Use `EndpointView`. Strategies were typed over the balancer's mutable record under
 * this name; they now see it read-only. The alias goes in the next release.
 */
export type Endpoint = EndpointView;

/** An endpoint's latest load report. A figure the report did not carry is NaN. */
export interface EndpointLoad {
  /** Balancer clock (ms) of the latest report; -1 before the first. */
  readonly at: number;
  /** Balancer clock of the first report of the current run of reports. */
  readonly since: number;
  /** Reports recorded: a reader tells a new report from the one it saw last by it. */
  readonly count: number;
  /** CPU in use as a fraction of what the instance has (ORCA `cpu_utilization`), or NaN. */
  readonly cpuUtilization: number;
  /** The application's own utilization, a fraction (ORCA `application_utilization`), or NaN. */
  readonly applicationUtilization: number;
  /** Requests per second the instance serves, from all its callers, or NaN. */
  readonly rps: number;
  /** Errors per second, or NaN. */
  readonly eps: number;
}

/**
 * Chooses among endpoints. A custom strategy's picker is given `EndpointView`s; the built-in
 * strategies, which keep caches on the balancer's records, are typed over the records themselves.
 */
export interface Picker<E extends EndpointView = EndpointView> {
  /** Replaces the endpoints to choose among. The caller does not mutate the array afterwards. */
  rebuild(endpoints: readonly E[]): void;
  /**
   * Chooses an endpoint, or returns undefined when there is none or every one is excluded.
   * `now` is the balancer's clock in ms, read once per pick.
   */
  pick(ctx: PickContext | undefined, now: number): E | undefined;
}

/** Latency tracking the balancer keeps on every endpoint (peak-EWMA); a strategy may tune it. */
export interface LatencyTracking {
  /** Time constant of the exponential decay, ms. Default 10000. */
  decayMs: number;
  /**
   * Latency assumed for an instance with no samples while none has any, ms; once some have, an
   * instance without samples is costed at their mean. Default 30.
   */
  defaultRttMs: number;
  /** Latency recorded for a failed request when it answered faster than this, ms. Default 250. */
  failurePenaltyMs: number;
}

/** A balancing strategy: what `createBalancer({ strategy })` takes besides a strategy's name. */
export interface Strategy {
  /** Shown in snapshots and on the dashboard (`'peak-ewma'`, or a custom strategy's own). */
  readonly name: string;
  /**
   * Makes a picker. A balancer makes several (for each priority level, and its zones), each given
   * its own endpoints through `rebuild()`: keep no state shared between them.
   */
  create(ctx: StrategyContext): Picker;
  /** Overrides of the balancer's latency tracking (peak-ewma sets these). */
  readonly latency?: Partial<LatencyTracking>;
}
