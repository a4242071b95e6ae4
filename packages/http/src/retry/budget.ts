// The retry budget (Envoy, Finagle): retries and hedges may add at most `percent` of the
// requests seen in a sliding window, plus `minPerSecond` so a quiet client can still retry. It
// stops retries from multiplying an outage: when every instance fails, load grows by the budget
// at most, not by the retry count.

import { RollingCounts } from '../rolling.ts';

export interface RetryBudget {
  /** Counts a request (its first attempt); `now` is the caller's clock reading, when it has one. */
  deposit(now?: number): void;
  /** Takes one retry or hedge from the budget; false when none is left. */
  withdraw(): boolean;
  /** Retries still allowed in the current window. */
  available(): number;
}

const BUCKETS = 10;
const REQUESTS = 0;
const RETRIES = 1;

class WindowBudget implements RetryBudget {
  readonly #percent: number;
  readonly #floor: number;
  readonly #now: () => number;
  readonly #window: RollingCounts;

  constructor(percent: number, minPerSecond: number, windowMs: number, now: () => number) {
    this.#percent = percent / 100;
    this.#floor = (minPerSecond * windowMs) / 1000;
    this.#now = now;
    this.#window = new RollingCounts(2, BUCKETS, windowMs, now());
  }

  deposit(now: number = this.#now()): void {
    this.#window.add(REQUESTS, now);
  }

  #allowed(now: number): number {
    const w = this.#window;
    return this.#floor + this.#percent * w.sum(REQUESTS, now) - w.sum(RETRIES, now);
  }

  available(): number {
    return Math.max(0, Math.floor(this.#allowed(this.#now())));
  }

  withdraw(): boolean {
    const now = this.#now();
    if (this.#allowed(now) < 1) return false;
    this.#window.add(RETRIES, now);
    return true;
  }
}

class UnlimitedBudget implements RetryBudget {
  deposit(): void {}
  withdraw(): boolean {
    return true;
  }
  available(): number {
    return Number.POSITIVE_INFINITY;
  }
}

export function retryBudget(
  options: false | { percent: number; minPerSecond: number; windowMs: number },
  now: () => number = performance.now.bind(performance),
): RetryBudget {
  if (options === false) return new UnlimitedBudget();
  return new WindowBudget(options.percent, options.minPerSecond, options.windowMs, now);
}
