// The retry loop, driven by p-retry: each p-retry attempt is one round (an attempt on an
// instance, plus its hedges). The request decides at once, when a round fails, whether another
// is allowed (retries left, safe to replay, budget) — it must, since a retryable status is
// either withheld or handed to the caller at header time. p-retry then supplies the jittered
// exponential backoff and the abortable wait. The first attempt never enters p-retry: the hot
// path stays free of promises and closures.

import { setTimeout as sleep } from 'node:timers/promises';
import type { Instance } from '@picket/core';
import pRetry from 'p-retry';
import type { RetryConfig } from '../config.ts';

/** Rejection that asks p-retry for another round. Never reaches a caller. */
const RETRY = new Error('picket: retry');

function isRetry(context: { error: Error }): boolean {
  return context.error === RETRY;
}

function ignore(): void {}

export interface RoundRunner {
  /** Launches the next round. Runs synchronously; may call `again` or `stop` before returning. */
  runRound(): void;
}

/** A request's retries: what is left of them, and, from the first retry on, the p-retry loop. */
export class Retries {
  readonly #runner: RoundRunner;
  readonly #config: RetryConfig;
  #retriesLeft: number;
  #sameLeft: number;
  /** The instance the next round must go to again (`sameInstance`), taken by the picker. */
  target: Instance | null = null;
  #abort: AbortController | null = null;
  #round: PromiseWithResolvers<void> | null = null;
  #retryAfterMs = 0;
  #waitedMs = 0;
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
    this.#retryAfterMs = retryAfterMs;
    if (this.#abort === null) this.#start();
    else this.#again();
  }

  /** The first retry: its round runs now (after a Retry-After); p-retry backs off later ones. */
  #start(): void {
    this.#abort = new AbortController();
    pRetry(() => this.#next(), {
      // The request counts retries itself; this only bounds a loop that cannot run away anyway.
      retries: 1000,
      minTimeout: this.#config.backoff.baseMs,
      maxTimeout: this.#config.backoff.maxMs,
      factor: 2,
      randomize: true,
      unref: true,
      signal: this.#abort.signal,
      onFailedAttempt: (context) => {
        this.#waitedMs = context.retryDelay;
      },
      shouldRetry: isRetry,
    }).then(ignore, ignore);
  }

  async #next(): Promise<void> {
    // p-retry's backoff has already passed; wait out the rest of a Retry-After.
    const extra = this.#retryAfterMs - this.#waitedMs;
    this.#retryAfterMs = 0;
    this.#waitedMs = 0;
    if (extra > 0) await sleep(extra, undefined, { signal: this.#abort!.signal, ref: false });
    if (this.#stopped) return;
    const round = Promise.withResolvers<void>();
    this.#round = round;
    this.#runner.runRound();
    return round.promise;
  }

  // The current round failed and the request allows another.
  #again(): void {
    const round = this.#round;
    this.#round = null;
    round?.reject(RETRY);
  }

  /** The request has its answer (or its final error): end the loop and any wait. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    const round = this.#round;
    this.#round = null;
    round?.resolve();
    this.#abort?.abort();
  }
}
