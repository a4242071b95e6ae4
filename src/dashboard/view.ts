// What the stream carries: the JSON of each `snapshot` and `event` message. The page
// (static/dashboard.js) reads exactly these fields.

import type { SubsetRole } from '@picket/core';

/** One health layer or source: an L3/L4/L7/load check's last result, or a balancer health source. */
export interface HealthView {
  /** `l3`, `l4`, `l7`, `load`, `custom`, or a health source's name (`passive`, …). */
  layer: string;
  state: 'healthy' | 'unhealthy' | 'unknown';
  reason: string;
  /** The check's latency, ms, when it is a check. */
  latencyMs: number | null;
}

export interface InstanceView {
  id: string;
  /** Without userinfo and with token-like query values redacted. */
  url: string;
  state: string;
  zone: string | null;
  priority: number;
  weight: number;
  effectiveWeight: number;
  inFlight: number;
  /** Over the last tick. */
  requestsPerSecond: number;
  /** Failures per request over the window (0 to 1), or null with no request in it. */
  errorRate: number | null;
  /** Attempt latency percentiles over the window, ms, or null with no attempt in it. */
  p50Ms: number | null;
  p99Ms: number | null;
  /** The balancer's peak-EWMA cost of the instance, ms. */
  ewmaMs: number;
  /** `closed`, `open`, `half-open`, or null when breakers are off or it has had no request. */
  breaker: string | null;
  ejections: number;
  /** Wall-clock time the current ejection ends, ms since the epoch, or null. */
  ejectedUntil: number | null;
  health: HealthView[];
  /**
   * With subsetting: `'member'` (dealt to this caller) or `'grown'` (taken while members fail);
   * null without subsetting, or for one draining after it left the subset.
   */
  subset: SubsetRole | null;
  /** Oldest first, one point per tick: requests per second and mean attempt latency (ms or null). */
  spark: { rps: number[]; latencyMs: (number | null)[] };
}

export interface ServiceView {
  /** Position in `clients`: two clients may share a service name. */
  index: number;
  service: string;
  closed: boolean;
  strategy: string;
  /** Priority levels in panic. */
  panic: number[];
  discovery: { provider: string; ready: boolean; lastError: string | null };
  retryBudget: number;
  drainingPools: number;
  /**
   * With subsetting: its mode and size, and how many of the service's instances are members,
   * grown, and outside the subset (standby: no pool, no checks); null without.
   */
  subset: { mode: string; size: number; member: number; grown: number; standby: number } | null;
  instances: InstanceView[];
}

export interface SnapshotMessage {
  /** Wall-clock time of the snapshot, ms since the epoch. */
  at: number;
  intervalMs: number;
  /** Seconds the error rate and percentiles look back over. */
  windowSeconds: number;
  services: ServiceView[];
}

export type EventKind =
  | 'instance-state'
  | 'eject'
  | 'panic'
  | 'breaker'
  | 'discovery-error'
  | 'instances'
  | 'subset';

export interface EventView {
  /** Increases by one per event across the dashboard. */
  seq: number;
  at: number;
  /** The service's index (see ServiceView.index). */
  index: number;
  kind: EventKind;
  instance: string | null;
  /** The state the instance or breaker moved to, when the event is such a move. */
  state: string | null;
  /** One line for humans, redacted. */
  text: string;
}
