// What ring hash and maglev share: a table of positions, each owned by an endpoint, that a key
// enters at a position of its own and walks forward from (wrapping) when its owner is excluded
// or, with `hashBalanceFactor`, over its bound. Each builds the table its own way.

import type { Endpoint } from '../endpoint.ts';
import type { RandomSource } from '../random.ts';
import type { BalancerLoad, StrategyContext } from '../strategy.ts';
import { allExcluded, inFlightOf, loadWeight } from './common.ts';

export abstract class OwnerTablePicker {
  protected readonly random: RandomSource;
  /** `hashBalanceFactor`, or 0 when off. */
  protected readonly factor: number;
  protected readonly load: BalancerLoad | undefined;
  protected endpoints: readonly Endpoint[] = [];
  /** Sum of the endpoints' `loadWeight`s, for the bound. */
  protected totalWeight = 0;
  /** Position → endpoint index. */
  protected owners: Int32Array;

  constructor(ctx: StrategyContext, factor: number, owners: Int32Array) {
    this.random = ctx.random;
    this.load = ctx.load;
    this.factor = factor;
    this.owners = owners;
  }

  /**
   * The endpoint a key entering at `start` goes to: its owner, or the next allowed one after it
   * (the same endpoint every retry of the key gets); with a factor, the first with room.
   */
  protected ownerFrom(start: number, exclude: ReadonlySet<string> | undefined): Endpoint | undefined {
    if (this.factor > 0) return this.bounded(start, exclude);
    const endpoints = this.endpoints;
    const owners = this.owners;
    const first = endpoints[owners[start]!]!;
    if (exclude === undefined || !exclude.has(first.instance.id)) return first;
    if (allExcluded(endpoints, exclude)) return undefined;
    // Neighbouring positions belong to endpoints unrelated to each other, so this ends within a
    // few steps.
    const size = owners.length;
    for (let step = 1; step < size; step++) {
      let k = start + step;
      if (k >= size) k -= size;
      const endpoint = endpoints[owners[k]!]!;
      if (!exclude.has(endpoint.instance.id)) return endpoint;
    }
    return undefined;
  }

  /**
   * From position `start` on, the first allowed endpoint with room under its bound:
   * ceil(factor × (in-flight + 1) × weight / total weight). One always has room unless retries
   * exclude the rest; then the first allowed endpoint is taken over its bound.
   */
  private bounded(start: number, exclude: ReadonlySet<string> | undefined): Endpoint | undefined {
    const endpoints = this.endpoints;
    if (exclude !== undefined && allExcluded(endpoints, exclude)) return undefined;
    const owners = this.owners;
    const size = owners.length;
    const perWeight = (this.factor * (inFlightOf(this.load, endpoints) + 1)) / this.totalWeight;
    let fallback: Endpoint | undefined;
    for (let step = 0; step < size; step++) {
      let k = start + step;
      if (k >= size) k -= size;
      const endpoint = endpoints[owners[k]!]!;
      if (exclude?.has(endpoint.instance.id)) continue;
      if (endpoint.active + 1 <= Math.ceil(perWeight * loadWeight(endpoint))) return endpoint;
      fallback ??= endpoint;
    }
    return fallback;
  }
}
