// The balancer's options, parsed once into a fully-defaulted form.

import { z } from 'zod';
import { coarseNow } from './clock.ts';
import { type Agrees, fn, integer, nonEmptyString, percent, positiveMs, positiveNumber } from './fields.ts';
import { offOr, parseWith } from './options.ts';
import { type RandomSource, unseededRandom } from './random.ts';
import { STRATEGY_NAMES, strategyByName } from './strategies/index.ts';
import type { LatencyTracking, Strategy } from './strategy.ts';
import { type SubsetConfig, subsetConfig, subsetSchema } from './subset-options.ts';
import type { BalancerOptions, OutlierDetectionOptions, SlowStartOptions, StrategyName } from './types.ts';

const count = integer(0);

function isStrategy(value: unknown): value is Strategy {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Strategy).name === 'string' &&
    typeof (value as Strategy).create === 'function'
  );
}

/**
 * A strategy name or a factory (an object with a `name` and `create()`): the one rule for the
 * balancer's `strategy` and the client's, which embeds it.
 */
export const strategySchema = z.custom<StrategyName | Strategy>(
  (v) => (typeof v === 'string' && (STRATEGY_NAMES as readonly string[]).includes(v)) || isStrategy(v),
  { error: `must be one of ${STRATEGY_NAMES.map((n) => `'${n}'`).join(', ')}, or a strategy factory` },
);

const successRateSchema = z.strictObject({
  stdevFactor: positiveNumber.default(1.9),
  minimumHosts: count.default(5),
  requestVolume: count.default(100),
});

const failurePercentageSchema = z.strictObject({
  threshold: percent.default(85),
  minimumHosts: count.default(5),
  requestVolume: count.default(50),
});

const outlierSchema = z.strictObject({
  intervalMs: positiveMs.default(10_000),
  consecutiveFailures: count.default(5),
  baseEjectionMs: positiveMs.default(30_000),
  maxEjectionMs: positiveMs.default(300_000),
  maxEjectionPercent: percent.default(10),
  successRate: offOr(successRateSchema).default(successRateSchema.parse({})),
  failurePercentage: offOr(failurePercentageSchema).default(failurePercentageSchema.parse({})),
});

const slowStartSchema = z.strictObject({
  windowMs: positiveMs,
  aggression: positiveNumber.default(1),
  minWeightPercent: percent.default(10),
});

/** createBalancer()'s options (the README's option table is checked against its keys). */
export const balancerSchema = z.strictObject({
  strategy: strategySchema.default('peak-ewma'),
  panicThreshold: percent.default(50),
  overprovisioningFactor: z
    .number({ error: 'must be a number' })
    .min(1, { error: 'must be at least 1' })
    .default(1.4),
  slowStart: offOr(slowStartSchema).default(false),
  zone: z
    .union([nonEmptyString, z.strictObject({ local: nonEmptyString })], {
      error: 'must be a zone name or { local: zone name }',
    })
    .optional(),
  outlierDetection: offOr(outlierSchema).default(outlierSchema.parse({})),
  healthSources: z
    .array(z.string({ error: 'must be a source name' }).min(1, { error: 'must not be empty' }), {
      error: 'must be an array of health source names',
    })
    .max(24, { error: 'must list at most 24 sources' })
    .readonly()
    .default([]),
  random: fn<RandomSource>().optional(),
  now: fn<() => number>().optional(),
  subset: offOr(subsetSchema).default(false),
});

// The documented option types (types.ts) are the schemas' input types, field for field.
type On<T> = Exclude<T, false | undefined>;
true satisfies Agrees<BalancerOptions, z.input<typeof balancerSchema>>;
true satisfies Agrees<SlowStartOptions, z.input<typeof slowStartSchema>>;
true satisfies Agrees<OutlierDetectionOptions, z.input<typeof outlierSchema>>;
true satisfies Agrees<On<OutlierDetectionOptions['successRate']>, z.input<typeof successRateSchema>>;
true satisfies Agrees<
  On<OutlierDetectionOptions['failurePercentage']>,
  z.input<typeof failurePercentageSchema>
>;

type Parsed = z.output<typeof balancerSchema>;
export type OutlierConfig = Exclude<Parsed['outlierDetection'], false>;
export type SlowStartConfig = Exclude<Parsed['slowStart'], false>;

export interface BalancerConfig {
  strategy: Strategy;
  latency: LatencyTracking;
  panicThreshold: number;
  overprovisioningFactor: number;
  slowStart: SlowStartConfig | undefined;
  localZone: string | undefined;
  outlier: OutlierConfig | undefined;
  healthSources: readonly string[];
  random: RandomSource;
  now: () => number;
  subset: SubsetConfig | undefined;
}

export function parseBalancerOptions(options: BalancerOptions = {}): BalancerConfig {
  const parsed = parseWith(balancerSchema, options, 'Invalid balancer options');
  const strategy = typeof parsed.strategy === 'string' ? strategyByName(parsed.strategy) : parsed.strategy;
  return {
    strategy,
    latency: {
      decayMs: strategy.latency?.decayMs ?? 10_000,
      defaultRttMs: strategy.latency?.defaultRttMs ?? 30,
      failurePenaltyMs: strategy.latency?.failurePenaltyMs ?? 250,
    },
    panicThreshold: parsed.panicThreshold / 100,
    overprovisioningFactor: parsed.overprovisioningFactor,
    slowStart: parsed.slowStart === false ? undefined : parsed.slowStart,
    localZone: typeof parsed.zone === 'string' ? parsed.zone : parsed.zone?.local,
    outlier: parsed.outlierDetection === false ? undefined : parsed.outlierDetection,
    healthSources: parsed.healthSources,
    random: parsed.random ?? unseededRandom(),
    now: parsed.now ?? coarseNow,
    subset: parsed.subset === false ? undefined : subsetConfig(parsed.subset),
  };
}
