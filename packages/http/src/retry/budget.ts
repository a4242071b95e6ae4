// The retry budget (Envoy, Finagle): retries and hedges may add at most `percent` of the
// requests seen in a sliding window, plus `minPerSecond` so a quiet client can still retry. It
// stops retries from multiplying an outage: when every instance fails, load grows by the budget
// at most, not by the retry count.

export interface RetryBudget {
  /** Counts a request (its first attempt); `now` is the caller's clock reading, when it has one. */
  deposit(now?: number): void;
  /** Takes one retry or hedge from the budget; false when none is left. */
  withdraw(): boolean;
  /** Retries still allowed in the current window. */
  available(): number;
}

const BUCKETS = 10;

class WindowBudget implements RetryBudget {
  readonly #percent: number;
  readonly #floor: number;
  readonly #bucketMs: number;
  readonly #now: () => number;
  readonly #requests = new Float64Array(BUCKETS);
  readonly #retries = new Float64Array(BUCKETS);
  #requestSum = 0;
  #retrySum = 0;
  #epoch = 0;

  constructor(percent: number, minPerSecond: number, windowMs: number, now: () => number) {
    this.#percent = percent / 100;
    this.#floor = (minPerSecond * windowMs) / 1000;
    this.#bucketMs = windowMs / BUCKETS;
    this.#now = now;
    this.#epoch = Math.floor(now() / this.#bucketMs);
  }

  // Moves the window forward to now, clearing buckets that fell out of it.
  #advance(now: number = this.#now()): number {
    const epoch = Math.floor(now / this.#bucketMs);
    const steps = epoch - this.#epoch;
    if (steps > 0) {
      const clear = Math.min(steps, BUCKETS);
      for (let i = 1; i <= clear; i++) {
        const slot = (this.#epoch + i) % BUCKETS;
        this.#requestSum -= this.#requests[slot]!;
        this.#retrySum -= this.#retries[slot]!;
        this.#requests[slot] = 0;
        this.#retries[slot] = 0;
      }
      this.#epoch = epoch;
    }
    return this.#epoch % BUCKETS;
  }

  deposit(now?: number): void {
    const slot = this.#advance(now);
    this.#requests[slot]! += 1;
    this.#requestSum += 1;
  }

  available(): number {
    this.#advance();
    return Math.max(0, Math.floor(this.#floor + this.#percent * this.#requestSum - this.#retrySum));
  }

  withdraw(): boolean {
    const slot = this.#advance();
    if (this.#retrySum + 1 > this.#floor + this.#percent * this.#requestSum) return false;
    this.#retries[slot]! += 1;
    this.#retrySum += 1;
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
