// The balancer's public contract: options, the pick handle, snapshots, and the check that a value
// is a balancer. None of the modules it imports imports it back, so that any module may import it.

import { describeValue, PicketError } from './errors.ts';
import type { BalancerEvents, HealthState, InstanceState } from './events.ts';
import type { HealthSource, HealthSourceOptions } from './health-sources.ts';
import type { Instance, InstanceRecord } from './instance.ts';
import type { LoadReport } from './load-report.ts';
import type { Outcome, PickContext } from './outcome.ts';
import type { RandomSource } from './random.ts';
import type { Strategy } from './strategy.ts';
import type { PeerPlace, SubsetOptions } from './subset-options.ts';

/** The built-in strategies by name: what `strategy: '…'` takes (each one's factory takes its options). */
export type StrategyName =
  | 'round-robin'
  | 'random'
  | 'least-request'
  | 'peak-ewma'
  | 'weighted-response-time'
  | 'ring-hash'
  | 'maglev'
  | 'weighted-round-robin';

export interface OutlierDetectionOptions {
  /** How often success-rate and failure-percentage ejection run, ms. Default 10000. */
  intervalMs?: number;
  /** Consecutive failures (transport errors or 5xx) that eject at once. Default 5; 0 turns it off. */
  consecutiveFailures?: number;
  /** First ejection lasts this long, ms; the n-th lasts n times as long. Default 30000. */
  baseEjectionMs?: number;
  /** Ejections never last longer than this, ms. Default 300000. */
  maxEjectionMs?: number;
  /** At most this percentage of instances ejected at once (always at least one). Default 10. */
  maxEjectionPercent?: number;
  /** Ejects instances whose success rate is below mean − factor × stdev. `false` turns it off. */
  successRate?:
    | false
    | {
        /** Default 1.9. */
        stdevFactor?: number;
        /** Instances with enough requests needed to evaluate. Default 5. */
        minimumHosts?: number;
        /** Requests in the interval an instance needs to be evaluated. Default 100. */
        requestVolume?: number;
      };
  /** Ejects instances whose failure percentage is at or above a threshold. `false` turns it off. */
  failurePercentage?:
    | false
    | {
        /** Percent. Default 85. */
        threshold?: number;
        /** Default 5. */
        minimumHosts?: number;
        /** Default 50. */
        requestVolume?: number;
      };
}

export interface SlowStartOptions {
  /** How long a new instance ramps up, ms. */
  windowMs: number;
  /** Ramp shape: weight × (t / window)^(1 / aggression). Default 1 (linear). */
  aggression?: number;
  /** Lowest weight share during the ramp, percent. Default 10. */
  minWeightPercent?: number;
}

export interface ZoneOptions {
  /** The caller's own zone. Instances in it are preferred. */
  local: string;
}

export interface BalancerOptions {
  /** Strategy name or factory. Default `'peak-ewma'`. */
  strategy?: StrategyName | Strategy;
  /**
   * Below this percentage of available instances in a priority level (when lower levels cannot
   * absorb the load), balance across all of that level's instances, healthy or not. Default 50;
   * 0 turns panic off.
   */
  panicThreshold?: number;
  /** Priority spill-over: a level keeps all traffic while available share × this ≥ 1. Default 1.4. */
  overprovisioningFactor?: number;
  /** Ramp new instances' weight up. Off by default. */
  slowStart?: SlowStartOptions | false;
  /** Prefer instances in the caller's zone (or pass the zone name). Off by default. */
  zone?: ZoneOptions | string;
  /** Passive health. On by default with the defaults above; `false` turns it off. */
  outlierDetection?: OutlierDetectionOptions | false;
  /**
   * Health sources whose first verdict a new instance waits for: it is `unknown` (used only when
   * no known-healthy instance is available) until each has reported on it. A name is held so
   * until the source registered under it closes its handle, as one registered with
   * `healthSource(name, { startsUnknown: true })` after construction is. Default `[]`.
   */
  healthSources?: readonly string[];
  /** Random source in [0, 1). Default: a generator seeded at random per balancer. Seed it in tests. */
  random?: RandomSource;
  /** Clock in ms. Default: `performance.now()`, read at most once per millisecond. */
  now?: () => number;
  /**
   * Use only a subset of the instances `update()` is given: `{ size, mode: 'random' |
   * 'deterministic', callerId, peers }` (see `SubsetOptions`); the rest are never picked and hold
   * no state. Grows by the next candidates while fewer than `panicThreshold` of the subset are
   * available. A `peers` provider starts with the first `update()` and closes with `close()`.
   * Off by default.
   */
  subset?: SubsetOptions | false;
}

/** A chosen instance. Call `release` exactly once when the request completes. */
export interface PickHandle {
  /** The instance picked: send the request to its `url`. */
  readonly instance: Instance;
  /**
   * Reports how the request went. `now`, when given, is the time of the outcome on the
   * balancer's clock, read by the caller already (a dispatcher timing the request): the
   * balancer then does not read its clock again.
   */
  release(outcome: Outcome, now?: number): void;
}

/**
 * @deprecated Use `PickHandle`. This name shadowed TypeScript's built-in `Pick<T, K>`; it goes in
 * the next release.
 */
export type Pick = PickHandle;

export interface InstanceSnapshot {
  /** The instance's id (`Instance.id`). */
  id: string;
  /** The instance's URL (`Instance.url`; records never carry credentials). */
  url: string;
  /** The record's zone, or undefined. */
  zone: string | undefined;
  /** The record's priority group: 0 is preferred, higher numbers are backups. */
  priority: number;
  /** The record's weight. */
  weight: number;
  /** The weight balanced on now (slow start, reported weight). */
  effectiveWeight: number;
  /** What the instance looks like to the balancer now. */
  state: InstanceState;
  /** Unhealthy or unknown sources and their reasons. */
  health: Record<string, { state: HealthState; reason: string }>;
  /** Picks not yet released (requests in flight). */
  active: number;
  /** Requests completed since the instance joined (neutral outcomes not counted). */
  requests: number;
  /** Failures among them: transport errors and 5xx. */
  failures: number;
  /**
   * Latency the instance is costed at now, ms: its peak-EWMA, or while it has not answered since
   * joining or returning, the mean of its peers' (the default RTT when none has answered); with two
   * or more requests in flight, at least the time since its last answer.
   */
  latencyMs: number;
  /** Mean latency since joining or last returning (from unhealthy, ejected, removed), ms, or undefined with no samples. */
  meanLatencyMs: number | undefined;
  /** Times ejected by outlier detection since joining. */
  ejections: number;
  /** When the current ejection ends, ms on the balancer's clock (`now`), or undefined. */
  ejectedUntil: number | undefined;
  /** With `subset`: `'member'` or `'grown'`; undefined for one draining after it left the subset. */
  subset?: SubsetRole;
}

/** Why an instance is (or is not) used: dealt to this caller, added while members fail, or neither. */
export type SubsetRole = 'member' | 'grown' | 'standby';

export interface SubsetSnapshot {
  /** The `subset.mode` in force. */
  mode: 'random' | 'deterministic';
  /** The `subset.size` in force. */
  size: number;
  /** This caller's id (given, or `callerIdFromEnvironment()`). */
  callerId: string;
  /** The caller's place in deterministic mode; undefined while a peers source has not placed it. */
  peers: PeerPlace | undefined;
  /** Of the service's instances: how many are members, grown, standby. */
  counts: Record<SubsetRole, number>;
  /** Members and grown instances in order, then the first standby ones (up to `size`). */
  instances: Array<{ id: string; url: string; role: SubsetRole; reason: string }>;
}

export interface BalancerSnapshot {
  /** The strategy's name (`'peak-ewma'`, or a custom strategy's own). */
  strategy: string;
  /** Every instance, those draining after removal included. */
  instances: InstanceSnapshot[];
  /** Priority levels in panic. */
  panic: number[];
  /** With `subset`: which of the instances are used and why. */
  subset?: SubsetSnapshot;
}

export interface Balancer {
  /** Replaces the membership. Instances that stay keep stats and state. Throws on invalid records. */
  update(records: readonly InstanceRecord[]): void;
  /**
   * Chooses an instance. Throws PICKET_NO_INSTANCES or PICKET_NO_AVAILABLE_INSTANCE. `now`,
   * when given, is the current time on the balancer's clock, already read by the caller.
   */
  pick(ctx?: PickContext, now?: number): PickHandle;
  /**
   * Registers a health source and returns the handle it reports through: `set(id, state, reason)`.
   * A name has one owner: registering it again while its handle is open throws
   * PICKET_INVALID_OPTIONS (two owners would overwrite each other's verdicts). What the source's
   * verdicts may do is declared here: `endsEjection` (a pass ends an outlier ejection, as an
   * active check's does), `startsUnknown` (instances wait for its first verdict).
   */
  healthSource(name: string, options?: HealthSourceOptions): HealthSource;
  /**
   * Reports a verdict under a source named by a string (`'active'` when none is given; under that
   * name alone a pass ends an outlier ejection, as before handles).
   * @deprecated Register the source once with `healthSource(name, options)` and report through its
   * handle's `set(id, state, reason)`. Removed in the next release.
   */
  setHealth(id: string, state: HealthState, reason?: string, source?: string): void;
  /** Sets a server-reported weight (undefined returns to the record's weight). */
  setWeight(id: string, weight: number | undefined): void;
  /**
   * Records the latest load report of an instance (ORCA figures, from a response header or a load
   * check), stamped with the balancer's clock, for strategies that weigh by it (weighted round
   * robin). Cheap enough for every response: a few field writes. Unknown ids are ignored; a
   * figure that is negative or not finite counts as not reported.
   */
  reportLoad(id: string, report: LoadReport): void;
  /** Current instances (not those draining after removal). */
  instances(): readonly Instance[];
  /** Every instance (draining ones too) with its state, health, counts and latency; the strategy and panic levels. */
  snapshot(): BalancerSnapshot;
  /** Subscribes to an event; returns the unsubscribe function. */
  on<K extends keyof BalancerEvents>(name: K, fn: (payload: BalancerEvents[K]) => void): () => void;
  /** Stops accepting picks; in-flight releases are still accepted. Idempotent. */
  close(): void;
  /** `close()` has been called. */
  readonly closed: boolean;
}

const BALANCER_METHODS = ['on', 'update', 'pick', 'instances', 'healthSource', 'setWeight'] as const;

/**
 * Throws PICKET_INVALID_OPTIONS unless `value` has a balancer's shape (what createBalancer()
 * makes), for factories that take one beside their options: `${what} needs a balancer …`.
 */
export function assertBalancer(value: unknown, what: string): asserts value is Balancer {
  const v = value as Record<string, unknown> | null;
  if (v !== null && typeof v === 'object' && BALANCER_METHODS.every((m) => typeof v[m] === 'function'))
    return;
  throw new PicketError(
    'PICKET_INVALID_OPTIONS',
    `${what} needs a balancer from createBalancer(), got ${describeValue(value)}`,
  );
}
