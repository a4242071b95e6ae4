// Peak-EWMA, the default strategy (Finagle, Linkerd): of two distinct random endpoints, the one
// with the lower cost = latency EWMA × (in-flight + 1), divided by weight when weights differ.
// The EWMA decays with time, so an endpoint that was slow once is tried again later.

import { z } from 'zod';
import type { Endpoint } from '../endpoint.ts';
import { parseWith } from '../options.ts';
import type { PickContext } from '../outcome.ts';
import { type RandomSource, randomIndex } from '../random.ts';
import type { Picker, Strategy, StrategyContext } from '../strategy.ts';
import { durationMs, exclusions, sameWeights, weightOf } from './common.ts';

export interface PeakEwmaOptions {
  /** Time constant of the latency EWMA's decay, ms: how fast old latencies are forgotten. Default 10000. */
  decayMs?: number;
  /** Latency assumed for an endpoint with no samples yet, ms. Default 30. */
  defaultRttMs?: number;
  /** Latency recorded for a failed request that answered faster than this, ms. Default 250. */
  failurePenaltyMs?: number;
}

const schema = z.strictObject(
  {
    decayMs: durationMs(10_000),
    defaultRttMs: durationMs(30),
    failurePenaltyMs: z
      .number({ error: 'must be a number of milliseconds' })
      .min(0, { error: 'must be a non-negative number of milliseconds' })
      .default(250),
  },
  { error: 'must be an object' },
);

// Rounds of two draws that may hit excluded endpoints before scanning the allowed ones.
const ROUNDS = 3;

class PeakEwmaPicker implements Picker {
  private readonly random: RandomSource;
  private readonly decayMs: number;
  private endpoints: readonly Endpoint[] = [];
  private weighted = false;

  constructor(random: RandomSource, decayMs: number) {
    this.random = random;
    this.decayMs = decayMs;
  }

  rebuild(endpoints: readonly Endpoint[]): void {
    this.endpoints = endpoints;
    this.weighted = !sameWeights(endpoints);
  }

  pick(ctx: PickContext | undefined, now: number): Endpoint | undefined {
    const endpoints = this.endpoints;
    const n = endpoints.length;
    if (n === 0) return undefined;
    const exclude = exclusions(ctx);
    if (n === 1) {
      const only = endpoints[0]!;
      return exclude?.has(only.instance.id) ? undefined : only;
    }
    for (let round = 0; round < ROUNDS; round++) {
      const i = randomIndex(this.random, n);
      let j = randomIndex(this.random, n - 1);
      if (j >= i) j++;
      const a = endpoints[i]!;
      const b = endpoints[j]!;
      // Both choices must be allowed, or the pick would degrade to a blind random one.
      if (exclude !== undefined && (exclude.has(a.instance.id) || exclude.has(b.instance.id))) continue;
      // `a` was drawn at random, so keeping it on a tie breaks ties at random.
      return this.cheaper(b, a, now) ? b : a;
    }
    return this.cheapest(endpoints, exclude!, now);
  }

  /**
   * Whether `b` costs less than `a`. The costs are compared in this small method, which `cost` is
   * inlined into, rather than returned to `pick`: V8 boxes a double returned by a call it does not
   * inline, and the call from `pick` was not inlined, so each pick allocated. pick-gc.test.ts
   * keeps it that way.
   */
  private cheaper(b: Endpoint, a: Endpoint, now: number): boolean {
    return this.cost(b, now) < this.cost(a, now);
  }

  private cost(endpoint: Endpoint, now: number): number {
    const cost = endpoint.ewmaAt(now, this.decayMs) * (endpoint.active + 1);
    if (!this.weighted) return cost;
    const weight = weightOf(endpoint);
    return weight > 0 ? cost / weight : Number.POSITIVE_INFINITY;
  }

  /** Many endpoints excluded: the cheapest allowed one, by a linear scan. */
  private cheapest(
    endpoints: readonly Endpoint[],
    exclude: ReadonlySet<string>,
    now: number,
  ): Endpoint | undefined {
    let best: Endpoint | undefined;
    let bestCost = Number.POSITIVE_INFINITY;
    for (let k = 0; k < endpoints.length; k++) {
      const endpoint = endpoints[k]!;
      if (exclude.has(endpoint.instance.id)) continue;
      const cost = this.cost(endpoint, now);
      if (best === undefined || cost < bestCost) {
        best = endpoint;
        bestCost = cost;
      }
    }
    return best;
  }
}

/**
 * Peak-EWMA (the default): picks two endpoints at random and sends the request to the one with
 * the lower expected wait, latency × (in-flight + 1). Its options tune the latency tracking the
 * balancer keeps for every endpoint.
 */
export function peakEwma(options?: PeakEwmaOptions): Strategy {
  const latency = parseWith(schema, options ?? {}, 'Invalid peakEwma() options');
  return {
    name: 'peak-ewma',
    latency,
    create: (ctx: StrategyContext) => new PeakEwmaPicker(ctx.random, latency.decayMs),
  };
}
