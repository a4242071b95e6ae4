// The retry loop: what is left of a request's retries, and the wait before each round (an
// attempt on an instance, plus its hedges). The request decides at once, when a round fails,
// whether another is allowed (retries left, safe to replay, budget): it must, since a retryable
// status is either withheld or handed to the caller at header time. The first retry goes at
// once; later ones wait a jittered exponential backoff (the shared one in @picket/core), or the
// `Retry-After` the server asked for when that is longer, in one abortable sleep.

import type { Instance } from '@picket/core';
import { backoffDelay, sleep } from '@picket/core/internal';
import type { RetryConfig } from '../config.ts';

export interface RoundRunner {
  /** Launches the next round. Runs synchronously; may schedule another or stop before returning. */
  runRound(): void;
}

function ignore(): void {}

/** A request's retries: what is left of them, and the wait before the next round. */
export class Retries {
  readonly #runner: RoundRunner;
  readonly #config: RetryConfig;
  #retriesLeft: number;
  #sameLeft: number;
  /** The instance the next round must go to again (`sameInstance`), taken by the picker. */
  target: Instance | null = null;
  /** Retries scheduled so far: the backoff doubles with each after the first. */
  #scheduled = 0;
  /** Ends a wait when the request is answered or the client closes; made on the first wait. */
  #abort: AbortController | null = null;
  #run: (() => void) | null = null;
  #stopped = false;

  constructor(runner: RoundRunner, config: RetryConfig) {
    this.#runner = runner;
    this.#config = config;
    this.#retriesLeft = config.retries;
    this.#sameLeft = config.sameInstance;
  }

  /** Retries left, on other instances and on the same one. */
  get left(): number {
    return this.#retriesLeft + this.#sameLeft;
  }

  /** Spends a retry after a failure on `failed` and runs the next round (after `retryAfterMs`). */
  schedule(failed: Instance, retryAfterMs: number): void {
    if (this.#sameLeft > 0) {
      this.#sameLeft--;
      this.target = failed;
    } else {
      this.#retriesLeft--;
      this.#sameLeft = this.#config.sameInstance;
    }
    const delay = Math.max(this.#backoff(this.#scheduled++), retryAfterMs);
    if (delay <= 0) {
      this.#runner.runRound();
      return;
    }
    this.#abort ??= new AbortController();
    this.#run ??= () => {
      if (!this.#stopped) this.#runner.runRound();
    };
    sleep(delay, { signal: this.#abort.signal }).then(this.#run, ignore);
  }

  /**
   * Before the `n`th retry (0 for the first, which goes at once): `baseMs` doubled for each retry
   * after the second, times a random factor from 1 to 2, at most `maxMs`. backoffDelay's equal
   * jitter over a doubled step and cap is exactly that, capped again at `maxMs`.
   */
  #backoff(n: number): number {
    if (n === 0) return 0;
    const { baseMs, maxMs } = this.#config.backoff;
    return Math.min(maxMs, backoffDelay(n, baseMs, 2 * maxMs, 2, Math.random));
  }

  /** The request has its answer (or its final error): end any wait. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#abort?.abort();
  }
}
