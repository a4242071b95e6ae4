// The health checker's contract: what createHealthChecker returns, its events and snapshot.

import type { HealthState, Instance } from '@picket/core';
import type { CheckResult } from './check.ts';
import type { InstanceHealth } from './tally.ts';

export type { InstanceHealth, LayerCheck } from './tally.ts';

export interface HealthCheckerEvents {
  /** The checker's verdict on an instance changed. */
  'instance-state': { instance: Instance; from: HealthState; to: HealthState; reason: string };
  /** A check completed. `error` is set when the check could not run at all (it counts as a failure). */
  check: { instance: Instance; result: CheckResult; state: HealthState; error: unknown };
  /** A listener threw; reported here instead of breaking the checker. */
  'listener-error': { event: string; error: unknown };
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
