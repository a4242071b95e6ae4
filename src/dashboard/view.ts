// What the stream carries: the JSON of each `snapshot` and `event` message. The page
// (static/dashboard.js) reads exactly these fields.

import type { InstanceState, SubsetRole } from '@picket/core';
import type { BreakerState } from '@picket/http';

/** One health layer or source: an L3/L4/L7/load check's last result, or a balancer health source. */
export interface HealthView {
  /** `l3`, `l4`, `l7`, `load`, `custom`, or a health source's name (`passive`, …). */
  layer: string;
  /** The layer's or source's verdict. */
  state: 'healthy' | 'unhealthy' | 'unknown';
  /** One line for humans, redacted. */
  reason: string;
  /** The check's latency, ms, when it is a check. */
  latencyMs: number | null;
}

export interface InstanceView {
  /** The instance's id. */
  id: string;
  /** Without userinfo and with token-like query values redacted. */
  url: string;
  /** What the instance looks like to the balancer. */
  state: InstanceState;
  /** The record's zone, or null. */
  zone: string | null;
  /** The record's priority group: 0 is preferred, higher numbers are backups. */
  priority: number;
  /** The record's weight. */
  weight: number;
  /** The weight balanced on now (slow start, reported weight). */
  effectiveWeight: number;
  /** Requests in flight now. */
  inFlight: number;
  /** Requests per second over the last tick. */
  requestsPerSecond: number;
  /** Failures per request over the window (0 to 1), or null with no request in it. */
  errorRate: number | null;
  /** Attempt latency percentiles over the window, ms, or null with no attempt in it. */
  p50Ms: number | null;
  /** Like `p50Ms`, the 99th percentile. */
  p99Ms: number | null;
  /** The balancer's peak-EWMA cost of the instance, ms. */
  ewmaMs: number;
  /** `closed`, `open`, `half-open`, or null when breakers are off or it has had no request. */
  breaker: BreakerState | null;
  /** Times ejected by outlier detection since it joined. */
  ejections: number;
  /** Wall-clock time the current ejection ends, ms since the epoch, or null. */
  ejectedUntil: number | null;
  /** Each check layer's last result and each balancer health source's verdict. */
  health: HealthView[];
  /**
   * With subsetting: `'member'` (dealt to this caller) or `'grown'` (taken while members fail);
   * null without subsetting, or for one draining after it left the subset.
   */
  subset: SubsetRole | null;
  /** Oldest first, one point per tick: requests per second and mean attempt latency (ms or null). */
  spark: {
    /** Requests per second, one a tick. */
    rps: number[];
    /** Mean attempt latency, ms, one a tick; null for a tick with no attempt. */
    latencyMs: (number | null)[];
  };
}

export interface ServiceView {
  /** Position in `clients`: two clients may share a service name. */
  index: number;
  /** The client's `service`. */
  service: string;
  /** The client is closed (it stays listed). */
  closed: boolean;
  /** The strategy's name. */
  strategy: string;
  /** Priority levels in panic. */
  panic: number[];
  /** The provider's name, whether a first snapshot has come, and its last error's message. */
  discovery: {
    /** The provider's name. */
    provider: string;
    /** A first snapshot has come. */
    ready: boolean;
    /** The message of the provider's last error, or null. */
    lastError: string | null;
  };
  /** Retries (and hedges) the budget allows right now. */
  retryBudget: number;
  /** Pools still draining after their instance left. */
  drainingPools: number;
  /**
   * With subsetting: its mode and size, and how many of the service's instances are members,
   * grown, and outside the subset (standby: no pool, no checks); null without.
   */
  subset: {
    /** `'random'` or `'deterministic'`. */
    mode: string;
    /** The `subset.size` in force. */
    size: number;
    /** Instances dealt to this caller. */
    member: number;
    /** Instances taken in beyond `size` while members fail. */
    grown: number;
    /** Instances outside the subset. */
    standby: number;
  } | null;
  /** The client's instances, draining ones included. */
  instances: InstanceView[];
}

export interface SnapshotMessage {
  /** Wall-clock time of the snapshot, ms since the epoch. */
  at: number;
  /** The dashboard's `intervalMs`: time between snapshots, ms. */
  intervalMs: number;
  /** Seconds the error rate and percentiles look back over. */
  windowSeconds: number;
  /** One per client, in the order of `clients`. */
  services: ServiceView[];
}

/** The client events the dashboard relays. */
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
  /** Wall-clock time of the event, ms since the epoch. */
  at: number;
  /** The service's index (see ServiceView.index). */
  index: number;
  /** The client event it relays. */
  kind: EventKind;
  /** The id of the instance it concerns, or null. */
  instance: string | null;
  /** The state the instance or breaker moved to, when the event is such a move. */
  state: string | null;
  /** One line for humans, redacted. */
  text: string;
}
