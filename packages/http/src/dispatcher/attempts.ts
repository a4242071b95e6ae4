// The attempts of one request and what their answers mean: it launches them (admit.ts), hears
// every event through AttemptOwner, decides at header time whether a response is the caller's
// answer or a reason to try again (recovery.ts), and races hedges (hedge.ts). The call itself
// (options, overall deadline, discovery wait, the caller's controller) is the request's.

import { type Instance, isPicketError, NEUTRAL, type PicketError } from '@picket/core';
import type { Dispatcher } from 'undici';
import { type CallerFault, perTryTimeoutError, unprocessedError } from '../errors.ts';
import { statusRetryDelay } from '../retry/policy.ts';
import { type Admitting, admit } from './admit.ts';
import { type Attempt, type AttemptOwner, LOST } from './attempt.ts';
import { announceAttempt } from './attempt-channel.ts';
import { AttemptLog } from './attempt-log.ts';
import type { Call } from './call.ts';
import type { Caller } from './caller.ts';
import type { DispatchCore, PicketDispatchOptions } from './core.ts';
import { Hedges, type HedgeTarget } from './hedge.ts';
import { type Recovering, Recovery } from './recovery.ts';
import type { Safety } from './safety.ts';
import { settle } from './settle.ts';
import { unprocessed } from './unprocessed.ts';

type Headers = Record<string, string | string[] | undefined>;

export class Attempts implements AttemptOwner, Admitting, Recovering, HedgeTarget {
  readonly #call: Call;
  readonly core: DispatchCore;
  readonly method: string;
  readonly opts: PicketDispatchOptions;
  readonly caller: Caller;
  // Every attempt sent, in order (those still racing have phase `racing`): the first, then any
  // others, so that a request answered at once allocates no array.
  #first: Attempt | null = null;
  #more: Attempt[] | null = null;
  #count = 0;
  /** Attempts racing for the answer now. */
  live = 0;
  /** Null until the request needs more than one attempt (attempt-log.ts). */
  log: AttemptLog | null = null;
  /** Made only when hedging is on and the request is safe to send twice. */
  readonly #hedges: Hedges | null = null;
  /** Made on the first failure: a request answered at once never needs one. */
  #recovery: Recovery | null = null;

  constructor(call: Call) {
    this.#call = call;
    this.core = call.core;
    this.method = call.method;
    this.opts = call.opts;
    this.caller = call.caller;
    const hedge = call.core.config.hedge;
    if (hedge !== false && call.safety() === 'replayable') this.#hedges = new Hedges(this, hedge.maxHedges);
  }

  get deadlineAt(): number {
    return this.#call.deadlineAt;
  }
  /** Attempts sent so far. */
  get count(): number {
    return this.#count;
  }

  safety(): Safety {
    return this.#call.safety();
  }

  logged(): AttemptLog {
    this.log ??= new AttemptLog();
    return this.log;
  }

  /** Picks and sends one attempt. False when none could be sent (the request may be finished). */
  launch(hedge: boolean, now: number): boolean {
    const attempt = admit(this, hedge, now);
    if (attempt === null) return false;
    const core = this.core;
    const instance = attempt.instance;
    let options: Dispatcher.DispatchOptions;
    try {
      options = this.#call.optionsFor(instance, core.inBand?.ask(instance, now) === true);
    } catch (error) {
      // The caller's options could not be copied for this instance (a header getter that
      // throws): the pick goes back unused, and the call fails as an invalid one, wherever this
      // attempt began (a hedge's timer, a retry's backoff: nothing may throw there).
      attempt.waitingIn = null;
      settle(core, this.method, attempt, NEUTRAL, undefined);
      this.#call.callerFailed(error as Error, 'invalid');
      return false;
    }
    const perTry = core.config.perTryTimeout;
    if (perTry !== undefined) attempt.startPerTry(perTry, now);
    this.live++;
    if (this.#first === null) this.#first = attempt;
    else if (this.#more === null) this.#more = [attempt];
    else this.#more.push(attempt);
    if (hedge) this.logged().exclude.add(instance.id);
    attempt.number = ++this.#count;
    if (attempt.number > 1) {
      attempt.countedRetry = true;
      core.retriesInFlight++;
    }
    attempt.message = announceAttempt(core, this.method, this.opts.path, attempt);
    const slot = attempt.waitingIn!;
    slot.pending++;
    slot.pool.dispatch(options, attempt);
    if (!hedge && attempt.phase === 'racing' && !this.caller.done) this.#hedges?.arm();
    return true;
  }

  pickFailed(error: unknown, hedge: boolean): void {
    if (hedge) return;
    if (this.log === null && !isPicketError(error, 'PICKET_BALANCER_CLOSED')) this.#call.noInstance(error);
    else this.#recovered().pickFailed(error, this.#count);
  }

  refusedEverywhere(): void {
    const error = this.exhausted('too many instances refused by their breakers or limits', undefined);
    this.#recovered().giveUp(error);
  }

  exhausted(reason: string, cause: unknown): PicketError {
    return this.logged().exhausted(this.core.service, this.method, this.opts.path, reason, cause);
  }

  attemptHeaders(a: Attempt, statusCode: number, headers: Headers, statusMessage: string | undefined): void {
    // The attempt's response time on the clock it was sent by (onResponseStart just read it).
    this.core.inBand?.observe(a.instance, headers, a.startedAt + a.latencyMs);
    const caller = this.caller;
    if (caller.done || caller.winner !== null) {
      a.cancel(LOST, undefined);
      return;
    }
    const retry = this.core.config.retry;
    const unread = unprocessed(retry, statusCode, headers, this.opts.body);
    if (unread === 'unread') {
      const error = unprocessedError(a.instance.url);
      a.unprocessed = true;
      a.cancel(error, undefined);
      this.#recovered().failed(a, error, 'other');
      return;
    }
    if (unread === 'shed') a.unprocessed = true;
    if (retry.enabled && statusCode >= 400) {
      const delay = statusRetryDelay(retry, statusCode, headers);
      if (delay >= 0 && this.#recovered().hold(a, statusCode, headers, statusMessage, delay)) return;
    }
    this.live--;
    this.win(a);
    if (statusCode < 500) this.core.latency?.record(a.latencyMs);
    caller.deliverHeaders(a, statusCode, headers, statusMessage);
  }

  /** `a`'s answer is the caller's: every other attempt is cancelled, timers and retries end. */
  win(a: Attempt): void {
    a.phase = 'winner';
    this.caller.winner = a;
    this.cancelAll(LOST, undefined);
    this.#call.clearDeadline();
    this.#hedges?.clear();
    this.#recovery?.retries.stop();
  }

  attemptUpgrade(a: Attempt, statusCode: number, headers: Headers, socket: unknown): void {
    const caller = this.caller;
    if (caller.done || caller.winner !== null) {
      (socket as { destroy?: () => void }).destroy?.();
      return;
    }
    this.live--;
    this.win(a);
    caller.upgrade(statusCode, headers, socket);
  }

  attemptError(a: Attempt, error: Error, kind: string): void {
    const caller = this.caller;
    if (caller.done) return;
    // The answer put aside broke off: it cannot be handed over.
    if (this.#recovery?.heldBroke(a) === true) return;
    if (a.phase === 'winner') {
      // The caller has the headers already; the body fails with undici's own error.
      caller.finishError(error);
      return;
    }
    if (a.phase !== 'racing') return;
    this.#recovered().failed(a, error, kind);
  }

  /**
   * `a` got no response headers within `perTryTimeout`: it is abandoned, released as a
   * timeout, and followed by another attempt under the same rules as any failure that may have
   * reached the server (only idempotent, replayable requests are sent again).
   */
  attemptTimedOut(a: Attempt): void {
    if (this.caller.done || this.caller.winner !== null || a.phase !== 'racing') return;
    const core = this.core;
    const url = a.instance.url;
    const error = perTryTimeoutError(
      core.service,
      this.method,
      this.opts.path,
      core.config.perTryTimeout!,
      url,
    );
    // Cancelled first, so that the pick is released (when undici aborts at once) before the next.
    a.cancel(error, 'timeout');
    this.#recovered().failed(a, error, 'timeout');
  }

  heldData(a: Attempt, chunk: Buffer): void {
    this.#recovery?.heldData(a, chunk);
  }
  heldEnd(a: Attempt, trailers: Headers): void {
    this.#recovery?.heldEnd(a, trailers);
  }
  bodyFailed(error: unknown): boolean {
    return this.#call.bodyFailed(error);
  }
  callerFailed(error: Error, fault: CallerFault): void {
    this.#call.callerFailed(error, fault);
  }

  /** Cancels every attempt still racing, released as `kind` (undefined: neutral). */
  cancelAll(reason: Error, kind: 'timeout' | undefined): void {
    if (this.#first?.phase === 'racing') this.#first.cancel(reason, kind);
    if (this.#more !== null) for (const a of this.#more) if (a.phase === 'racing') a.cancel(reason, kind);
    this.live = 0;
  }

  #recovered(): Recovery {
    this.#recovery ??= new Recovery(this);
    return this.#recovery;
  }

  takeTarget(): Instance | null {
    return this.#recovery === null ? null : this.#recovery.takeTarget();
  }

  stillWaiting(): boolean {
    return !this.caller.done && this.caller.winner === null && this.live > 0;
  }

  excludeRacing(exclude: Set<string>): void {
    if (this.#first?.phase === 'racing') exclude.add(this.#first.instance.id);
    if (this.#more !== null) for (const a of this.#more) if (a.phase === 'racing') exclude.add(a.instance.id);
  }

  clearHedges(): void {
    this.#hedges?.clear();
  }

  /** The request ended: hedge timers, any backoff and the retry loop stop. */
  stop(): void {
    this.#recovery?.stop();
    this.#hedges?.clear();
  }
}
