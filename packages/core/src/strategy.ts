// The strategy contract. A Strategy is a named factory; the balancer asks it for one Picker per
// set of endpoints it balances over (a priority level, a zone, the panic set), rebuilds that
// picker whenever the set or its weights change, and calls `pick` on the hot path. `pick` must be
// synchronous, must not allocate in steady state, and must honour `ctx.exclude`.

import type { Endpoint } from './endpoint.ts';
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

export interface Picker {
  /** Replaces the endpoints to choose among. The caller does not mutate the array afterwards. */
  rebuild(endpoints: readonly Endpoint[]): void;
  /**
   * Chooses an endpoint, or returns undefined when there is none or every one is excluded.
   * `now` is the balancer's clock in ms, read once per pick.
   */
  pick(ctx: PickContext | undefined, now: number): Endpoint | undefined;
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

export interface Strategy {
  readonly name: string;
  create(ctx: StrategyContext): Picker;
  /** Overrides of the balancer's latency tracking (peak-ewma sets these). */
  readonly latency?: Partial<LatencyTracking>;
}
