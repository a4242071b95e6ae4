// The health-check contract: what one probe of one instance returns. Each check lives in its own
// file (http-check.ts, tcp-check.ts, …); the scheduler only knows this interface.

import type { Instance, LoadReport } from '@picket/core';

/** Which layer a check proves: L3 the host answers, L4 the port accepts, L7 the service works. */
export type CheckLayer = 'l3' | 'l4' | 'l7' | 'load' | 'custom';

/** What a server says about itself in its load report. */
export type LoadStatus = 'up' | 'drain' | 'down';

export interface CheckResult {
  /** The instance passed this check. */
  ok: boolean;
  /** The layer that decided the result (for `allChecks`, the one that failed, or the last one). */
  layer: CheckLayer;
  /** One line for humans, starting with the layer: `l7: status 503 from /health in 12 ms`. */
  reason: string;
  /** How long the check took, ms. */
  latencyMs: number;
  /** A weight the instance should be balanced with (load checks with `weight` set). */
  weight?: number;
  /**
   * The server's load, for the balancer's `reportLoad` (load checks): what weighted round robin
   * weighs instances by. The checker passes it on with every result that carries it.
   */
  load?: LoadReport;
  /**
   * The server's own status (load checks). `drain` and `down` take the instance out at once,
   * without waiting for `unhealthyThreshold` failures.
   */
  status?: LoadStatus;
  /** Each layer's own result, in the order run (`allChecks`). */
  results?: readonly CheckResult[];
}

export interface HealthCheck {
  /** The layer the check proves, shown in results, reasons and snapshots. */
  readonly layer: CheckLayer;
  /**
   * Probes one instance. Resolves with `ok: false` for anything the instance did wrong (refused,
   * timed out, bad status); rejects only when the check itself cannot run (for example `ping` is
   * missing). Must stop promptly when `signal` aborts.
   */
  run(instance: Instance, signal: AbortSignal): Promise<CheckResult>;
  /**
   * Releases pooled sockets once no run is using them; a later run opens a new pool, so a check
   * shared by several checkers stays usable. Idempotent.
   */
  close?(): Promise<void>;
}

/** True for an object that implements `HealthCheck` (used to validate options). */
export function isHealthCheck(value: unknown): value is HealthCheck {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as HealthCheck).run === 'function' &&
    typeof (value as HealthCheck).layer === 'string'
  );
}
