// Recent response latencies of a client, for hedging at the observed 95th percentile. Samples go
// into a ring; the percentile is recomputed every `RECOMPUTE` samples, not on each request.

const SIZE = 1024;
const RECOMPUTE = 128;
/** Samples needed before a percentile is trusted; until then there is no hedge delay. */
export const MIN_SAMPLES = 32;

export class LatencyWindow {
  readonly #ring = new Float64Array(SIZE);
  readonly #scratch = new Float64Array(SIZE);
  #count = 0;
  #next = 0;
  #sinceCompute = 0;
  #p95 = -1;

  record(ms: number): void {
    this.#ring[this.#next] = ms;
    this.#next = (this.#next + 1) % SIZE;
    if (this.#count < SIZE) this.#count++;
    if (++this.#sinceCompute >= RECOMPUTE || (this.#p95 < 0 && this.#count >= MIN_SAMPLES)) this.#compute();
  }

  #compute(): void {
    this.#sinceCompute = 0;
    const n = this.#count;
    if (n < MIN_SAMPLES) return;
    const view = this.#scratch.subarray(0, n);
    view.set(this.#ring.subarray(0, n));
    view.sort();
    this.#p95 = view[Math.min(n - 1, Math.ceil(0.95 * n) - 1)]!;
  }

  /** The 95th percentile in ms, or -1 with too few samples. */
  p95(): number {
    return this.#p95;
  }
}
