// What a request does once an attempt fails or answers with a retryable status: decide whether
// another attempt may follow (retries left, safe to send again, budget, limits), back off and
// launch it, or give up, handing the caller the last answer put aside when there is one. Made on
// the first failure: a request answered at once never allocates one.

import { type Instance, isPicketError, type PicketError } from '@picket/core';
import type { AttemptRecord } from '../contracts.ts';
import { clientClosedError, errorCode, overloadedError } from '../errors.ts';
import { redactPath } from '../redact.ts';
import { BUDGET_EXHAUSTED, whyNotRetry } from '../retry/policy.ts';
import { type Attempt, LOST } from './attempt.ts';
import type { AttemptLog } from './attempt-log.ts';
import type { Caller } from './caller.ts';
import { type BackingOff, DESTROYED, type DispatchCore, OPEN, type PicketDispatchOptions } from './core.ts';
import { HeldResponse } from './held-response.ts';
import { Retries, type RoundRunner } from './retry-loop.ts';
import type { Safety } from './safety.ts';

type Headers = Record<string, string | string[] | undefined>;

/** The request a Recovery works for. */
export interface Recovering {
  readonly core: DispatchCore;
  readonly method: string;
  readonly opts: PicketDispatchOptions;
  readonly caller: Caller;
  readonly deadlineAt: number;
  /** Attempts racing for the answer now. */
  live: number;
  safety(): Safety;
  logged(): AttemptLog;
  exhausted(reason: string, cause: unknown): PicketError;
  /** Makes `a`'s answer the caller's: the others are cancelled, timers and retries end. */
  win(a: Attempt): void;
  cancelAll(reason: Error, kind: 'timeout' | undefined): void;
  /** Picks and sends the next round's attempt. */
  launch(hedge: boolean, now: number): boolean;
  /** Stops the hedge timer: a round is over. */
  clearHedges(): void;
}

export class Recovery implements RoundRunner, BackingOff {
  readonly #request: Recovering;
  /** The retry loop, from the first retry on. */
  readonly retries: Retries;
  /** The last retryable answer put aside, handed to the caller if no other instance can be tried. */
  #held: HeldResponse | null = null;
  /** Waiting out a backoff before its next round (the client's backing-off set holds it). */
  #inBackoff = false;

  constructor(request: Recovering) {
    this.#request = request;
    this.retries = new Retries(this, request.core.config.retry);
  }

  /** `a` failed (`error` of `kind`): another attempt follows when allowed, or the request gives up. */
  failed(a: Attempt, error: Error, kind: string): void {
    const request = this.#request;
    request.live--;
    const core = request.core;
    const record = request.logged().failed(a, core.now(), kind, errorCode(error));
    if (core.shutdown === DESTROYED) {
      // destroy() fails every request at once, with what happened to them all.
      request.cancelAll(LOST, undefined);
      request.caller.finishError(clientClosedError(core.service));
      return;
    }
    if (request.live > 0) return;
    const why = this.whyNot(a);
    if (why === null) this.#retry(a, record, 0);
    else this.giveUp(request.exhausted(why, error));
  }

  /**
   * `a` answered with a retryable status, to be retried after `delay` ms: its answer is put aside
   * (its body read and kept) while another attempt is tried. False when no other attempt may
   * follow and none is racing: then the answer is the caller's.
   */
  hold(
    a: Attempt,
    statusCode: number,
    headers: Headers,
    statusMessage: string | undefined,
    delay: number,
  ): boolean {
    const request = this.#request;
    // With a hedge still racing, drop this answer and wait for the hedge's.
    if (request.live <= 1 && this.whyNot(a) !== null) return false;
    a.phase = 'discarding';
    this.#held = new HeldResponse(a, statusCode, headers, statusMessage);
    request.live--;
    const record = request.logged().failed(a, request.core.now(), undefined, undefined);
    if (request.live === 0) this.#retry(a, record, delay);
    return true;
  }

  /** Null when another attempt may follow `failed` (and takes it from the budget), else why not. */
  whyNot(failed: Attempt): string | null {
    const request = this.#request;
    const core = request.core;
    if (core.shutdown !== OPEN) return 'the client is closing: no retry starts after close()';
    const maxRetries = core.config.limits.maxConcurrentRetries;
    if (core.retriesInFlight >= maxRetries)
      return `\`limits.maxConcurrentRetries\` (${maxRetries}) retries are in flight`;
    const safety = request.safety();
    const why = whyNotRetry(core.config.retry, {
      method: request.method,
      aborted: request.caller.aborted,
      retriesLeft: this.retries.left,
      mayHaveReachedServer: failed.started && !failed.unprocessed,
      idempotent: safety !== 'unsafe',
      replayable: safety === 'replayable',
      timedOut: core.now() >= request.deadlineAt,
      budget: core.budget,
    });
    if (why === BUDGET_EXHAUSTED) core.metrics?.budgetExhausted();
    return why;
  }

  #retry(failed: Attempt, record: AttemptRecord, retryAfterMs: number): void {
    const request = this.#request;
    request.clearHedges();
    const core = request.core;
    const events = core.events;
    if (events.has('retry')) {
      const next = request.logged().records.length + 1;
      const path = redactPath(request.opts.path);
      events.emit('retry', { method: request.method, path, attempt: record, next });
    }
    core.metrics?.retry(record.error ?? (record.status === undefined ? 'other' : `http_${record.status}`));
    this.#inBackoff = true;
    core.backingOff(this);
    this.retries.schedule(failed.instance, retryAfterMs);
  }

  /** The instance the next round must go to again (`sameInstance`), taken once; else null. */
  takeTarget(): Instance | null {
    const target = this.retries.target;
    this.retries.target = null;
    return target;
  }

  runRound(): void {
    this.backedOff();
    this.#request.launch(false, this.#request.core.now());
  }

  /** The backoff is over (its round runs, or the request ended). */
  backedOff(): void {
    if (!this.#inBackoff) return;
    this.#inBackoff = false;
    this.#request.core.backedOff(this);
  }

  shutDown(error: Error): void {
    this.#inBackoff = false;
    this.#request.caller.finishError(error);
  }

  /** No instance could be picked for the next attempt, `sent` attempts into the request. */
  pickFailed(error: unknown, sent: number): void {
    const request = this.#request;
    const service = request.core.service;
    const overloaded = request.logged().overloaded;
    if (isPicketError(error, 'PICKET_BALANCER_CLOSED')) {
      request.caller.finishError(clientClosedError(service));
    } else if (overloaded > 0 && sent === 0) {
      // Every instance it could go to has a full queue: refused at once, never queued.
      request.caller.finishError(overloadedError(service, 'maxPendingPerInstance', overloaded, error));
    } else {
      this.giveUp(request.exhausted('no other instance is available', error));
    }
  }

  /**
   * No other instance can be tried: the caller gets the last answer put aside when there is one
   * (whole), else `error`.
   */
  giveUp(error: PicketError): void {
    const held = this.#held;
    const caller = this.#request.caller;
    if (held === null || held.tooLarge || caller.done) {
      caller.finishError(error);
      return;
    }
    // Its body may still be arriving: the answer is handed over when it has.
    held.givingUp = error;
    if (held.complete) this.#deliver(held);
  }

  #deliver(held: HeldResponse): void {
    this.#held = null;
    const a = held.attempt;
    this.#request.win(a);
    const caller = this.#request.caller;
    caller.deliverHeaders(a, held.statusCode, held.headers, held.statusMessage);
    for (const chunk of held.chunks) caller.forwardData(chunk);
    caller.forwardEnd(held.trailers);
  }

  /** A chunk of an answer put aside. */
  heldData(a: Attempt, chunk: Buffer): void {
    if (this.#held?.attempt === a) this.#held.data(chunk);
  }

  heldEnd(a: Attempt, trailers: Headers): void {
    const held = this.#held;
    if (held?.attempt !== a) return;
    held.end(trailers);
    if (held.givingUp === null || this.#request.caller.done) return;
    if (held.complete) this.#deliver(held);
    else this.#request.caller.finishError(held.givingUp);
  }

  /** `a` failed: true when it was the answer put aside, which then cannot be handed over. */
  heldBroke(a: Attempt): boolean {
    const held = this.#held;
    if (held?.attempt !== a) return false;
    this.#held = null;
    if (held.givingUp !== null) this.#request.caller.finishError(held.givingUp);
    return true;
  }

  /** The request ended: any wait and the retry loop stop. */
  stop(): void {
    this.backedOff();
    this.retries.stop();
  }
}
