// Small statistics for the benchmarks: medians over rounds, latency percentiles, and the
// percentile curve the latency plots draw.

/** Percentiles kept for every latency distribution (the plots draw these points). */
export const CURVE = [0, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.99, 100] as const;

export interface LatencySummary {
  count: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Nearest-rank percentile of an ascending array. */
export function percentileOf(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))]!;
}

export function sortedCopy(values: ArrayLike<number>): Float64Array {
  return Float64Array.from(values as ArrayLike<number>).sort();
}

/** Least, mean and greatest of `values`. */
export function spread(values: readonly number[]): { min: number; mean: number; max: number } {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  let sum = 0;
  for (const v of values) {
    min = Math.min(min, v);
    max = Math.max(max, v);
    sum += v;
  }
  return { min, mean: sum / values.length, max };
}

export function round(n: number, digits = 3): number {
  if (!Number.isFinite(n)) return n;
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

export function summarize(latencies: ArrayLike<number>): LatencySummary {
  const s = sortedCopy(latencies);
  return {
    count: s.length,
    p50Ms: round(percentileOf(s, 50)),
    p90Ms: round(percentileOf(s, 90)),
    p99Ms: round(percentileOf(s, 99)),
    p999Ms: round(percentileOf(s, 99.9)),
    maxMs: round(percentileOf(s, 100)),
  };
}

/** [percentile, ms] pairs at the CURVE percentiles, for the latency-distribution plots. */
export function curve(latencies: ArrayLike<number>): [number, number][] {
  const s = sortedCopy(latencies);
  return CURVE.map((p) => [p, round(p === 0 ? (s[0] ?? Number.NaN) : percentileOf(s, p), 4)]);
}

/** Median over rounds of a/b computed per round: the machine's drift cancels within a round. */
export function pairedRatio<T>(a: readonly T[], b: readonly T[], f: (s: T) => number): number {
  return round(median(a.map((s, i) => f(s) / f(b[i]!))));
}

/** A growable array of doubles that does not allocate per sample once warm. */
export class Recorder {
  #data = new Float64Array(1 << 16);
  length = 0;

  push(value: number): void {
    if (this.length === this.#data.length) {
      const next = new Float64Array(this.#data.length * 2);
      next.set(this.#data);
      this.#data = next;
    }
    this.#data[this.length++] = value;
  }

  values(): Float64Array {
    return this.#data.subarray(0, this.length);
  }

  clear(): void {
    this.length = 0;
  }
}

/**
 * One row per setup from paired samples (ns per request, one per round, in the same order for
 * every setup): its median, and the median of its per-round ratios to the first setup's, judged
 * against the setup's target when it has one.
 */
export function ratioRows(
  setups: ReadonlyArray<{ name: string; target?: number }>,
  samples: ReadonlyMap<string, readonly number[]>,
) {
  const base = samples.get(setups[0]!.name)!;
  return setups.map(({ name, target }) => {
    const s = samples.get(name)!;
    const ratio = Math.round(median(s.map((x, i) => x / base[i]!)) * 1000) / 1000;
    return {
      setup: name,
      nsPerRequest: Math.round(median(s)),
      ratio,
      target,
      withinTarget: target === undefined ? undefined : ratio <= target,
    };
  });
}
