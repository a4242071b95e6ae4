// The health checker's contract: what createHealthChecker returns, its events and snapshot.

import type { HealthState, Instance } from '@picket/core';
import type { CheckResult } from './check.ts';
import type { InstanceHealth } from './tally.ts';

export type { InstanceHealth, LayerCheck } from './tally.ts';

export interface HealthCheckerEvents {
  /** The checker's verdict on an instance changed. */
  'instance-state': {
    /** The instance checked. */
    instance: Instance;
    /** The verdict before. */
    from: HealthState;
    /** The verdict now. */
    to: HealthState;
    /** The result that decided it, for humans (`l7: status 503 from /health in 12 ms`). */
    reason: string;
  };
  /** A check completed. */
  check: {
    /** The instance checked. */
    instance: Instance;
    /** What the check found. */
    result: CheckResult;
    /** The checker's verdict after it. */
    state: HealthState;
    /** What the check threw when it could not run at all (it counts as a failure); undefined otherwise. */
    error: unknown;
  };
  /** A listener threw; reported here instead of breaking the checker. */
  'listener-error': {
    /** The event whose listener threw. */
    event: string;
    /** What it threw. */
    error: unknown;
  };
}

export interface HealthChecker {
  /** Starts checking the balancer's instances (and those discovery adds later). Idempotent. */
  start(): void;
  /**
   * Stops: clears timers, aborts checks in flight, withdraws this checker's verdicts and weights
   * from the balancer (when it is still open) and closes the check's sockets. Idempotent.
   */
  close(): Promise<void>;
  /** Each instance's verdict, consecutive counts and last result per layer. */
  snapshot(): InstanceHealth[];
  /** Subscribes to an event; returns the unsubscribe function. */
  on<K extends keyof HealthCheckerEvents>(name: K, fn: (payload: HealthCheckerEvents[K]) => void): () => void;
  /** `close()` has been called. */
  readonly closed: boolean;
}
