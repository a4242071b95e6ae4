// Client options parsed once, at construction, by zod into the fully-defaulted `ClientConfig`
// the rest of the package reads. A wrong option throws PICKET_INVALID_OPTIONS naming the path
// and the value.

import {
  type BalancerOptions,
  type Instance,
  PicketError,
  type Strategy,
  type StrategyName,
} from '@picket/core';
import {
  checkInstance,
  durationRule,
  durationSchema,
  isDuration,
  offOr,
  POSITIVE_DURATION,
  parseWith,
  STRATEGY_NAMES,
  subsetSchema,
  type TlsConfig,
  tlsSchema,
} from '@picket/core/internal';
import { z } from 'zod';
import type { HealthFactory, ProviderLike } from './contracts.ts';
import type { MeterProvider } from './observe/metrics.ts';

export const IDEMPOTENT_METHODS = ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE'] as const;

const int = (min: number, what = 'an integer') =>
  z
    .number({ error: `must be ${what}` })
    .int({ error: `must be ${what}` })
    .min(min, { error: `must be ${what}` });
// Durations follow Picket's one rule (0 to 2³¹−1 ms); those that time something out or space
// something apart must also be positive. A 0 is accepted only where it means "none".
const ms = () => durationSchema(POSITIVE_DURATION);
const percent = z
  .number({ error: 'must be a percentage between 0 and 100' })
  .min(0, { error: 'must be a percentage between 0 and 100' })
  .max(100, { error: 'must be a percentage between 0 and 100' });

// Only error statuses can be retried: a 2xx or 3xx is an answer.
const statusCode = int(400, 'an HTTP error status (400-599)').max(599, {
  error: 'must be an HTTP error status (400-599)',
});

const retrySchema = z.strictObject({
  retries: int(0, 'a non-negative integer').max(100, { error: 'must be at most 100' }).default(2),
  sameInstance: int(0, 'a non-negative integer').max(100, { error: 'must be at most 100' }).default(0),
  methods: z
    .array(
      z
        .string({ error: 'must be a method name' })
        // RFC 9110's token: a name with a space or a newline would never match a request.
        .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, { error: 'must be a method name' }),
    )
    .default([...IDEMPOTENT_METHODS])
    .transform((list) => new Set(list.map((m) => m.toUpperCase()))),
  statuses: z
    .array(statusCode)
    .default([502, 503, 504])
    .transform((list) => new Set(list)),
  rateLimited: z.boolean({ error: 'must be a boolean' }).default(true),
  maxRetryAfterMs: durationSchema().default(1000),
  backoff: z.strictObject({ baseMs: ms().default(25), maxMs: ms().default(250) }).prefault({}),
  budget: offOr(
    z.strictObject({
      percent: percent.default(20),
      minPerSecond: z.number({ error: 'must be a non-negative number' }).min(0).default(10),
      windowMs: ms().default(10_000),
    }),
  ).default({ percent: 20, minPerSecond: 10, windowMs: 10_000 }),
});

const breakerSchema = z.strictObject({
  errorThresholdPercentage: percent.default(50),
  volumeThreshold: int(0, 'a non-negative integer').default(10),
  resetTimeoutMs: ms().default(10_000),
  windowMs: ms().default(10_000),
  buckets: int(1, 'a positive integer').max(1000, { error: 'must be at most 1000' }).default(10),
});

const poolSchema = z.strictObject({
  connections: z.union([int(1, 'a positive integer'), z.null()]).default(128),
  keepAliveTimeout: ms().default(4000),
  pipelining: int(0, 'a non-negative integer').default(1),
  allowH2: z.boolean({ error: 'must be a boolean' }).default(false),
  connectTimeout: ms().default(2000),
  // 0: no limit (undici's meaning).
  bodyTimeout: durationSchema().default(300_000),
});

function isProvider(value: unknown): value is ProviderLike {
  if (value === null || typeof value !== 'object') return false;
  const p = value as Record<string, unknown>;
  return (
    typeof p.start === 'function' &&
    typeof p.on === 'function' &&
    typeof p.current === 'function' &&
    typeof p.lastError === 'function' &&
    typeof p.close === 'function'
  );
}

const discoverySchema = z.unknown().transform((value, ctx): Instance[] | ProviderLike => {
  if (isProvider(value)) return value;
  if (!Array.isArray(value)) {
    ctx.addIssue({
      code: 'custom',
      message: 'must be an array of instance URLs or records, or a discovery provider',
    });
    return z.NEVER;
  }
  const out: Instance[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < value.length; i++) {
    const check = checkInstance(value[i]);
    if (!check.ok) {
      ctx.addIssue({ code: 'custom', path: [i], message: `is not a valid instance: ${check.reason}` });
    } else if (seen.has(check.instance.id)) {
      ctx.addIssue({
        code: 'custom',
        path: [i],
        message: `repeats the id ${JSON.stringify(check.instance.id)}`,
      });
    } else {
      seen.add(check.instance.id);
      out.push(check.instance);
    }
  }
  return out;
});

const strategySchema = z.custom<StrategyName | Strategy>(
  (v) =>
    (typeof v === 'string' && (STRATEGY_NAMES as readonly string[]).includes(v)) ||
    (v !== null && typeof v === 'object' && typeof (v as Strategy).create === 'function'),
  { error: `must be one of ${STRATEGY_NAMES.map((n) => `'${n}'`).join(', ')}, or a strategy object` },
);

const schema = z.object({
  service: z
    .string({ error: 'is required: the service name, such as "inventory"' })
    .regex(/^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/, {
      error: 'must be a host-name-like service name (letters, digits, dots and dashes)',
    }),
  discovery: discoverySchema,
  strategy: strategySchema.default('peak-ewma'),
  health: z
    .custom<HealthFactory>((v) => typeof v === 'function', { error: 'must be a health factory function' })
    .optional(),
  retry: offOr(retrySchema).default(() => retrySchema.parse({})),
  timeout: ms().default(30_000),
  perTryTimeout: ms().optional(),
  hedge: offOr(
    z.strictObject({
      delayMs: z.custom<number | 'p95'>((v) => v === 'p95' || isDuration(v, POSITIVE_DURATION), {
        error: `${durationRule(POSITIVE_DURATION)}, or 'p95'`,
      }),
      maxHedges: int(1, 'a positive integer').max(10, { error: 'must be at most 10' }).default(1),
    }),
  ).default(false),
  breaker: offOr(breakerSchema).default(() => breakerSchema.parse({})),
  pool: poolSchema.prefault({}),
  tls: tlsSchema.prefault({}),
  limits: z
    .strictObject({
      maxRequests: int(1, 'a positive integer').default(10_000),
      maxPendingPerInstance: int(1, 'a positive integer').default(1024),
      maxConcurrentRetries: int(1, 'a positive integer').default(256),
    })
    .prefault({}),
  loadReports: z
    .strictObject({
      max: z
        .strictObject({
          cpuUtilization: z
            .number({ error: 'must be a number' })
            .min(0, { error: 'must not be negative' })
            .optional(),
          applicationUtilization: z
            .number({ error: 'must be a number' })
            .min(0, { error: 'must not be negative' })
            .optional(),
          eventLoopDelayMs: ms().optional(),
          inFlight: int(1, 'a positive integer').optional(),
        })
        .optional(),
    })
    .optional(),
  subset: offOr(subsetSchema).default(false),
  metrics: offOr(
    z.strictObject({
      meterProvider: z
        .custom<MeterProvider>(
          (v) => v !== null && typeof v === 'object' && typeof (v as MeterProvider).getMeter === 'function',
          { error: 'must be an OpenTelemetry MeterProvider (an object with getMeter())' },
        )
        .optional(),
      perInstance: z.boolean({ error: 'must be a boolean' }).default(true),
      attemptDuration: z.boolean({ error: 'must be a boolean' }).default(true),
    }),
  ).default(() => ({ perInstance: true, attemptDuration: true })),
});

export type ClientConfig = Omit<z.output<typeof schema>, 'retry' | 'discovery'> & {
  retry: RetryConfig;
  discovery: Instance[] | ProviderLike;
  /** Balancer options passed through to `createBalancer` untouched (it validates them). */
  balancer: BalancerOptions;
};
export type RetryConfig = z.output<typeof retrySchema> & { enabled: boolean };
export type BreakerConfig = z.output<typeof breakerSchema>;
export type LimitsConfig = z.output<typeof schema>['limits'];
export type PoolConfig = z.output<typeof poolSchema>;
export type { TlsConfig };
export type HedgeConfig = Exclude<z.output<typeof schema>['hedge'], false>;
export type BudgetConfig = z.output<typeof retrySchema>['budget'];

const BALANCER_KEYS = [
  'panicThreshold',
  'overprovisioningFactor',
  'slowStart',
  'zone',
  'outlierDetection',
  'healthSources',
  'random',
  'now',
] as const;

/** Parses client options once, throwing PICKET_INVALID_OPTIONS naming each wrong path and value. */
export function parseClientOptions(input: unknown): ClientConfig {
  if (input === null || typeof input !== 'object') {
    parseWith(z.object({}, { error: 'must be an options object' }), input, 'Invalid client options');
  }
  const known = new Set<string>([...Object.keys(schema.shape), ...BALANCER_KEYS]);
  const unknown = Object.keys(input as object).filter((k) => !known.has(k));
  if (unknown.length > 0) {
    throw new PicketError(
      'PICKET_INVALID_OPTIONS',
      `Invalid client options: unknown option${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `\`${k}\``).join(', ')}`,
      { details: { unknown } },
    );
  }
  const parsed = parseWith(schema, input, 'Invalid client options');
  const source = input as Record<string, unknown>;
  const balancer: Record<string, unknown> = { strategy: parsed.strategy };
  for (const key of BALANCER_KEYS) if (source[key] !== undefined) balancer[key] = source[key];
  const retry: RetryConfig =
    parsed.retry === false
      ? { ...retrySchema.parse({ retries: 0, budget: false }), enabled: false }
      : { ...parsed.retry, enabled: true };
  return {
    ...parsed,
    retry,
    discovery: parsed.discovery,
    balancer: balancer as BalancerOptions,
  } as ClientConfig;
}
