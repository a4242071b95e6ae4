// Round robin: equal weights rotate through the endpoints from a random starting point; unequal
// weights interleave picks in proportion to weight (smooth weighted round robin).
//
// nginx's smooth weighted round robin scans every peer on every pick (O(n)), too slow for 10,000
// endpoints. An earliest-deadline-first schedule (Envoy's) gives the same long-run shares and the
// same smoothness (a peer of weight w is picked every 1/w of virtual time, interleaved with the
// others rather than in bursts) in O(log n); the exact order within a cycle may differ from nginx.

import type { Endpoint } from '../endpoint.ts';
import type { PickContext } from '../outcome.ts';
import { type RandomSource, randomIndex } from '../random.ts';
import type { Picker, Strategy, StrategyContext } from '../strategy.ts';
import { exclusions, nextAllowed, sameWeights, weightOf } from './common.ts';
import { EdfScheduler } from './edf.ts';

class RoundRobinPicker implements Picker {
  private readonly random: RandomSource;
  private endpoints: readonly Endpoint[] = [];
  private weighted = false;
  private next = 0;
  private readonly schedule = new EdfScheduler();

  constructor(random: RandomSource) {
    this.random = random;
  }

  rebuild(endpoints: readonly Endpoint[]): void {
    this.endpoints = endpoints;
    const n = endpoints.length;
    this.weighted = !sameWeights(endpoints);
    // A random start, so restarted clients do not all send their first request to one instance.
    this.next = n === 0 ? 0 : randomIndex(this.random, n);
    if (!this.weighted) return;
    this.schedule.reset(n);
    for (let i = 0; i < n; i++) this.schedule.add(i, weightOf(endpoints[i]!), this.random());
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
      this.schedule.reschedule(index, weightOf(endpoint));
      return endpoint;
    }
    const index = nextAllowed(endpoints, this.next, exclude);
    if (index < 0) return undefined;
    this.next = index + 1 === n ? 0 : index + 1;
    return endpoints[index];
  }
}

/**
 * Round robin. Equal weights take turns in order from a random start; unequal weights are
 * interleaved so that each endpoint gets picks in proportion to its weight.
 */
export function roundRobin(): Strategy {
  return {
    name: 'round-robin',
    create: (ctx: StrategyContext) => new RoundRobinPicker(ctx.random),
  };
}
