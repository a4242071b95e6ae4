// Weighted random: each pick is an independent draw in proportion to weight. Stateless between
// picks, so it needs no coordination and spreads evenly over many clients.

import type { Endpoint } from '../endpoint.ts';
import type { PickContext } from '../outcome.ts';
import type { RandomSource } from '../random.ts';
import type { Picker, Strategy, StrategyContext } from '../strategy.ts';
import { exclusions, weightOf } from './common.ts';
import { WeightedChoice } from './weighted-choice.ts';

class RandomPicker implements Picker {
  private readonly random: RandomSource;
  private endpoints: readonly Endpoint[] = [];
  private readonly choice = new WeightedChoice();

  constructor(random: RandomSource) {
    this.random = random;
  }

  rebuild(endpoints: readonly Endpoint[]): void {
    this.endpoints = endpoints;
    const n = endpoints.length;
    this.choice.begin(n);
    for (let i = 0; i < n; i++) this.choice.set(i, weightOf(endpoints[i]!));
    this.choice.seal();
  }

  pick(ctx: PickContext | undefined, _now: number): Endpoint | undefined {
    return this.choice.pick(this.random, this.endpoints, exclusions(ctx));
  }
}

/** Weighted random: each request goes to an endpoint drawn in proportion to its weight. */
export function random(): Strategy {
  return {
    name: 'random',
    create: (ctx: StrategyContext) => new RandomPicker(ctx.random),
  };
}
