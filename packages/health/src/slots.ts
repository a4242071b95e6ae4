// A timer wheel for the checker: due times are rounded down to slots of a few milliseconds, and
// each slot has one timer, so instances due at nearly the same moment are checked in one turn of
// the event loop. At 1,000 checks a second, waking the loop once per check cost more CPU than the
// requests themselves (measured with undici alone: ~15% of a core, ~10% in 25 ms slots).

export interface Slotted {
  /** The slot this item waits in, or undefined. Owned by Slots. */
  slot: number | undefined;
}

interface Bucket<T> {
  readonly items: Set<T>;
  readonly timer: ReturnType<typeof setTimeout>;
}

export class Slots<T extends Slotted> {
  readonly #slotMs: number;
  readonly #onDue: (item: T) => void;
  readonly #buckets = new Map<number, Bucket<T>>();

  /** `slotMs`: how much earlier than due an item may run, ms (≥ 1). */
  constructor(slotMs: number, onDue: (item: T) => void) {
    this.#slotMs = Math.max(1, slotMs);
    this.#onDue = onDue;
  }

  /** Calls `onDue(item)` in about `delayMs` (up to one slot early, never before now). */
  add(item: T, delayMs: number): void {
    this.delete(item);
    const now = performance.now();
    const key = Math.floor((now + delayMs) / this.#slotMs);
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      const timer = setTimeout(this.#fire, Math.max(0, key * this.#slotMs - now), key);
      timer.unref();
      bucket = { items: new Set(), timer };
      this.#buckets.set(key, bucket);
    }
    bucket.items.add(item);
    item.slot = key;
  }

  delete(item: T): void {
    if (item.slot === undefined) return;
    this.#buckets.get(item.slot)?.items.delete(item);
    item.slot = undefined;
  }

  /** Forgets every item and stops every timer. */
  clear(): void {
    for (const bucket of this.#buckets.values()) {
      clearTimeout(bucket.timer);
      for (const item of bucket.items) item.slot = undefined;
    }
    this.#buckets.clear();
  }

  readonly #fire = (key: number): void => {
    const bucket = this.#buckets.get(key);
    if (bucket === undefined) return;
    this.#buckets.delete(key);
    for (const item of bucket.items) {
      item.slot = undefined;
      this.#onDue(item);
    }
  };
}
