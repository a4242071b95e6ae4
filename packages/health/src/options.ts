// The health checker's options: one object that works with a balancer alone
// (createHealthChecker) and as `createClient({ health })`, parsed once into a defaulted form.

import type { RandomSource } from '@picket/core';
import {
  type Agrees,
  fn,
  fraction,
  integer,
  nonEmptyString,
  parseWith,
  positiveMs,
} from '@picket/core/internal';
import { z } from 'zod';
import { type HealthCheck, isHealthCheck } from './check.ts';

/** The health source a checker's verdicts go to unless its `source` option names another. */
const ACTIVE_SOURCE = 'active';

export interface HealthOptions {
  /** What to check: httpCheck(), tcpCheck(), icmpCheck(), loadCheck(), customCheck() or allChecks([...]). Required. */
  check: HealthCheck;
  /** Time between checks of one instance, ms. Default 5000. */
  interval?: number;
  /**
   * Time between checks of an instance judged unhealthy, ms (Envoy's `unhealthy_interval`,
   * HAProxy's `downinter`): longer to spare dead instances, shorter to notice a return sooner.
   * Default: `interval`.
   */
  unhealthyInterval?: number;
  /**
   * Time between checks while the results disagree with the verdict (a healthy instance that has
   * begun failing, an unhealthy one that has begun passing), ms (HAProxy's `fastinter`): a verdict
   * then changes about threshold × this after the first disagreeing result, instead of threshold
   * × `interval`. Default: `interval`.
   */
  transitionInterval?: number;
  /** Deadline for one check, ms; the check is aborted and counts as a failure. Default 2000. */
  timeout?: number;
  /** Consecutive successes that bring an unhealthy instance back. Default 2. */
  healthyThreshold?: number;
  /** Consecutive failures that take a healthy instance out. Default 3. */
  unhealthyThreshold?: number;
  /** Each interval varies by up to ± this fraction of itself, so callers drift apart. Default 0.1. */
  jitter?: number;
  /** Most checks in flight at once. Default 64. */
  concurrency?: number;
  /** The balancer health source the verdicts are reported as. Default `'active'`. */
  source?: string;
  /** Random source in [0, 1) for jitter. Default Math.random; seed it in tests. */
  random?: RandomSource;
}

/** Options after parsing: every field present. */
export interface ResolvedHealthOptions {
  readonly check: HealthCheck;
  readonly interval: number;
  readonly unhealthyInterval: number;
  readonly transitionInterval: number;
  readonly timeout: number;
  readonly healthyThreshold: number;
  readonly unhealthyThreshold: number;
  readonly jitter: number;
  readonly concurrency: number;
  readonly source: string;
  readonly random: RandomSource;
}

/** The zod schema of HealthOptions (for packages that embed them, such as @picket/http). */
export const healthOptionsSchema = z.strictObject({
  check: z.custom<HealthCheck>(isHealthCheck, {
    error: "is required and must be a health check such as httpCheck({ path: '/health' }) or tcpCheck()",
  }),
  interval: positiveMs.default(5000),
  unhealthyInterval: positiveMs.optional(),
  transitionInterval: positiveMs.optional(),
  timeout: positiveMs.default(2000),
  healthyThreshold: integer(1).default(2),
  unhealthyThreshold: integer(1).default(3),
  jitter: fraction.default(0.1),
  concurrency: integer(1).default(64),
  source: nonEmptyString.default(ACTIVE_SOURCE),
  random: fn<RandomSource>().optional(),
});

true satisfies Agrees<HealthOptions, z.input<typeof healthOptionsSchema>>;

// What parseHealthOptions returned: the checker takes these as they are, without parsing again.
const resolved = new WeakSet<object>();

/**
 * Parses health options (throws PICKET_INVALID_OPTIONS naming each wrong field and its value).
 * `path` is where they sit in the caller's options: `['health']` names `health.interval`.
 * Parsing an already-resolved object returns it as it is.
 */
export function parseHealthOptions(
  options: HealthOptions,
  what = 'Invalid health options',
  path: readonly PropertyKey[] = [],
): ResolvedHealthOptions {
  if (isResolved(options)) return options;
  const parsed = parseWith(healthOptionsSchema, options, what, 'PICKET_INVALID_OPTIONS', path);
  const out: ResolvedHealthOptions = Object.freeze({
    ...parsed,
    unhealthyInterval: parsed.unhealthyInterval ?? parsed.interval,
    transitionInterval: parsed.transitionInterval ?? parsed.interval,
    random: parsed.random ?? Math.random,
  });
  resolved.add(out);
  return out;
}

function isResolved(options: unknown): options is ResolvedHealthOptions {
  return typeof options === 'object' && options !== null && resolved.has(options);
}
