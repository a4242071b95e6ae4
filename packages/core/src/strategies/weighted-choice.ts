// Weighted random choice over endpoint indices: cumulative weights and a binary search (O(log n)),
// or a plain uniform draw when the weights are equal. Backs `random` and `weighted-response-time`.

import type { Endpoint } from '../endpoint.ts';
import { type RandomSource, randomIndex, randomUnit } from '../random.ts';

// Draws that may land on excluded endpoints before falling back to a scan of the allowed ones.
const DRAWS = 3;

export class WeightedChoice {
  private cumulative = new Float64Array(0);
  private size = 0;
  private total = 0;
  private uniform = true;
  /** Last index with a positive weight: where a draw rounded up to `total` lands. */
  private lastPositive = 0;

  /** Room for `n` weights; fill them with `set` and finish with `seal`. */
  begin(n: number): void {
    if (this.cumulative.length < n) this.cumulative = new Float64Array(n);
    this.size = n;
  }

  /** Weight of index `i`; anything not a positive finite number counts as 0. */
  set(i: number, weight: number): void {
    this.cumulative[i] = weight > 0 && weight < Number.POSITIVE_INFINITY ? weight : 0;
  }

  /** Turns the weights into running sums. All-zero (or all-equal) weights pick uniformly. */
  seal(): void {
    const c = this.cumulative;
    const n = this.size;
    const first = c[0];
    let sum = 0;
    let equal = true;
    this.lastPositive = 0;
    for (let i = 0; i < n; i++) {
      const w = c[i]!;
      if (w !== first) equal = false;
      if (w > 0) this.lastPositive = i;
      sum += w;
      c[i] = sum;
    }
    this.total = sum;
    this.uniform = equal || sum === 0;
  }

  /** A random endpoint, weighted, never one whose id is in `exclude`; undefined when none is left. */
  pick(
    random: RandomSource,
    endpoints: readonly Endpoint[],
    exclude: ReadonlySet<string> | undefined,
  ): Endpoint | undefined {
    const n = this.size;
    if (n === 0) return undefined;
    if (exclude === undefined) return endpoints[this.draw(random)];
    for (let i = 0; i < DRAWS; i++) {
      const endpoint = endpoints[this.draw(random)]!;
      if (!exclude.has(endpoint.instance.id)) return endpoint;
    }
    return this.scan(random, endpoints, exclude);
  }

  private draw(random: RandomSource): number {
    if (this.uniform) return randomIndex(random, this.size);
    const c = this.cumulative;
    const r = randomUnit(random) * this.total;
    // First index whose running sum exceeds r; zero-weight indices are never it.
    let lo = 0;
    let hi = this.size - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (c[mid]! > r) hi = mid;
      else lo = mid + 1;
    }
    return c[lo]! > r ? lo : this.lastPositive;
  }

  private weightAt(i: number): number {
    if (this.uniform) return 1;
    return i === 0 ? this.cumulative[0]! : this.cumulative[i]! - this.cumulative[i - 1]!;
  }

  /** Many ids excluded: a weighted draw among the allowed endpoints by two linear passes. */
  private scan(
    random: RandomSource,
    endpoints: readonly Endpoint[],
    exclude: ReadonlySet<string>,
  ): Endpoint | undefined {
    const n = this.size;
    let sum = 0;
    let allowed = 0;
    for (let i = 0; i < n; i++) {
      if (exclude.has(endpoints[i]!.instance.id)) continue;
      sum += this.weightAt(i);
      allowed++;
    }
    if (allowed === 0) return undefined;
    // Allowed endpoints that all weigh 0 share the traffic evenly.
    const even = sum === 0;
    let r = randomUnit(random) * (even ? allowed : sum);
    let last: Endpoint | undefined;
    for (let i = 0; i < n; i++) {
      const endpoint = endpoints[i]!;
      if (exclude.has(endpoint.instance.id)) continue;
      const w = even ? 1 : this.weightAt(i);
      if (w === 0) continue;
      r -= w;
      last = endpoint;
      if (r < 0) return endpoint;
    }
    return last;
  }
}
