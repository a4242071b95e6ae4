// Ring hash (ketama-style consistent hashing): each endpoint owns points on a 32-bit ring in
// proportion to its weight, and a key goes to the owner of the first point at or after its hash.
// Removing one of N endpoints moves only the keys it owned, about 1/N of them. With
// `hashBalanceFactor`, consistent hashing with bounded loads (Mirrokni, Thorup and Zadimoghaddam,
// 2016; Envoy's option): an endpoint already at its share of factor × the in-flight load is passed
// over for the next one clockwise, so keys stay put while load is even and move only as needed.

import { z } from 'zod';
import type { Endpoint } from '../endpoint.ts';
import type { Agrees } from '../fields.ts';
import { hashKeyBits, hashString } from '../hash.ts';
import { parseWith } from '../options.ts';
import type { PickContext } from '../outcome.ts';
import { randomUnit } from '../random.ts';
import type { Picker, Strategy, StrategyContext } from '../strategy.ts';
import { exclusions, hashBalanceFactor, integerIn, loadWeight } from './common.ts';
import { OwnerTablePicker } from './owner-table.ts';

export interface RingHashOptions {
  /** Fewest points on the ring; more points follow weights more closely. Default 1024. */
  minRingSize?: number;
  /** Most points on the ring, bounding memory and rebuild time. Default 8388608 (2^23). */
  maxRingSize?: number;
  /**
   * Bounded load: an endpoint whose in-flight requests would pass this factor × its weighted share
   * of all in-flight requests (+1) is passed over for the next endpoint on the ring. At least 1;
   * 1.25 is a common choice (the smaller, the more even the load and the more keys move). Unset
   * (the default): off, keys never move for load.
   */
  hashBalanceFactor?: number;
}

const MAX_RING = 2 ** 23;

const schema = z
  .strictObject(
    {
      minRingSize: integerIn(1, MAX_RING, 1024),
      maxRingSize: integerIn(1, MAX_RING, MAX_RING),
      hashBalanceFactor,
    },
    { error: 'must be an object' },
  )
  .refine((o) => o.minRingSize <= o.maxRingSize, {
    error: 'must be at least `minRingSize`',
    path: ['maxRingSize'],
  });

// Endpoint indices below this fit beside a 32-bit hash in a double's 53-bit mantissa.
const INDEX_LIMIT = 2 ** 21;

/**
 * Points per unit of weight: enough for `minRingSize` in all and for the lightest endpoint to get
 * one, rounded up to a power of two. The rounding keeps it unchanged when an endpoint joins or
 * leaves (unless the total weight crosses a power of two), so the others keep exactly their
 * points and only the keys of the endpoint that left move.
 */
function pointsPerWeight(totalWeight: number, minWeight: number, minRing: number, maxRing: number): number {
  const scale = 2 ** Math.ceil(Math.log2(Math.max(minRing / totalWeight, 1 / minWeight)));
  // Past the cap, the exact cap instead (every endpoint still gets at least one point).
  return scale * totalWeight > maxRing ? maxRing / totalWeight : scale;
}

/** Weight on the ring: an endpoint weighing 0 is still reachable, as if it weighed 1. */
const ringWeight = loadWeight;

/**
 * Sorts the points by hash, and points of equal hash by the id of their owner, so that the ring
 * depends on the set alone and not on the order discovery listed it in.
 */
function sortPoints(hashes: Uint32Array, owners: Int32Array, endpoints: readonly Endpoint[]): void {
  const size = hashes.length;
  if (endpoints.length < INDEX_LIMIT) {
    // Packed into doubles (hash × 2^21 + index, exact below 2^53) for a native numeric sort.
    const packed = new Float64Array(size);
    for (let k = 0; k < size; k++) packed[k] = hashes[k]! * INDEX_LIMIT + owners[k]!;
    packed.sort();
    for (let k = 0; k < size; k++) {
      const v = packed[k]!;
      const hash = Math.floor(v / INDEX_LIMIT);
      hashes[k] = hash;
      owners[k] = v - hash * INDEX_LIMIT;
    }
  } else {
    const order = Array.from({ length: size }, (_, k) => k);
    order.sort((a, b) => hashes[a]! - hashes[b]!);
    const h = hashes.slice();
    const o = owners.slice();
    for (let k = 0; k < size; k++) {
      hashes[k] = h[order[k]!]!;
      owners[k] = o[order[k]!]!;
    }
  }
  // Equal hashes are rare; put runs of them in id order by insertion sort.
  for (let k = 1; k < size; k++) {
    if (hashes[k] !== hashes[k - 1]) continue;
    const owner = owners[k]!;
    const id = endpoints[owner]!.instance.id;
    let j = k - 1;
    while (j >= 0 && hashes[j] === hashes[k] && endpoints[owners[j]!]!.instance.id > id) {
      owners[j + 1] = owners[j]!;
      j--;
    }
    owners[j + 1] = owner;
  }
}

class RingHashPicker extends OwnerTablePicker implements Picker {
  private readonly minRing: number;
  private readonly maxRing: number;
  /** Sorted point hashes; `owners` holds the endpoint index owning each point. */
  private points = new Uint32Array(0);

  constructor(ctx: StrategyContext, minRing: number, maxRing: number, factor: number) {
    super(ctx, factor, new Int32Array(0));
    this.minRing = minRing;
    this.maxRing = maxRing;
  }

  rebuild(endpoints: readonly Endpoint[]): void {
    this.endpoints = endpoints;
    const n = endpoints.length;
    let total = 0;
    let min = Number.POSITIVE_INFINITY;
    for (let i = 0; i < n; i++) {
      const w = ringWeight(endpoints[i]!);
      total += w;
      if (w < min) min = w;
    }
    this.totalWeight = total;
    const scale = n === 0 ? 0 : pointsPerWeight(total, min, this.minRing, this.maxRing);
    let size = 0;
    for (let i = 0; i < n; i++) size += Math.max(1, Math.round(scale * ringWeight(endpoints[i]!)));
    const points = new Uint32Array(size);
    const owners = new Int32Array(size);
    let at = 0;
    for (let i = 0; i < n; i++) {
      const endpoint = endpoints[i]!;
      const count = Math.max(1, Math.round(scale * ringWeight(endpoint)));
      // A point hashes the id with the replica number as seed, so it stays put when others change.
      const id = endpoint.instance.id;
      for (let r = 0; r < count; r++) {
        points[at] = hashString(id, r);
        owners[at++] = i;
      }
    }
    sortPoints(points, owners, endpoints);
    this.points = points;
    this.owners = owners;
  }

  pick(ctx: PickContext | undefined, _now: number): Endpoint | undefined {
    const points = this.points;
    const size = points.length;
    if (size === 0) return undefined;
    const key = ctx?.key;
    const hash = key === undefined ? (randomUnit(this.random) * 4294967296) >>> 0 : hashKeyBits(key) >>> 0;
    // First point at or after the hash, wrapping past the top of the ring.
    let lo = 0;
    let hi = size;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (points[mid]! < hash) lo = mid + 1;
      else hi = mid;
    }
    if (lo === size) lo = 0;
    return this.ownerFrom(lo, exclusions(ctx));
  }
}

/**
 * Ring hash: requests with the same `key` go to the same endpoint while it is available, and
 * membership changes move few keys. Requests without a key go to a random point.
 */
export function ringHash(options?: RingHashOptions): Strategy {
  const o = parseWith(schema, options ?? {}, 'Invalid ringHash() options');
  const factor = o.hashBalanceFactor ?? 0;
  return {
    name: 'ring-hash',
    create: (ctx: StrategyContext) => new RingHashPicker(ctx, o.minRingSize, o.maxRingSize, factor),
  };
}

// The documented options are the schema's input, field for field.
true satisfies Agrees<RingHashOptions, z.input<typeof schema>>;
