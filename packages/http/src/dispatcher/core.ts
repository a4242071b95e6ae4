// What every request of one client shares: the balancer, pools, breakers, budget, latency
// window and events. Built once by `createClient`; requests only read it.

import type { Balancer } from '@picket/core';
import type { Emitter } from '@picket/core/internal';
import type { Dispatcher } from 'undici';
import type { BreakerRegistry } from '../breaker/breakers.ts';
import type { ClientConfig } from '../config.ts';
import type { ClientEvents } from '../contracts.ts';
import type { InBandLoad } from '../load/in-band.ts';
import type { ClientMetrics } from '../observe/metrics.ts';
import type { PerRequestOptions } from '../options.ts';
import type { PoolManager } from '../pool/pools.ts';
import type { RetryBudget } from '../retry/budget.ts';
import type { LatencyWindow } from '../retry/latency.ts';
import type { Deadlines } from './deadlines.ts';

/** undici dispatch options plus what Picket reads per request. */
export interface PicketDispatchOptions extends Dispatcher.DispatchOptions, PerRequestOptions {}

/** A request made before discovery's first snapshot, parked until it comes. */
export interface DiscoveryWaiter {
  /** The first snapshot arrived: pick now (does nothing when the request is already done). */
  discovered(): void;
  /** Discovery failed before any snapshot, or the client closed: fail with `error`. */
  discoveryFailed(error: Error): void;
}

/** The client is open. */
export const OPEN = 0;
/** `close()` was called: attempts in flight finish, no retry or hedge starts. */
export const CLOSING = 1;
/** `destroy()` was called: every request fails at once with PICKET_CLIENT_CLOSED. */
export const DESTROYED = 2;

/** A request between attempts: waiting out a backoff or a Retry-After. */
export interface BackingOff {
  /** The client closed while it waited: fail now, start nothing. */
  shutDown(error: Error): void;
}

export interface DispatchCore {
  readonly service: string;
  readonly config: ClientConfig;
  readonly balancer: Balancer;
  readonly pools: PoolManager;
  /** Undefined when breakers are off. */
  readonly breakers: BreakerRegistry | undefined;
  readonly budget: RetryBudget;
  /** Request deadlines (`timeout`) and attempt deadlines (`perTryTimeout`). */
  readonly deadlines: Deadlines;
  /** Recent latencies, kept only when hedging at the observed p95. */
  readonly latency: LatencyWindow | undefined;
  readonly events: Emitter<ClientEvents>;
  /** Monotonic clock, ms. */
  now(): number;
  /** The balancer's clock is `now()`: readings may be handed to `pick` and `release`. */
  readonly sharesClock: boolean;
  /**
   * When discovery has never delivered a snapshot, the reason (the provider's last error, or
   * undefined while it is still starting); `null` once a snapshot arrived.
   */
  discoveryPending(): { cause: unknown } | null;
  /** Parks a request until the first snapshot (only while `discoveryPending()` has no cause). */
  awaitDiscovery(waiter: DiscoveryWaiter): void;
  /** The parked request ended on its own (timeout, abort). */
  stopWaiting(waiter: DiscoveryWaiter): void;
  /** The client's metrics; null when nothing is recorded (`metrics: false`, or no SDK). */
  readonly metrics: ClientMetrics | null;
  /** In-band load reports, when something uses them (else null: none are asked for or read). */
  readonly inBand: InBandLoad | null;
  /** Retries and hedges in flight now (`limits.maxConcurrentRetries`). */
  retriesInFlight: number;
  /** OPEN, CLOSING or DESTROYED. */
  readonly shutdown: number;
  /** Notes a request waiting out a backoff, so that close() and destroy() can end the wait. */
  backingOff(request: BackingOff): void;
  /** The request's wait is over (its next round runs, or it ended). */
  backedOff(request: BackingOff): void;
  /** A request finished (for `close()`, which waits for in-flight requests). */
  requestDone(): void;
}
