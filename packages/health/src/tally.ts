// Per-instance bookkeeping of the health checker: the rise/fall hysteresis, the last result per
// layer, and turning whatever a check produced into a CheckResult.

import { type HealthState, type Instance, PicketError } from '@picket/core';
import { describeValue, messageOf } from '@picket/core/internal';
import type { CheckLayer, CheckResult } from './check.ts';
import { elapsed } from './util.ts';

export interface LayerCheck {
  /** The instance passed the check at this layer. */
  ok: boolean;
  /** One line for humans, starting with the layer. */
  reason: string;
  /** How long the check took, ms. */
  latencyMs: number;
  /** Wall-clock time of the result, ms since the epoch. */
  at: number;
}

export interface InstanceHealth {
  /** The instance's id. */
  id: string;
  /** The instance's URL. */
  url: string;
  /** The checker's verdict (`unknown` until the first result). */
  state: HealthState;
  /** Current run of agreeing results; one of the two is always 0. */
  consecutive: {
    /** Passing results in a row. */
    successes: number;
    /** Failing results in a row. */
    failures: number;
  };
  /** Checks completed since the instance appeared. */
  checks: number;
  /** A check is running now. */
  checking: boolean;
  /** The weight the last load report set, if any. */
  weight: number | undefined;
  /** The most recent result at each layer checked. */
  lastChecks: Partial<Record<CheckLayer, LayerCheck>>;
  /** The balancer health source the verdicts go to (the `source` option). */
  source: string;
}

export interface Run {
  controller: AbortController;
  timer: ReturnType<typeof setTimeout> | undefined;
  backstop: ReturnType<typeof setTimeout> | undefined;
  done: boolean;
  start: number;
}

export interface Entry {
  instance: Instance;
  state: HealthState;
  successes: number;
  failures: number;
  checks: number;
  weight: number | undefined;
  /** Extra delay before the second check, ms, spreading a batch across the interval. */
  phase: number;
  /** The scheduler slot the next check waits in (see slots.ts). */
  slot: number | undefined;
  run: Run | undefined;
  lastChecks: Partial<Record<CheckLayer, LayerCheck>>;
}

export function newEntry(instance: Instance): Entry {
  return {
    instance,
    state: 'unknown',
    successes: 0,
    failures: 0,
    checks: 0,
    weight: undefined,
    phase: 0,
    slot: undefined,
    run: undefined,
    lastChecks: {},
  };
}

export function snapshotOf(entry: Entry, source: string): InstanceHealth {
  return {
    id: entry.instance.id,
    url: entry.instance.url,
    state: entry.state,
    consecutive: { successes: entry.successes, failures: entry.failures },
    checks: entry.checks,
    checking: entry.run !== undefined,
    weight: entry.weight,
    lastChecks: { ...entry.lastChecks },
    source,
  };
}

/**
 * Records a result and returns the new state. The first result decides at once; after that a
 * healthy instance needs `unhealthyThreshold` failures in a row to go out and an unhealthy one
 * `healthyThreshold` successes to come back. A server saying `drain` or `down` goes out at once.
 */
export function judge(
  entry: Entry,
  result: CheckResult,
  thresholds: { healthyThreshold: number; unhealthyThreshold: number },
): HealthState {
  entry.checks++;
  const at = Date.now();
  for (const r of result.results ?? [result]) {
    entry.lastChecks[r.layer] = { ok: r.ok, reason: r.reason, latencyMs: r.latencyMs, at };
  }
  if (result.ok) {
    entry.successes++;
    entry.failures = 0;
  } else {
    entry.failures++;
    entry.successes = 0;
  }
  const from = entry.state;
  let to = from;
  if (from === 'unknown') to = result.ok ? 'healthy' : 'unhealthy';
  else if (from === 'healthy' && !result.ok) {
    const out = result.status === 'drain' || result.status === 'down';
    if (out || entry.failures >= thresholds.unhealthyThreshold) to = 'unhealthy';
  } else if (from === 'unhealthy' && result.ok && entry.successes >= thresholds.healthyThreshold)
    to = 'healthy';
  entry.state = to;
  return to;
}

function isResult(value: unknown): value is CheckResult {
  if (typeof value !== 'object' || value === null) return false;
  const r = value as CheckResult;
  return typeof r.ok === 'boolean' && typeof r.layer === 'string' && typeof r.reason === 'string';
}

/** Whatever the check resolved or rejected with, as a result (and the error, if it could not run). */
export function toResult(
  layer: CheckLayer,
  value: unknown,
  error: unknown,
  rejected: boolean,
  start: number,
): { result: CheckResult; error: unknown } {
  if (!rejected && isResult(value)) {
    const latencyMs = typeof value.latencyMs === 'number' ? value.latencyMs : elapsed(start);
    return { result: latencyMs === value.latencyMs ? value : { ...value, latencyMs }, error: undefined };
  }
  const problem = rejected
    ? error
    : new PicketError(
        'PICKET_HEALTH_CHECK_FAILED',
        `The ${layer} check resolved with ${describeValue(value)}, not a check result`,
      );
  const reason = `${layer}: check could not run: ${messageOf(problem)}`;
  return { result: { ok: false, layer, reason, latencyMs: elapsed(start) }, error: problem };
}

/** Why the verdict changed, for events and the balancer: the result and the run that decided. */
export function transitionReason(
  entry: Entry,
  result: CheckResult,
  from: HealthState,
  to: HealthState,
): string {
  if (from === 'unknown') return `${result.reason} (first check)`;
  if (to === 'healthy') return `${result.reason} (${entry.successes} consecutive successes)`;
  if (result.status === 'drain' || result.status === 'down') return result.reason;
  return `${result.reason} (${entry.failures} consecutive failures)`;
}
