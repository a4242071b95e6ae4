// Client options parsed once, at construction, by zod into the fully-defaulted `ClientConfig`
// the rest of the package reads. A wrong option throws PICKET_INVALID_OPTIONS naming the path
// and the value.

import type { BalancerOptions, Instance, InstanceRecord } from '@picket/core';
import {
  type Agrees,
  balancerSchema,
  checkInstance,
  durationRule,
  fn,
  integer,
  isDuration,
  ms,
  nonNegativeNumber,
  offOr,
  POSITIVE_DURATION,
  parseWith,
  percent,
  positiveMs,
  strategySchema,
  subsetSchema,
  type TlsConfig,
  tlsSchema,
} from '@picket/core/internal';
import { z } from 'zod';
import type { HealthFactory, ProviderLike } from './contracts.ts';
import { unknownOptionsError } from './errors.ts';
import { ASK_INTERVAL_MS } from './load/in-band.ts';
import type { MeterProvider, MetricsOptions } from './observe/metrics.ts';
import type {
  BreakerOptions,
  ClientOptions,
  HedgeOptions,
  LimitsOptions,
  PoolOptions,
  RetryOptions,
} from './options.ts';

export const IDEMPOTENT_METHODS = ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE'] as const;

// Durations follow Picket's one rule (0 to 2³¹−1 ms); those that time something out or space
// something apart must also be positive (positiveMs). A 0 is accepted only where it means "none".

// Only error statuses can be retried: a 2xx or 3xx is an answer.
const STATUS = 'must be an HTTP error status (400-599)';
const statusCode = z.number({ error: STATUS }).int({ error: STATUS }).min(400, { error: STATUS }).max(599, {
  error: STATUS,
});

const budgetSchema = z.strictObject({
  percent: percent.default(20),
  minPerSecond: nonNegativeNumber.default(10),
  windowMs: positiveMs.default(10_000),
});

const retrySchema = z.strictObject({
  retries: integer(0, 100).default(2),
  sameInstance: integer(0, 100).default(0),
  methods: z
    .array(
      z
        .string({ error: 'must be a method name' })
        // RFC 9110's token: a name with a space or a newline would never match a request.
        .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, { error: 'must be a method name' }),
    )
    .readonly()
    .default([...IDEMPOTENT_METHODS])
    .transform((list) => new Set(list.map((m) => m.toUpperCase()))),
  statuses: z
    .array(statusCode)
    .readonly()
    .default([502, 503, 504])
    .transform((list) => new Set(list)),
  rateLimited: z.boolean({ error: 'must be a boolean' }).default(true),
  maxRetryAfterMs: ms.default(1000),
  backoff: z.strictObject({ baseMs: positiveMs.default(25), maxMs: positiveMs.default(250) }).prefault({}),
  budget: offOr(budgetSchema).default(() => budgetSchema.parse({})),
});

const breakerSchema = z.strictObject({
  errorThresholdPercentage: percent.default(50),
  volumeThreshold: integer(0).default(10),
  resetTimeoutMs: positiveMs.default(10_000),
  windowMs: positiveMs.default(10_000),
  buckets: integer(1, 1000).default(10),
});

const poolSchema = z.strictObject({
  connections: z.union([integer(1), z.null()]).default(128),
  keepAliveTimeout: positiveMs.default(4000),
  pipelining: integer(0).default(1),
  allowH2: z.boolean({ error: 'must be a boolean' }).default(false),
  connectTimeout: positiveMs.default(2000),
  // 0: no limit (undici's meaning).
  bodyTimeout: ms.default(300_000),
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

const discoveryField = z.unknown().transform((value, ctx): Instance[] | ProviderLike => {
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

const discoverySchema = discoveryField as unknown as z.ZodType<
  Instance[] | ProviderLike,
  readonly InstanceRecord[] | ProviderLike
>;

const hedgeSchema = z.strictObject({
  delayMs: z.custom<number | 'p95'>((v) => v === 'p95' || isDuration(v, POSITIVE_DURATION), {
    error: `${durationRule(POSITIVE_DURATION)}, or 'p95'`,
  }),
  maxHedges: integer(1, 10).default(1),
});

const metricsSchema = z.strictObject({
  meterProvider: z
    .custom<MeterProvider>(
      (v) => v !== null && typeof v === 'object' && typeof (v as MeterProvider).getMeter === 'function',
      { error: 'must be an OpenTelemetry MeterProvider (an object with getMeter())' },
    )
    .optional(),
  perInstance: z.boolean({ error: 'must be a boolean' }).default(true),
  attemptDuration: z.boolean({ error: 'must be a boolean' }).default(true),
});

const limitsSchema = z.strictObject({
  maxRequests: integer(1).default(10_000),
  maxPendingPerInstance: integer(1).default(1024),
  maxConcurrentRetries: integer(1).default(256),
});

/** createClient()'s own options; the balancer's pass through (BALANCER_KEYS). */
export const clientSchema = z.object({
  service: z
    .string({ error: 'is required: the service name, such as "inventory"' })
    .regex(/^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/, {
      error: 'must be a host-name-like service name (letters, digits, dots and dashes)',
    }),
  discovery: discoverySchema,
  strategy: strategySchema.default('peak-ewma'),
  health: fn<HealthFactory>('must be a health factory function').optional(),
  retry: offOr(retrySchema).default(() => retrySchema.parse({})),
  timeout: positiveMs.default(30_000),
  perTryTimeout: positiveMs.optional(),
  hedge: offOr(hedgeSchema).default(false),
  breaker: offOr(breakerSchema).default(() => breakerSchema.parse({})),
  pool: poolSchema.prefault({}),
  tls: tlsSchema.prefault({}),
  limits: limitsSchema.prefault({}),
  loadReports: z
    .strictObject({
      max: z
        .strictObject({
          cpuUtilization: nonNegativeNumber.optional(),
          applicationUtilization: nonNegativeNumber.optional(),
          eventLoopDelayMs: positiveMs.optional(),
          inFlight: integer(1).optional(),
        })
        .optional(),
      intervalMs: ms.default(ASK_INTERVAL_MS),
    })
    .optional(),
  subset: offOr(subsetSchema).default(false),
  metrics: offOr(metricsSchema).default(() => metricsSchema.parse({})),
});

// The documented option types (options.ts) are these schemas' input types, field for field.
type On<T> = Exclude<T, false | undefined>;
true satisfies Agrees<Omit<ClientOptions, (typeof BALANCER_KEYS)[number]>, z.input<typeof clientSchema>>;
true satisfies Agrees<RetryOptions, z.input<typeof retrySchema>>;
true satisfies Agrees<On<RetryOptions['budget']>, z.input<typeof budgetSchema>>;
true satisfies Agrees<HedgeOptions, z.input<typeof hedgeSchema>>;
true satisfies Agrees<BreakerOptions, z.input<typeof breakerSchema>>;
true satisfies Agrees<PoolOptions, z.input<typeof poolSchema>>;
true satisfies Agrees<LimitsOptions, z.input<typeof limitsSchema>>;
true satisfies Agrees<MetricsOptions, z.input<typeof metricsSchema>>;

export type ClientConfig = Omit<z.output<typeof clientSchema>, 'retry' | 'discovery'> & {
  retry: RetryConfig;
  discovery: Instance[] | ProviderLike;
  /** Balancer options passed through to `createBalancer` untouched (it validates them). */
  balancer: BalancerOptions;
};
export type RetryConfig = z.output<typeof retrySchema> & { enabled: boolean };
export type BreakerConfig = z.output<typeof breakerSchema>;
export type PoolConfig = z.output<typeof poolSchema>;
export type { TlsConfig };
export type HedgeConfig = Exclude<z.output<typeof clientSchema>['hedge'], false>;
export type BudgetConfig = z.output<typeof retrySchema>['budget'];

export const BALANCER_KEYS = [
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
  const known = new Set<string>([...Object.keys(clientSchema.shape), ...BALANCER_KEYS]);
  const unknown = unknownOptionsError('Invalid client options', input as object, known);
  if (unknown !== undefined) throw unknown;
  const parsed = parseWith(clientSchema, input, 'Invalid client options');
  const source = input as Record<string, unknown>;
  const balancer: Record<string, unknown> = { strategy: parsed.strategy };
  for (const key of BALANCER_KEYS) if (source[key] !== undefined) balancer[key] = source[key];
  // Checked here too, so that a wrong one is named as the client option the caller wrote;
  // createBalancer parses them again (its own entry point).
  parseWith(balancerSchema, balancer, 'Invalid client options');
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
