// Maglev consistent hashing (Google's, with Envoy's weighting): a lookup table of prime size in
// which each endpoint fills slots along its own permutation, taking turns in proportion to weight.
// Keys spread almost exactly evenly, and removing an endpoint moves little more than its keys.
// With `hashBalanceFactor`, bounded loads as in ring-hash.ts: an endpoint over its bound is passed
// over for the owner of the next slot in the table.

import { z } from 'zod';
import type { Endpoint } from '../endpoint.ts';
import type { Agrees } from '../fields.ts';
import { hashKeyBits, hashStringBits } from '../hash.ts';
import { parseWith } from '../options.ts';
import type { PickContext } from '../outcome.ts';
import { randomIndex } from '../random.ts';
import type { Picker, Strategy, StrategyContext } from '../strategy.ts';
import { exclusions, hashBalanceFactor, loadWeight, weightOf } from './common.ts';
import { OwnerTablePicker } from './owner-table.ts';

export interface MaglevOptions {
  /**
   * Slots in the lookup table; must be prime. Should be well above 100 × the number of endpoints
   * for an even spread. Default 65537.
   */
  tableSize?: number;
  /**
   * Bounded load: an endpoint whose in-flight requests would pass this factor × its weighted share
   * of all in-flight requests (+1) is passed over for the owner of the next slot. At least 1; 1.25
   * is a common choice. Unset (the default): off.
   */
  hashBalanceFactor?: number;
}

const MAX_TABLE = 5_000_011;

function isPrime(n: number): boolean {
  if (n < 2 || n % 2 === 0) return n === 2;
  for (let d = 3; d * d <= n; d += 2) if (n % d === 0) return false;
  return true;
}

const schema = z.strictObject(
  {
    tableSize: z
      .number({ error: `must be a prime number up to ${MAX_TABLE}` })
      .int({ error: `must be a prime number up to ${MAX_TABLE}` })
      .max(MAX_TABLE, { error: `must be a prime number up to ${MAX_TABLE}` })
      .refine(isPrime, { error: `must be a prime number up to ${MAX_TABLE} (65537 and 5000011 are)` })
      .default(65537),
    hashBalanceFactor,
  },
  { error: 'must be an object' },
);

// Seeds of the two hashes of an instance id that give its offset and skip.
const OFFSET_SEED = 0x9e3779b9;
const SKIP_SEED = 0x85ebca6b;

// Endpoint indices below this fit beside a 32-bit hash in a double's 53-bit mantissa.
const INDEX_LIMIT = 2 ** 21;

/**
 * Endpoint indices ordered by a hash of the id, then by id: an order that depends on the set
 * alone, so every client builds the same table whatever order discovery listed it in. (Hashes
 * sort natively as doubles; comparing the ids themselves would be several times slower.)
 */
function canonicalOrder(endpoints: readonly Endpoint[], hashes: Uint32Array): Int32Array {
  const n = endpoints.length;
  const order = new Int32Array(n);
  if (n < INDEX_LIMIT) {
    const packed = new Float64Array(n);
    for (let i = 0; i < n; i++) packed[i] = hashes[i]! * INDEX_LIMIT + i;
    packed.sort();
    for (let k = 0; k < n; k++) order[k] = packed[k]! % INDEX_LIMIT;
  } else {
    for (let i = 0; i < n; i++) order[i] = i;
    order.sort((a, b) => hashes[a]! - hashes[b]!);
  }
  // Equal hashes are rare; put runs of them in id order by insertion sort.
  for (let k = 1; k < n; k++) {
    const index = order[k]!;
    const id = endpoints[index]!.instance.id;
    let j = k - 1;
    while (j >= 0 && hashes[order[j]!] === hashes[index] && endpoints[order[j]!]!.instance.id > id) {
      order[j + 1] = order[j]!;
      j--;
    }
    order[j + 1] = index;
  }
  return order;
}

class MaglevPicker extends OwnerTablePicker implements Picker {
  private readonly size: number;

  constructor(ctx: StrategyContext, size: number, factor: number) {
    // Slot → endpoint index; -1 only when there are no endpoints.
    super(ctx, factor, new Int32Array(size).fill(-1));
    this.size = size;
  }

  rebuild(endpoints: readonly Endpoint[]): void {
    this.endpoints = endpoints;
    const n = endpoints.length;
    const m = this.size;
    const table = this.owners;
    table.fill(-1);
    let total = 0;
    for (let i = 0; i < n; i++) total += loadWeight(endpoints[i]!);
    this.totalWeight = total;
    if (n === 0) return;
    // An id's hashes are computed once and kept on its endpoint: an update rehashes only the
    // instances that joined.
    const offsets = new Uint32Array(n);
    const skips = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      const endpoint = endpoints[i]!;
      if (endpoint.maglevSkipHash === 0) {
        const id = endpoint.instance.id;
        endpoint.maglevOffsetHash = hashStringBits(id, OFFSET_SEED);
        endpoint.maglevSkipHash = hashStringBits(id, SKIP_SEED);
      }
      offsets[i] = endpoint.maglevOffsetHash;
      skips[i] = endpoint.maglevSkipHash;
    }
    const byId = canonicalOrder(endpoints, offsets);
    const next = new Int32Array(n); // next slot on each endpoint's permutation
    const skip = new Int32Array(n);
    const weight = new Float64Array(n);
    const target = new Float64Array(n);
    let maxWeight = 0;
    for (let k = 0; k < n; k++) {
      next[k] = offsets[byId[k]!]! % m;
      skip[k] = (skips[byId[k]!]! % (m - 1)) + 1;
      const w = weightOf(endpoints[byId[k]!]!);
      weight[k] = w > 0 ? w : Number.MIN_VALUE;
      if (weight[k]! > maxWeight) maxWeight = weight[k]!;
    }
    // Envoy's weighted Maglev: in each round an endpoint takes a slot only if its weight has
    // earned one, so an endpoint of weight max/3 fills a slot every third round.
    let filled = 0;
    for (let round = 1; filled < m; round++) {
      for (let k = 0; k < n && filled < m; k++) {
        if (round * weight[k]! < target[k]!) continue;
        target[k] = target[k]! + maxWeight;
        let slot = next[k]!;
        while (table[slot] !== -1) {
          slot += skip[k]!;
          if (slot >= m) slot -= m;
        }
        table[slot] = byId[k]!;
        slot += skip[k]!;
        next[k] = slot >= m ? slot - m : slot;
        filled++;
      }
    }
  }

  pick(ctx: PickContext | undefined, _now: number): Endpoint | undefined {
    const endpoints = this.endpoints;
    if (endpoints.length === 0) return undefined;
    const m = this.size;
    const key = ctx?.key;
    const slot = key === undefined ? randomIndex(this.random, m) : (hashKeyBits(key) >>> 0) % m;
    return this.ownerFrom(slot, exclusions(ctx));
  }
}

/**
 * Maglev: like ring hash, requests with the same `key` go to the same endpoint, with a more even
 * spread and O(1) lookup, at the cost of slightly more keys moving when membership changes.
 */
export function maglev(options?: MaglevOptions): Strategy {
  const { tableSize, hashBalanceFactor: factor } = parseWith(
    schema,
    options ?? {},
    'Invalid maglev() options',
  );
  return {
    name: 'maglev',
    create: (ctx: StrategyContext) => new MaglevPicker(ctx, tableSize, factor ?? 0),
  };
}

// The documented options are the schema's input, field for field.
true satisfies Agrees<MaglevOptions, z.input<typeof schema>>;
