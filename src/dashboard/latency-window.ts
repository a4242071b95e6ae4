// Per-instance latency over a sliding window of ticks, from every finished attempt: a log-scale
// histogram (16 bins per doubling, ~4.4% wide) per tick, summed as the window moves, so a
// percentile costs one pass over 512 counters and an attempt one increment.

const BINS_PER_DOUBLING = 16;
const BINS = 512;

function binOf(ms: number): number {
  const bin = Math.floor(Math.log2(ms + 1) * BINS_PER_DOUBLING);
  return bin < 0 ? 0 : bin >= BINS ? BINS - 1 : bin;
}

/** The middle of a bin, ms. */
function binValue(bin: number): number {
  return 2 ** ((bin + 0.5) / BINS_PER_DOUBLING) - 1;
}

export class LatencyWindow {
  /** Tick-major: tick t's bins are at t * BINS. */
  readonly #ticks: Uint32Array;
  readonly #total = new Uint32Array(BINS);
  readonly #count: Uint32Array;
  readonly #sum: Float64Array;
  readonly #size: number;
  #current = 0;
  #windowCount = 0;

  /** `size`: how many ticks the window holds. */
  constructor(size: number) {
    this.#size = size;
    this.#ticks = new Uint32Array(size * BINS);
    this.#count = new Uint32Array(size);
    this.#sum = new Float64Array(size);
  }

  add(ms: number): void {
    const bin = binOf(ms);
    this.#ticks[this.#current * BINS + bin]!++;
    this.#total[bin]!++;
    this.#count[this.#current]!++;
    this.#sum[this.#current]! += ms;
    this.#windowCount++;
  }

  /** The current tick's sample count and mean, ms (undefined without samples). */
  tick(): { count: number; meanMs: number | undefined } {
    const count = this.#count[this.#current]!;
    return { count, meanMs: count === 0 ? undefined : this.#sum[this.#current]! / count };
  }

  /** Ends the current tick: the oldest one leaves the window. */
  advance(): void {
    this.#current = (this.#current + 1) % this.#size;
    const base = this.#current * BINS;
    if (this.#count[this.#current] !== 0) {
      for (let b = 0; b < BINS; b++) {
        this.#total[b]! -= this.#ticks[base + b]!;
        this.#ticks[base + b] = 0;
      }
      this.#windowCount -= this.#count[this.#current]!;
    }
    this.#count[this.#current] = 0;
    this.#sum[this.#current] = 0;
  }

  /** Samples in the window. */
  get count(): number {
    return this.#windowCount;
  }

  /** The `q` quantile (0 to 1) of the window's samples, ms, or undefined without any. */
  quantile(q: number): number | undefined {
    if (this.#windowCount === 0) return undefined;
    const rank = Math.max(1, Math.ceil(q * this.#windowCount));
    let seen = 0;
    for (let b = 0; b < BINS; b++) {
      seen += this.#total[b]!;
      if (seen >= rank) return binValue(b);
    }
    return binValue(BINS - 1);
  }
}
