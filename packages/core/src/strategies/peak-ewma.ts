// Peak-EWMA, the default strategy (Finagle, Linkerd): of two distinct random endpoints, the one
// with the lower cost = latency EWMA × (in-flight + 1), divided by weight when weights differ.
// The EWMA decays with time, so an endpoint that was slow once is tried again later; one with no
// sample yet is costed at its peers' mean (see latency.ts).

import { z } from 'zod';
import type { Endpoint } from '../endpoint.ts';
import type { Agrees } from '../fields.ts';
import { STALLED_IN_FLIGHT } from '../latency.ts';
import { parseWith } from '../options.ts';
import type { PickContext } from '../outcome.ts';
import { type RandomSource, randomIndex, randomUnit } from '../random.ts';
import type { Picker, Strategy, StrategyContext } from '../strategy.ts';
import { durationMs, exclusions, sameWeights, weightOf } from './common.ts';

export interface PeakEwmaOptions {
  /** Time constant of the latency EWMA's decay, ms: how fast old latencies are forgotten. Default 10000. */
  decayMs?: number;
  /**
   * Latency assumed for an endpoint with no samples while no other has any either, ms. Once some
   * have, an endpoint without samples is costed at their mean. Default 30.
   */
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

// Between two endpoints with nothing in flight, latency estimates within this factor of each
// other count as the same (the pick goes either way at random). Each estimate is an EWMA of
// noisy samples over ~10 s, so a gap this small says nothing about the instances; compared
// exactly, it sent every serial request to whichever instance happened to be estimated lowest
// (shares of 0/64/36% over three equal ones), while a slow instance is slower by far more than
// this. With requests in flight the exact cost decides, as it always did: there the in-flight
// counts spread the load, and a slow instance re-probed at a coin's toss took twice its share.
const SAME_LATENCY = 1.25;

// No number crosses a call on the pick path: estimates go to `latencies`, the time to `clock`.
// V8 boxes a double passed to or returned from a call it does not inline, and which calls it
// inlines depends on all the code around the pick; boxed, a pick allocated 16-32 bytes.
class PeakEwmaPicker implements Picker {
  private readonly random: RandomSource;
  private readonly decayMs: number;
  private endpoints: readonly Endpoint[] = [];
  private weighted = false;
  private readonly clock = new Float64Array(1);
  private readonly latencies = new Float64Array(2);

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
    this.clock[0] = now;
    for (let round = 0; round < ROUNDS; round++) {
      const i = randomIndex(this.random, n);
      let j = randomIndex(this.random, n - 1);
      if (j >= i) j++;
      const a = endpoints[i]!;
      const b = endpoints[j]!;
      // Both choices must be allowed, or the pick would degrade to a blind random one.
      if (exclude !== undefined && (exclude.has(a.instance.id) || exclude.has(b.instance.id))) continue;
      this.estimate(a, 0);
      this.estimate(b, 1);
      // `a` was drawn at random, so keeping it on a tie breaks ties at random.
      return this.cheaper(b, a, true) ? b : a;
    }
    return this.cheapest(endpoints, exclude!);
  }

  /** Writes the endpoint's latency estimate now to `latencies[slot]`. */
  private estimate(endpoint: Endpoint, slot: number): void {
    // An endpoint that has not answered yet (new, or back from unhealthy) costs what its peers
    // do; their mean decays like an EWMA. One that has, with requests in flight, costs at least
    // the time since its last answer (see latency.ts for both).
    const sampled = endpoint.sampled;
    const ms = sampled ? endpoint.ewmaMs : endpoint.tracker.peersMs;
    const elapsed = this.clock[0]! - (sampled ? endpoint.ewmaStamp : endpoint.tracker.peersStamp);
    const latency = elapsed <= 0 ? ms : ms * Math.exp(-elapsed / this.decayMs);
    // Busy and silent for longer than its latency: it may have stopped answering (latency.ts).
    this.latencies[slot] =
      sampled && endpoint.active >= STALLED_IN_FLIGHT && elapsed > latency ? elapsed : latency;
  }

  /**
   * Whether `b` (estimate in `latencies[1]`) costs less than `a` (in `latencies[0]`): latency ×
   * (in-flight + 1), divided by weight when weights differ; with `similar`, latencies within
   * SAME_LATENCY of each other compare as equal when neither endpoint has a request in flight.
   */
  private cheaper(b: Endpoint, a: Endpoint, similar: boolean): boolean {
    let la = this.latencies[0]!;
    let lb = this.latencies[1]!;
    if (similar && a.active === 0 && b.active === 0 && la <= lb * SAME_LATENCY && lb <= la * SAME_LATENCY) {
      if (this.weighted) {
        // Equal by latency and both idle: in proportion to weight. Compared on (in-flight + 1) /
        // weight, the heavier would win every time, and serial traffic would never try the other.
        const wa = weightOf(a);
        const wb = weightOf(b);
        if (wb === 0) return false;
        if (wa === 0) return true;
        return randomUnit(this.random) * (wa + wb) < wb;
      }
      la = 1;
      lb = 1;
    }
    const ca = la * (a.active + 1);
    const cb = lb * (b.active + 1);
    if (!this.weighted) return cb < ca;
    // Weight 0 (or not a finite positive number) costs infinitely much.
    const wa = weightOf(a);
    const wb = weightOf(b);
    if (wb === 0) return false;
    return wa === 0 || cb * wa < ca * wb;
  }

  /** Many endpoints excluded: the cheapest allowed one, by a linear scan. */
  private cheapest(endpoints: readonly Endpoint[], exclude: ReadonlySet<string>): Endpoint | undefined {
    let best: Endpoint | undefined;
    for (let k = 0; k < endpoints.length; k++) {
      const endpoint = endpoints[k]!;
      if (exclude.has(endpoint.instance.id)) continue;
      this.estimate(endpoint, 1);
      if (best === undefined || this.cheaper(endpoint, best, false)) {
        best = endpoint;
        this.latencies[0] = this.latencies[1]!;
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

// The documented options are the schema's input, field for field.
true satisfies Agrees<PeakEwmaOptions, z.input<typeof schema>>;
