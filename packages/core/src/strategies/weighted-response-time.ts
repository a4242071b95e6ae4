// Weighted response time, as Ribbon's WeightedResponseTimeRule: an endpoint's share is the sum of
// all average latencies minus its own, so faster endpoints get more; then a weighted random pick.

import { z } from 'zod';
import type { Endpoint } from '../endpoint.ts';
import type { Agrees } from '../fields.ts';
import { parseWith } from '../options.ts';
import type { PickContext } from '../outcome.ts';
import type { RandomSource } from '../random.ts';
import type { Picker, Strategy, StrategyContext } from '../strategy.ts';
import { durationMs, exclusions, weightOf } from './common.ts';
import { WeightedChoice } from './weighted-choice.ts';

export interface WeightedResponseTimeOptions {
  /** How often the shares are recomputed from the latency averages, ms. Default 30000. */
  intervalMs?: number;
}

const schema = z.strictObject({ intervalMs: durationMs(30_000) }, { error: 'must be an object' });

class WeightedResponseTimePicker implements Picker {
  private readonly random: RandomSource;
  private readonly now: () => number;
  private readonly intervalMs: number;
  private endpoints: readonly Endpoint[] = [];
  private readonly choice = new WeightedChoice();
  private nextUpdate = 0;

  constructor(ctx: StrategyContext, intervalMs: number) {
    this.random = ctx.random;
    this.now = ctx.now;
    this.intervalMs = intervalMs;
  }

  rebuild(endpoints: readonly Endpoint[]): void {
    this.endpoints = endpoints;
    this.update(this.now());
  }

  pick(ctx: PickContext | undefined, now: number): Endpoint | undefined {
    // Recomputed lazily on the hot path rather than by a timer, so a picker holds no timer to close.
    if (now >= this.nextUpdate) this.update(now);
    return this.choice.pick(this.random, this.endpoints, exclusions(ctx));
  }

  private update(now: number): void {
    this.nextUpdate = now + this.intervalMs;
    const endpoints = this.endpoints;
    const n = endpoints.length;
    let sampled = 0;
    let sumOfAverages = 0;
    for (let i = 0; i < n; i++) {
      const e = endpoints[i]!;
      if (e.latencySamples > 0) {
        sampled++;
        sumOfAverages += e.latencyTotalMs / e.latencySamples;
      }
    }
    const choice = this.choice;
    choice.begin(n);
    if (sampled === 0) {
      // Nothing measured yet: plain weighted random.
      for (let i = 0; i < n; i++) choice.set(i, weightOf(endpoints[i]!));
    } else {
      // An endpoint not measured yet counts as average, neither favoured nor starved.
      const mean = sumOfAverages / sampled;
      const total = sumOfAverages + mean * (n - sampled);
      for (let i = 0; i < n; i++) {
        const e = endpoints[i]!;
        const average = e.latencySamples > 0 ? e.latencyTotalMs / e.latencySamples : mean;
        // Scaled by the endpoint's weight so slow start and configured weights still apply.
        choice.set(i, (total - average) * weightOf(e));
      }
    }
    // All shares 0 (one endpoint, or every average 0) falls back to an even split.
    choice.seal();
  }
}

/**
 * Weighted response time: endpoints with lower average latency get proportionally more traffic.
 * Shares are recomputed every `intervalMs` and whenever the endpoints change.
 */
export function weightedResponseTime(options?: WeightedResponseTimeOptions): Strategy {
  const { intervalMs } = parseWith(schema, options ?? {}, 'Invalid weightedResponseTime() options');
  return {
    name: 'weighted-response-time',
    create: (ctx: StrategyContext) => new WeightedResponseTimePicker(ctx, intervalMs),
  };
}

// The documented options are the schema's input, field for field.
true satisfies Agrees<WeightedResponseTimeOptions, z.input<typeof schema>>;
