// Per-instance latency over a sliding window of ticks, from every finished attempt: a log-linear
// histogram per tick (whole microseconds; below 16 µs one bin each, above that 16 bins per
// doubling, so a bin is at most 6.25% wide), binned with integer operations only, since every
// attempt pays for it while a dashboard runs. Percentiles sum the window's ticks when asked,
// once per tick.

/** 16 exact bins, then 16 per doubling up to 2³¹ µs (~36 min): 448 in all. */
const BINS = 448;
const MAX_US = 2 ** 31 - 1;

function binOf(ms: number): number {
  const us = ms >= MAX_US / 1000 ? MAX_US : ms > 0 ? (ms * 1000) | 0 : 0;
  if (us < 16) return us;
  const e = 31 - Math.clz32(us);
  return (e - 3) * 16 + ((us >>> (e - 4)) & 15);
}

/** The middle of a bin, ms. */
function binValue(bin: number): number {
  if (bin < 16) return (bin + 0.5) / 1000;
  const e = (bin >>> 4) + 3;
  const width = 2 ** (e - 4);
  return ((16 + (bin & 15)) * width + width / 2) / 1000;
}

export class LatencyWindow {
  /** Tick-major: tick t's bins are at t * BINS. */
  readonly #ticks: Uint32Array;
  readonly #count: Uint32Array;
  readonly #sum: Float64Array;
  readonly #size: number;
  readonly #merged = new Float64Array(BINS);
  #current = 0;

  /** `size`: how many ticks the window holds. */
  constructor(size: number) {
    this.#size = size;
    this.#ticks = new Uint32Array(size * BINS);
    this.#count = new Uint32Array(size);
    this.#sum = new Float64Array(size);
  }

  add(ms: number): void {
    const t = this.#current;
    this.#ticks[t * BINS + binOf(ms)]!++;
    this.#count[t]!++;
    this.#sum[t]! += ms;
  }

  /** The current tick's sample count and mean, ms (undefined without samples). */
  tick(): { count: number; meanMs: number | undefined } {
    const count = this.#count[this.#current]!;
    return { count, meanMs: count === 0 ? undefined : this.#sum[this.#current]! / count };
  }

  /** Ends the current tick: the oldest one leaves the window. */
  advance(): void {
    this.#current = (this.#current + 1) % this.#size;
    if (this.#count[this.#current] !== 0)
      this.#ticks.fill(0, this.#current * BINS, (this.#current + 1) * BINS);
    this.#count[this.#current] = 0;
    this.#sum[this.#current] = 0;
  }

  /** Samples in the window. */
  get count(): number {
    let n = 0;
    for (let t = 0; t < this.#size; t++) n += this.#count[t]!;
    return n;
  }

  /** The quantiles `qs` (each 0 to 1, ascending) of the window's samples, ms; undefined without any. */
  quantiles(qs: readonly number[]): (number | undefined)[] {
    const total = this.count;
    if (total === 0) return qs.map(() => undefined);
    const merged = this.#merged;
    merged.fill(0);
    for (let t = 0; t < this.#size; t++) {
      if (this.#count[t] === 0) continue;
      const base = t * BINS;
      for (let b = 0; b < BINS; b++) merged[b]! += this.#ticks[base + b]!;
    }
    const out: number[] = [];
    let seen = 0;
    let b = 0;
    for (const q of qs) {
      const rank = Math.max(1, Math.ceil(q * total));
      while (b < BINS - 1 && seen + merged[b]! < rank) seen += merged[b++]!;
      out.push(binValue(b));
    }
    return out;
  }
}
