// Weighted round robin from server-reported load (gRPC's A58, `weighted_round_robin`): each
// endpoint's weight is its throughput per unit of utilization, qps / (utilization + eps/qps ×
// penalty), from the load reports the balancer records (`Balancer.reportLoad`: ORCA headers on
// responses, or a load check). Picks follow the weights through an earliest-deadline-first
// schedule rebuilt every `weightUpdatePeriodMs`; between rebuilds a pick is O(log n).

import { z } from 'zod';
import { MAX_DURATION_MS } from '../duration.ts';
import type { Endpoint } from '../endpoint.ts';
import type { Agrees } from '../fields.ts';
import { parseWith } from '../options.ts';
import type { PickContext } from '../outcome.ts';
import { type RandomSource, randomIndex } from '../random.ts';
import type { Picker, Strategy, StrategyContext } from '../strategy.ts';
import { DURATION_TOO_LONG, exclusions, nextAllowed } from './common.ts';
import { EdfScheduler } from './edf.ts';

export interface WeightedRoundRobinOptions {
  /**
   * An endpoint must report load for this long before its weight is used, ms, so that the first
   * reports of a new (or returning) instance, at low traffic, do not swing the balance. 0 turns it
   * off. Default 10000.
   */
  blackoutPeriodMs?: number;
  /** A weight not refreshed by a report for this long is dropped, ms. Default 180000 (3 minutes). */
  weightExpirationPeriodMs?: number;
  /** How often weights are recomputed from the latest reports, ms; at least 100. Default 1000. */
  weightUpdatePeriodMs?: number;
  /**
   * Weighs errors as load: eps/qps × this is added to the utilization, so an instance answering
   * fast with errors is not sent more. 0 ignores errors. Default 1.
   */
  errorUtilizationPenalty?: number;
}

/** A duration option in milliseconds: at least `min`, up to the duration rule's ceiling. */
function ms(min: number, fallback: number) {
  const error =
    min > 0 ? `must be at least ${min} milliseconds` : 'must be a non-negative number of milliseconds';
  return z
    .number({ error: 'must be a number of milliseconds' })
    .min(min, { error })
    .max(MAX_DURATION_MS, { error: DURATION_TOO_LONG })
    .default(fallback);
}

const schema = z.strictObject(
  {
    blackoutPeriodMs: ms(0, 10_000),
    weightExpirationPeriodMs: ms(1, 180_000),
    weightUpdatePeriodMs: ms(100, 1000),
    errorUtilizationPenalty: z
      .number({ error: 'must be a number' })
      .min(0, { error: 'must be a non-negative number' })
      .max(Number.MAX_VALUE, { error: 'must be a finite number' })
      .default(1),
  },
  { error: 'must be an object' },
);

type Config = z.output<typeof schema>;

// Weights are held within these multiples of the mean: one odd report (a utilization near 0)
// cannot take all the traffic, and an instance weighed low still gets enough requests for its
// reports to stay fresh.
const MAX_RATIO = 10;
const MIN_RATIO = 0.1;

/** What the picker keeps per endpoint across rebuilds (A58's weight and last_updated). */
class EndpointWeight {
  /** Weight from the latest usable report. */
  weight = 0;
  /** Balancer clock of that report. */
  updatedAt = Number.NEGATIVE_INFINITY;
  /**
   * When the endpoint joined this picker's set, for its blackout; -infinity for those of the first
   * build, whose reports since before the picker existed count.
   */
  joinedAt = Number.NEGATIVE_INFINITY;
  /** The endpoint's report count when last read (a new report raises it); -1 before the first read. */
  seen = -1;
  /** For reports without `rps`: the endpoint's released requests and the clock at the last report. */
  requests = 0;
  reportAt = Number.NaN;
}

class WeightedRoundRobinPicker implements Picker {
  private readonly random: RandomSource;
  private readonly now: () => number;
  private readonly config: Config;
  private endpoints: readonly Endpoint[] = [];
  private states: EndpointWeight[] = [];
  private byEndpoint = new Map<Endpoint, EndpointWeight>();
  /** The weights the schedule was built with, by endpoint index; and those of the update before. */
  private weights = new Float64Array(0);
  private previous = new Float64Array(0);
  /** At least two endpoints have usable weights; otherwise plain round robin. */
  private weighted = false;
  private next = 0;
  private nextUpdateAt = Number.NEGATIVE_INFINITY;
  private built = false;
  private readonly schedule = new EdfScheduler();

  constructor(ctx: StrategyContext, config: Config) {
    this.random = ctx.random;
    this.now = ctx.now;
    this.config = config;
  }

  rebuild(endpoints: readonly Endpoint[]): void {
    this.endpoints = endpoints;
    const n = endpoints.length;
    const now = this.now();
    // An endpoint that joins (or leaves this set and comes back) starts over, blackout included,
    // as A58 resets non_empty_since when a subchannel becomes ready again.
    const states: EndpointWeight[] = new Array(n);
    const byEndpoint = new Map<Endpoint, EndpointWeight>();
    for (let i = 0; i < n; i++) {
      const endpoint = endpoints[i]!;
      endpoint.load.runGapMs = this.config.weightExpirationPeriodMs;
      let state = this.byEndpoint.get(endpoint);
      if (state === undefined) {
        state = new EndpointWeight();
        if (this.built) state.joinedAt = now;
      }
      states[i] = state;
      byEndpoint.set(endpoint, state);
    }
    this.byEndpoint = byEndpoint;
    this.states = states;
    if (this.weights.length < n) {
      this.weights = new Float64Array(n);
      this.previous = new Float64Array(n);
    }
    this.previous.fill(Number.NaN);
    this.next = n === 0 ? 0 : randomIndex(this.random, n);
    this.built = true;
    this.update(now);
  }

  pick(ctx: PickContext | undefined, now: number): Endpoint | undefined {
    const endpoints = this.endpoints;
    const n = endpoints.length;
    if (n === 0) return undefined;
    if (now >= this.nextUpdateAt) this.update(now);
    const exclude = exclusions(ctx);
    if (this.weighted) {
      const index = this.schedule.take(endpoints, exclude);
      if (index < 0) return undefined;
      this.schedule.rescheduleFrom(index, this.weights);
      return endpoints[index];
    }
    const index = nextAllowed(endpoints, this.next, exclude);
    if (index < 0) return undefined;
    this.next = index + 1 === n ? 0 : index + 1;
    return endpoints[index];
  }

  /** Reads new reports, works out each endpoint's usable weight and rebuilds the schedule if any changed. */
  private update(now: number): void {
    this.nextUpdateAt = now + this.config.weightUpdatePeriodMs;
    const endpoints = this.endpoints;
    const n = endpoints.length;
    const weights = this.weights;
    const { weightExpirationPeriodMs: expiration, blackoutPeriodMs: blackout } = this.config;
    let usable = 0;
    let total = 0;
    // Inline rather than in methods returning numbers: V8 boxes a double returned from a call it
    // does not inline, and this loop runs over every endpoint once a period.
    for (let i = 0; i < n; i++) {
      const endpoint = endpoints[i]!;
      const state = this.states[i]!;
      if (endpoint.load.count !== state.seen) this.read(endpoint, state);
      // A58's GetWeight: 0 once expired, or until reports have come for the blackout period.
      let w = state.weight;
      if (now - state.updatedAt >= expiration) w = 0;
      else if (blackout > 0 && now - Math.max(endpoint.load.since, state.joinedAt) < blackout) w = 0;
      weights[i] = w;
      if (w > 0) {
        usable++;
        total += w;
      }
    }
    this.weighted = usable >= 2;
    if (!this.weighted) return;
    // Endpoints without a usable weight are sent as much as the average one.
    const mean = total / usable;
    let changed = false;
    for (let i = 0; i < n; i++) {
      const w = weights[i]!;
      const held = w > 0 ? Math.min(Math.max(w, mean * MIN_RATIO), mean * MAX_RATIO) : mean;
      weights[i] = held;
      if (held !== this.previous[i]) changed = true;
      this.previous[i] = held;
    }
    if (!changed) return;
    this.schedule.reset(n);
    for (let i = 0; i < n; i++) this.schedule.add(i, weights[i]!, this.random());
  }

  /** A58's UpdateWeight, on the endpoint's latest report. */
  private read(endpoint: Endpoint, state: EndpointWeight): void {
    const report = endpoint.load;
    state.seen = report.count;
    let rps = report.rps;
    if (!(rps >= 0)) {
      // No rps in the report (a load check's): the rate this client sent at since the last
      // report stands in. Under weights every client follows, each sends the same share of an
      // instance's traffic, so the ratio of rate to utilization still measures its capacity.
      const since = report.at - state.reportAt;
      rps = since > 0 ? ((endpoint.requests - state.requests) * 1000) / since : 0;
      state.requests = endpoint.requests;
      state.reportAt = report.at;
    }
    // A58: the application's utilization when reported and above 0, else the CPU's.
    const app = report.applicationUtilization;
    let utilization = app > 0 ? app : report.cpuUtilization;
    if (!(utilization > 0 && rps > 0)) return;
    const eps = report.eps;
    if (eps > 0) utilization += (eps / rps) * this.config.errorUtilizationPenalty;
    state.updatedAt = report.at;
    state.weight = rps / utilization;
  }
}

/**
 * Weighted round robin on server-reported load (gRPC's A58): instances that do more work per
 * unit of utilization get proportionally more requests. Weights come from `Balancer.reportLoad`
 * (ORCA `endpoint-load-metrics` headers on responses, or a load check); until at least two
 * instances have usable weights it is plain round robin, and an instance without one is sent as
 * much as the average.
 */
export function weightedRoundRobin(options?: WeightedRoundRobinOptions): Strategy {
  const config = parseWith(schema, options ?? {}, 'Invalid weightedRoundRobin() options');
  return {
    name: 'weighted-round-robin',
    create: (ctx: StrategyContext) => new WeightedRoundRobinPicker(ctx, config),
  };
}

// The documented options are the schema's input, field for field.
true satisfies Agrees<WeightedRoundRobinOptions, z.input<typeof schema>>;
