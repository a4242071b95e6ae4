// Least request, as Envoy's: with equal weights, the best of `choices` distinct random endpoints
// (fewest in-flight requests) wins; with unequal weights, an earliest-deadline-first schedule on
// weight / (active + 1)^bias, so idle traffic follows weights and in-flight load lowers a share.

import { z } from 'zod';
import type { Endpoint } from '../endpoint.ts';
import type { Agrees } from '../fields.ts';
import { parseWith } from '../options.ts';
import type { PickContext } from '../outcome.ts';
import { type RandomSource, randomIndex } from '../random.ts';
import type { Picker, Strategy, StrategyContext } from '../strategy.ts';
import { exclusions, integerIn, sameWeights, weightOf } from './common.ts';
import { EdfScheduler } from './edf.ts';

export interface LeastRequestOptions {
  /** Endpoints sampled per pick when weights are equal; the one with fewest in-flight wins. Default 2. */
  choices?: number;
  /**
   * How strongly in-flight requests lower a weighted endpoint's share: weight / (active + 1)^bias.
   * 0 ignores load (plain weighted round robin). Default 1.
   */
  activeRequestBias?: number;
}

const schema = z.strictObject(
  {
    choices: integerIn(2, 100, 2),
    activeRequestBias: z
      .number({ error: 'must be a number from 0 to 10' })
      .min(0, { error: 'must be a number from 0 to 10' })
      .max(10, { error: 'must be a number from 0 to 10' })
      .default(1),
  },
  { error: 'must be an object' },
);

// Rounds of sampling that may hit excluded endpoints before scanning the allowed ones.
const ROUNDS = 3;

class LeastRequestPicker implements Picker {
  private readonly random: RandomSource;
  private readonly choices: number;
  private readonly bias: number;
  private endpoints: readonly Endpoint[] = [];
  private weighted = false;
  private readonly schedule = new EdfScheduler();
  /** A permutation of endpoint indices, partly reshuffled by each pick to sample without repeats. */
  private order = new Int32Array(0);

  constructor(random: RandomSource, choices: number, bias: number) {
    this.random = random;
    this.choices = choices;
    this.bias = bias;
  }

  rebuild(endpoints: readonly Endpoint[]): void {
    this.endpoints = endpoints;
    const n = endpoints.length;
    this.weighted = !sameWeights(endpoints);
    if (this.weighted) {
      this.schedule.reset(n);
      for (let i = 0; i < n; i++) this.schedule.add(i, this.effectiveWeight(endpoints[i]!), this.random());
    } else if (this.choices > 2 && this.choices < n) {
      this.order = new Int32Array(n);
      for (let i = 0; i < n; i++) this.order[i] = i;
    }
  }

  pick(ctx: PickContext | undefined, _now: number): Endpoint | undefined {
    const endpoints = this.endpoints;
    const n = endpoints.length;
    if (n === 0) return undefined;
    const exclude = exclusions(ctx);
    if (this.weighted) {
      const index = this.schedule.take(endpoints, exclude);
      if (index < 0) return undefined;
      const endpoint = endpoints[index]!;
      // As in Envoy, a host's weight is refreshed from its load when it is put back.
      this.schedule.reschedule(index, this.effectiveWeight(endpoint));
      return endpoint;
    }
    if (n === 1 || this.choices >= n) return this.fewest(endpoints, exclude);
    for (let round = 0; round < ROUNDS; round++) {
      const best = this.choices === 2 ? this.two(endpoints, exclude) : this.sample(endpoints, exclude);
      if (best !== undefined) return best;
    }
    return this.fewest(endpoints, exclude);
  }

  private effectiveWeight(endpoint: Endpoint): number {
    const weight = weightOf(endpoint);
    const load = endpoint.active + 1;
    if (this.bias === 1) return weight / load;
    return this.bias === 0 ? weight : weight / load ** this.bias;
  }

  // The samples come in random order, so keeping the first on a tie breaks ties at random.

  private two(
    endpoints: readonly Endpoint[],
    exclude: ReadonlySet<string> | undefined,
  ): Endpoint | undefined {
    const n = endpoints.length;
    const i = randomIndex(this.random, n);
    let j = randomIndex(this.random, n - 1);
    if (j >= i) j++;
    const a = endpoints[i]!;
    const b = endpoints[j]!;
    // Both choices must be allowed, or the pick would degrade to a blind random one.
    if (exclude !== undefined && (exclude.has(a.instance.id) || exclude.has(b.instance.id))) return undefined;
    return b.active < a.active ? b : a;
  }

  private sample(
    endpoints: readonly Endpoint[],
    exclude: ReadonlySet<string> | undefined,
  ): Endpoint | undefined {
    // A partial Fisher-Yates shuffle draws `choices` distinct indices; any permutation is a
    // valid start for the next pick, so `order` never needs resetting.
    const order = this.order;
    const n = endpoints.length;
    let best: Endpoint | undefined;
    for (let t = 0; t < this.choices; t++) {
      const s = t + randomIndex(this.random, n - t);
      const index = order[s]!;
      order[s] = order[t]!;
      order[t] = index;
      const endpoint = endpoints[index]!;
      if (exclude?.has(endpoint.instance.id)) return undefined;
      if (best === undefined || endpoint.active < best.active) best = endpoint;
    }
    return best;
  }

  /** The allowed endpoint with fewest in-flight requests, scanning from a random offset. */
  private fewest(
    endpoints: readonly Endpoint[],
    exclude: ReadonlySet<string> | undefined,
  ): Endpoint | undefined {
    const n = endpoints.length;
    const start = randomIndex(this.random, n);
    let best: Endpoint | undefined;
    for (let k = 0; k < n; k++) {
      const endpoint = endpoints[start + k < n ? start + k : start + k - n]!;
      if (exclude?.has(endpoint.instance.id)) continue;
      if (best === undefined || endpoint.active < best.active) best = endpoint;
    }
    return best;
  }
}

/**
 * Least request: sends each request to an endpoint with few in-flight requests, sampling
 * `choices` endpoints (power of two choices) when weights are equal.
 */
export function leastRequest(options?: LeastRequestOptions): Strategy {
  const { choices, activeRequestBias } = parseWith(schema, options ?? {}, 'Invalid leastRequest() options');
  return {
    name: 'least-request',
    create: (ctx: StrategyContext) => new LeastRequestPicker(ctx.random, choices, activeRequestBias),
  };
}

// The documented options are the schema's input, field for field.
true satisfies Agrees<LeastRequestOptions, z.input<typeof schema>>;
