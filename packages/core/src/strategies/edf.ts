// Earliest-deadline-first scheduler over endpoint indices, as Envoy's EdfScheduler: each endpoint
// is due again 1/weight after it was picked, so picks follow weights smoothly in O(log n).
// Backs weighted round robin and weighted least request. Internal to the strategies.

import type { Endpoint } from '../endpoint.ts';

// Deadlines grow by about 1/(total weight) per pick. Past this they are shifted back to 0 so the
// doubles keep enough precision to separate 1/weight steps even for weights near a million.
const REBASE_AT = 2 ** 20;

export class EdfScheduler {
  // A binary min-heap kept as two parallel arrays, deadline and endpoint index per slot, so
  // that comparisons read neighbouring memory rather than chasing indices.
  private keys = new Float64Array(0);
  private items = new Int32Array(0);
  /** Endpoints popped while skipping excluded ones, and their deadlines, pushed back after. */
  private heldItems = new Int32Array(0);
  private heldKeys = new Float64Array(0);
  private size = 0;
  /** Virtual time: the deadline of the last endpoint picked. */
  private now = 0;
  /** Deadline of the endpoint last returned by `take`. */
  private due = 0;
  /** Whether that endpoint was removed from the heap, or is still its top. */
  private popped = false;
  /**
   * The deadline `push` and `siftDown` place: handed over here rather than as an argument, since
   * V8 boxes a double passed to a call it does not inline (an allocation per pick).
   */
  private readonly key = new Float64Array(1);

  /** Empties the scheduler for `n` endpoints, reusing its arrays when they are large enough. */
  reset(n: number): void {
    if (this.items.length < n) {
      this.keys = new Float64Array(n);
      this.items = new Int32Array(n);
      this.heldKeys = new Float64Array(n);
      this.heldItems = new Int32Array(n);
    }
    this.size = 0;
    this.now = 0;
  }

  /**
   * Adds endpoint `index` with a random phase in [0, 1) of its first period, so that clients
   * started together do not all pick the same endpoint first.
   */
  add(index: number, weight: number, phase: number): void {
    this.key[0] = weight > 0 ? phase / weight : Number.POSITIVE_INFINITY;
    this.push(index);
  }

  /**
   * The earliest-due endpoint whose id is not in `exclude`, or -1 when all are excluded. The
   * caller must then hand it to `reschedule`.
   */
  take(endpoints: readonly Endpoint[], exclude: ReadonlySet<string> | undefined): number {
    if (this.size === 0) return -1;
    if (exclude === undefined) {
      // The top stays in place and `reschedule` sifts it down: one pass instead of two.
      this.popped = false;
      this.due = this.keys[0]!;
      return this.items[0]!;
    }
    this.popped = true;
    let held = 0;
    let found = -1;
    while (this.size > 0) {
      const index = this.items[0]!;
      const key = this.keys[0]!;
      this.pop();
      if (!exclude.has(endpoints[index]!.instance.id)) {
        found = index;
        this.due = key;
        break;
      }
      this.heldItems[held] = index;
      this.heldKeys[held++] = key;
    }
    // Skipped endpoints are due no earlier than the one picked: owed at most one turn, so an
    // endpoint excluded for a long while does not take a burst of picks when it comes back.
    const floor = found >= 0 && this.due < Number.POSITIVE_INFINITY ? this.due : Number.NEGATIVE_INFINITY;
    for (let i = 0; i < held; i++) {
      this.key[0] = Math.max(this.heldKeys[i]!, floor);
      this.push(this.heldItems[i]!);
    }
    return found;
  }

  /** Puts back the endpoint returned by `take`, due again 1/weight from now. */
  reschedule(index: number, weight: number): void {
    this.key[0] = weight;
    this.advance(index);
  }

  /** `reschedule` with the weight at `weights[index]`, so that no double crosses a call. */
  rescheduleFrom(index: number, weights: Float64Array): void {
    this.key[0] = weights[index]!;
    this.advance(index);
  }

  /** Reschedules endpoint `index`, whose weight is in `key[0]`. */
  private advance(index: number): void {
    const weight = this.key[0]!;
    // An endpoint of weight 0 is due at infinity; time only moves on finite deadlines.
    if (this.due < Number.POSITIVE_INFINITY) this.now = this.due;
    if (this.now > REBASE_AT) this.rebase();
    this.key[0] = weight > 0 ? this.now + 1 / weight : Number.POSITIVE_INFINITY;
    if (this.popped) this.push(index);
    else this.siftDown(index);
  }

  private rebase(): void {
    // Subtracting one constant keeps the heap order, so no re-heapify is needed.
    const shift = this.now;
    for (let i = 0; i < this.size; i++) this.keys[i] = this.keys[i]! - shift;
    this.now = 0;
  }

  /** Adds endpoint `index` due at `key[0]`. */
  private push(index: number): void {
    const key = this.key[0]!;
    const keys = this.keys;
    const items = this.items;
    let i = this.size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (keys[parent]! <= key) break;
      keys[i] = keys[parent]!;
      items[i] = items[parent]!;
      i = parent;
    }
    keys[i] = key;
    items[i] = index;
  }

  private pop(): void {
    const last = --this.size;
    if (last > 0) {
      this.key[0] = this.keys[last]!;
      this.siftDown(this.items[last]!);
    }
  }

  /** Replaces the top with `index` due at `key[0]` and moves it down to where it belongs. */
  private siftDown(index: number): void {
    const key = this.key[0]!;
    const keys = this.keys;
    const items = this.items;
    const size = this.size;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= size) break;
      if (child + 1 < size && keys[child + 1]! < keys[child]!) child++;
      // Past equal deadlines too, so ties are served in turn.
      if (keys[child]! > key) break;
      keys[i] = keys[child]!;
      items[i] = items[child]!;
      i = child;
    }
    keys[i] = key;
    items[i] = index;
  }
}
