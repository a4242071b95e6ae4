// One attempt of a request on one instance: the undici handler given to that instance's pool.
// It owns the pick (released exactly once, with the outcome), the breaker settlement and its
// `perTryTimeout` deadline, and reports every event to its owner (the request, through the
// AttemptOwner interface below), which decides what the caller sees.

import {
  type ErrorKind,
  type Instance,
  isPicketError,
  NEUTRAL,
  type Outcome,
  PicketError,
  type PickHandle,
} from '@picket/core';
import type { Dispatcher } from 'undici';
import type { Breaker } from '../breaker/breaker.ts';
import { type CallerFault, callerFault, errorCode, errorKind } from '../errors.ts';
import type { AttemptMessage } from '../observe/channels.ts';
import type { InstancePool } from '../pool/pools.ts';
import type { Caller } from './caller.ts';
import { DESTROYED, type DispatchCore, type PicketDispatchOptions } from './core.ts';
import { PerTry, type PerTryOwner } from './per-try.ts';
import { failedOutcome, leaveQueue, lostOutcome, type Settled, settle } from './settle.ts';

type Controller = Dispatcher.DispatchController;
type Headers = Record<string, string | string[] | undefined>;

/** Reason given to a hedge that lost the race; never reaches a caller. */
export const LOST = new PicketError('PICKET_ABORTED', 'Another attempt answered first');

/**
 * Where an attempt stands. `racing`: sent, no answer taken yet. `discarding`: it answered with a
 * retryable status, whose body is read and put aside, then the connection is reused. `winner`:
 * its answer is the caller's. `cancelled`: aborted by Picket (a hedge that lost, a timeout, or
 * the caller's abort).
 */
export type Phase = 'racing' | 'discarding' | 'winner' | 'cancelled';

/** What an attempt reports to: the attempts of its request (attempts.ts). */
export interface AttemptOwner {
  readonly core: DispatchCore;
  readonly method: string;
  readonly opts: PicketDispatchOptions;
  readonly caller: Caller;
  attemptHeaders(a: Attempt, statusCode: number, headers: Headers, statusMessage: string | undefined): void;
  /** A chunk of an answer put aside (phase `discarding`). */
  heldData(a: Attempt, chunk: Buffer): void;
  heldEnd(a: Attempt, trailers: Headers): void;
  attemptUpgrade(a: Attempt, statusCode: number, headers: Headers, socket: unknown): void;
  attemptError(a: Attempt, error: Error, kind: string): void;
  /** `perTryTimeout` passed without response headers. */
  attemptTimedOut(a: Attempt): void;
  /** The caller's body failed, `error` having ended an attempt (its fault, not the instance's). */
  bodyFailed(error: unknown): boolean;
  /** The caller's own mistake ended `a`: the request fails once, typed, never retried. */
  callerFailed(error: Error, fault: CallerFault): void;
}

/**
 * Attempts in a row an instance may leave unanswered past their callers' own deadlines before
 * each further one is charged as a timeout (the outlier detector's default streak).
 */
const UNANSWERED_STREAK = 5;

export class Attempt implements Dispatcher.DispatchHandler, PerTryOwner, Settled {
  readonly owner: AttemptOwner;
  readonly pick: PickHandle;
  readonly instance: Instance;
  readonly hedge: boolean;
  readonly startedAt: number;
  /** 1 for the call's first attempt. */
  number = 0;
  /** The instance's breaker, which admitted this attempt and hears how it ended. */
  breaker: Breaker | null = null;
  /** Admitted as its breaker's half-open trial: its outcome decides the breaker. */
  trial = false;
  /** The instance's pool while this attempt waits in it for a connection (counted in its `pending`). */
  waitingIn: InstancePool | null = null;
  /** The instance's pool, which keeps its streak of attempts left unanswered past a caller's deadline. */
  slot: InstancePool | null = null;
  /** Counted in the client's retries in flight (a retry or a hedge). */
  countedRetry = false;
  /** What the attempt failed with (an error code), for metrics. */
  errorType: string | undefined = undefined;
  /** The attempt's channel message, when `picket:attempt:*` has subscribers. */
  message: AttemptMessage | null = null;
  /** Answered 408, or a shedding 503: the server did not read the request, whatever was sent. */
  unprocessed = false;
  /** undici's controller, from onRequestStart: bytes of the request may have reached the server. */
  controller: Controller | null = null;
  phase: Phase = 'racing';
  status = 0;
  latencyMs = -1;
  /** The kind a cancellation is reported as: undefined (neutral) or 'timeout'. */
  cancelKind: ErrorKind | undefined = undefined;
  cancelReason: Error | null = null;
  perTry: PerTry | null = null;
  #finished = false;

  constructor(owner: AttemptOwner, pick: PickHandle, hedge: boolean, now: number) {
    this.owner = owner;
    this.pick = pick;
    this.instance = pick.instance;
    this.hedge = hedge;
    this.startedAt = now;
  }

  /** onRequestStart was seen: bytes of the request may have reached the server. */
  get started(): boolean {
    return this.controller !== null;
  }

  /** Puts the attempt under `perTryTimeout`, in the client's deadline lists. */
  startPerTry(timeoutMs: number, now: number): void {
    this.perTry ??= new PerTry(this);
    this.owner.core.deadlines.add(this.perTry, timeoutMs, now);
  }

  /** Aborts the attempt on Picket's behalf; its pick is released as `kind` (undefined: neutral). */
  cancel(reason: Error, kind: ErrorKind | undefined): void {
    if (this.#finished || this.phase === 'cancelled') return;
    this.#clearDeadline();
    this.phase = 'cancelled';
    this.cancelReason = reason;
    this.cancelKind = kind;
    // Not yet on a connection: undici gives us the controller in onRequestStart, where we abort.
    this.controller?.abort(reason);
  }

  /** `perTryTimeout` passed without response headers; the owner decides what follows. */
  perTryExpired(): void {
    if (!this.#finished && this.phase === 'racing') this.owner.attemptTimedOut(this);
  }

  #clearDeadline(): void {
    if (this.perTry !== null) this.owner.core.deadlines.remove(this.perTry);
  }

  onRequestStart(controller: Controller, _context: unknown): void {
    try {
      leaveQueue(this);
      this.controller = controller;
      if (this.phase === 'cancelled') controller.abort(this.cancelReason!);
    } catch (error) {
      this.owner.caller.callbackThrew(this, 'onRequestStart', error);
    }
  }

  onRequestUpgrade(_controller: Controller, statusCode: number, headers: Headers, socket: unknown): void {
    try {
      this.status = statusCode;
      this.latencyMs = this.owner.core.now() - this.startedAt;
      this.#finish({ ok: true, status: statusCode, latencyMs: this.latencyMs }, false);
      this.owner.attemptUpgrade(this, statusCode, headers, socket);
    } catch (error) {
      this.owner.caller.callbackThrew(this, 'onRequestUpgrade', error);
    }
  }

  onResponseStart(
    _controller: Controller,
    statusCode: number,
    headers: Headers,
    statusMessage?: string,
  ): void {
    try {
      if (statusCode < 200) {
        if (this.phase === 'racing' || this.phase === 'winner')
          this.owner.caller.info(this, statusCode, headers, statusMessage);
        return;
      }
      this.#clearDeadline();
      this.status = statusCode;
      this.latencyMs = this.owner.core.now() - this.startedAt;
      if (this.slot !== null) this.slot.unanswered = 0;
      if (this.phase === 'cancelled') {
        this.controller?.abort(this.cancelReason!);
        return;
      }
      this.owner.attemptHeaders(this, statusCode, headers, statusMessage);
    } catch (error) {
      this.owner.caller.callbackThrew(this, 'onResponseStart', error);
    }
  }

  onResponseData(_controller: Controller, chunk: Buffer): void {
    try {
      if (this.phase === 'winner') this.owner.caller.forwardData(chunk);
      else if (this.phase === 'discarding') this.owner.heldData(this, chunk);
    } catch (error) {
      this.owner.caller.callbackThrew(this, 'onResponseData', error);
    }
  }

  onResponseEnd(_controller: Controller, trailers: Headers): void {
    try {
      const status = this.status;
      // A shedding server's "not processed" 503 is load, not a fault: no breaker or outlier
      // detector may count it (they would take every instance out exactly when all are busy).
      // Its in-flight count, which P2C weighs, already steers new requests elsewhere.
      if (this.unprocessed) this.#finish(NEUTRAL, undefined);
      else this.#finish({ ok: status < 500, status, latencyMs: this.latencyMs }, status >= 500);
      if (this.phase === 'winner') this.owner.caller.forwardEnd(trailers);
      else if (this.phase === 'discarding') this.owner.heldEnd(this, trailers);
    } catch (error) {
      this.owner.caller.callbackThrew(this, 'onResponseEnd', error);
    }
  }

  onResponseError(_controller: Controller | null, error: Error): void {
    try {
      if (this.#finished) return;
      const cancelled = this.phase === 'cancelled';
      if (this.owner.core.shutdown === DESTROYED) {
        // destroy() cut the attempt off: the client's own doing, which says nothing of the instance.
        this.#finish(NEUTRAL, undefined);
        if (!cancelled) this.owner.attemptError(this, error, errorKind(errorCode(error)));
        return;
      }
      if (cancelled && this.cancelKind === undefined) {
        // A hedge that lost, or an attempt past its caller's own deadline, was at least this
        // slow, which peak-EWMA should hear; the caller's abort (or its handler throwing) says
        // nothing about the instance.
        const now = this.owner.core.now();
        const deadline = isPicketError(this.cancelReason, 'PICKET_TIMEOUT');
        if (deadline && this.#unansweredStreak()) {
          // …unless the instance has left UNANSWERED_STREAK such attempts in a row unanswered:
          // one that stopped answering is charged, as Envoy and gRPC charge every deadline.
          this.errorType = 'timeout';
          this.#finish(failedOutcome(this, 'timeout', now), true);
          return;
        }
        this.#finish(deadline || this.cancelReason === LOST ? lostOutcome(this, now) : NEUTRAL, undefined);
        return;
      }
      if (!cancelled) {
        // The caller's own mistake (an invalid request, its body stream failing): fails once,
        // never retried, and neutral for the instance.
        const fault = callerFault(error, this.owner.bodyFailed(error), this.started);
        if (fault !== undefined) {
          this.#finish(NEUTRAL, undefined);
          this.owner.callerFailed(error, fault);
          return;
        }
      }
      const code = errorCode(error);
      const kind = cancelled ? this.cancelKind! : errorKind(code);
      this.errorType = cancelled ? kind : (code ?? kind);
      this.#finish(failedOutcome(this, kind, this.owner.core.now()), true);
      if (!cancelled) this.owner.attemptError(this, error, kind);
    } catch (error) {
      this.owner.caller.callbackThrew(this, 'onResponseError', error);
    }
  }

  onBodySent(chunk: Buffer): void {
    try {
      this.owner.caller.handler.onBodySent?.(chunk);
    } catch (error) {
      this.owner.caller.callbackThrew(this, 'onBodySent', error);
    }
  }

  onRequestSent(): void {
    try {
      this.owner.caller.handler.onRequestSent?.();
    } catch (error) {
      this.owner.caller.callbackThrew(this, 'onRequestSent', error);
    }
  }

  /**
   * Counts this attempt, cut off by its caller's own deadline on a connection before any answer,
   * in its instance's streak; true once the streak reaches UNANSWERED_STREAK. Any answer from the
   * instance (onResponseStart) ends the streak, so a deadline that passes now and then, or one
   * shorter than an instance that does answer, is not charged.
   */
  #unansweredStreak(): boolean {
    const slot = this.slot;
    if (slot === null || !this.started || this.latencyMs >= 0) return false;
    return ++slot.unanswered >= UNANSWERED_STREAK;
  }

  #finish(outcome: Outcome, failed: boolean | undefined): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#clearDeadline();
    settle(this.owner.core, this.owner.method, this, outcome, failed);
  }
}
