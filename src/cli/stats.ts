// Per-instance figures over a sliding window for the live table: latency samples (p50/p99) and
// rates from cumulative counters (requests/s from the balancer's per-instance request count).

interface Sample {
  at: number;
  value: number;
}

/** Nearest-rank quantile of sorted values. */
export function quantile(sorted: readonly number[], q: number): number | undefined {
  if (sorted.length === 0) return undefined;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank];
}

export class SlidingStats {
  readonly #windowMs: number;
  readonly #maxSamples: number;
  readonly #latency = new Map<string, Sample[]>();
  readonly #counters = new Map<string, Sample[]>();

  /** `windowMs`: how far back figures look. `maxSamples`: latency samples kept per key at most. */
  constructor(windowMs = 3000, maxSamples = 10_000) {
    this.#windowMs = windowMs;
    this.#maxSamples = maxSamples;
  }

  addLatency(key: string, ms: number, now = performance.now()): void {
    let list = this.#latency.get(key);
    if (list === undefined) {
      list = [];
      this.#latency.set(key, list);
    }
    list.push({ at: now, value: ms });
    if (list.length > this.#maxSamples) list.splice(0, list.length - this.#maxSamples);
  }

  /** p50 and p99 of the samples inside the window (undefined without samples). */
  latency(
    key: string,
    now = performance.now(),
  ): { p50: number | undefined; p99: number | undefined; count: number } {
    const list = this.#prune(this.#latency.get(key), now);
    const sorted = list.map((s) => s.value).sort((a, b) => a - b);
    return { p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), count: sorted.length };
  }

  /** Records the current value of a cumulative counter; returns its rate per second over the window. */
  rate(key: string, total: number, now = performance.now()): number {
    let list = this.#counters.get(key);
    if (list === undefined) {
      list = [];
      this.#counters.set(key, list);
    }
    const last = list[list.length - 1];
    // A counter that went down belongs to a new incarnation (the instance left and came back).
    if (last !== undefined && total < last.value) list.length = 0;
    list.push({ at: now, value: total });
    this.#prune(list, now, 1);
    const first = list[0]!;
    const seconds = (now - first.at) / 1000;
    return seconds > 0 ? (total - first.value) / seconds : 0;
  }

  /** Forgets keys not in `keep` (instances that left). */
  retain(keep: ReadonlySet<string>): void {
    for (const map of [this.#latency, this.#counters]) {
      for (const key of map.keys()) if (!keep.has(key)) map.delete(key);
    }
  }

  #prune(list: Sample[] | undefined, now: number, keepAtLeast = 0): Sample[] {
    if (list === undefined) return [];
    const from = now - this.#windowMs;
    let drop = 0;
    while (drop < list.length - keepAtLeast && list[drop]!.at < from) drop++;
    if (drop > 0) list.splice(0, drop);
    return list;
  }
}
