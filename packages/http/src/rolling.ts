// Counts over a sliding window of equal buckets (Hystrix's and opossum's rolling window),
// moved forward lazily by the clock readings callers already have: no timer, no allocation
// per count. Several series share one window (a breaker's fires, failures, successes and
// rejects; a budget's requests and retries).

export class RollingCounts {
  readonly #series: number;
  readonly #buckets: number;
  readonly #bucketMs: number;
  /** Bucket-major: bucket b's count of series s is at b * series + s. */
  readonly #counts: Float64Array;
  readonly #sums: Float64Array;
  #epoch: number;
  /** Offset of the current bucket, and when the next one starts: the common add is one compare. */
  #base: number;
  #nextAt: number;

  constructor(series: number, buckets: number, windowMs: number, now: number) {
    this.#series = series;
    this.#buckets = buckets;
    this.#bucketMs = windowMs / buckets;
    this.#counts = new Float64Array(series * buckets);
    this.#sums = new Float64Array(series);
    this.#epoch = Math.floor(now / this.#bucketMs);
    this.#base = (this.#epoch % buckets) * series;
    this.#nextAt = (this.#epoch + 1) * this.#bucketMs;
  }

  /** Moves the window forward to `now`; returns the offset of the current bucket. */
  #advance(now: number): number {
    if (now < this.#nextAt) return this.#base;
    const epoch = Math.floor(now / this.#bucketMs);
    const steps = epoch - this.#epoch;
    if (steps > 0) {
      const series = this.#series;
      const counts = this.#counts;
      const sums = this.#sums;
      const clear = Math.min(steps, this.#buckets);
      for (let i = 1; i <= clear; i++) {
        const base = ((this.#epoch + i) % this.#buckets) * series;
        for (let s = 0; s < series; s++) {
          sums[s]! -= counts[base + s]!;
          counts[base + s] = 0;
        }
      }
      this.#epoch = epoch;
      this.#base = (epoch % this.#buckets) * series;
      this.#nextAt = (epoch + 1) * this.#bucketMs;
    }
    // A reading older than the window's newest bucket counts in the newest bucket.
    return this.#base;
  }

  /** Adds `n` (default 1) to `series` at time `now`. */
  add(series: number, now: number, n = 1): void {
    const base = this.#advance(now);
    this.#counts[base + series]! += n;
    this.#sums[series]! += n;
  }

  /** The count of `series` over the window ending at `now`. */
  sum(series: number, now: number): number {
    this.#advance(now);
    return this.#sums[series]!;
  }

  /** Forgets every count. */
  reset(): void {
    this.#counts.fill(0);
    this.#sums.fill(0);
  }
}
