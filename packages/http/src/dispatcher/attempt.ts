// One attempt of a request on one instance: the undici handler given to that instance's pool.
// It owns the pick (released exactly once, with the outcome), the breaker settlement and its
// `perTryTimeout` deadline, and hands every event to its request, which decides what the
// caller sees. A request is itself its first attempt (RequestState extends this class through
// CallerSide), so a request answered at once makes one object, not two; retries and hedges
// are attempts of their own.

import {
  type ErrorKind,
  type Instance,
  NEUTRAL,
  type Outcome,
  PicketError,
  type PickHandle,
} from '@picket/core';
import type { Dispatcher } from 'undici';
import type { BreakerEntry } from '../breaker/breakers.ts';
import { callerFault, errorCode, errorKind } from '../errors.ts';
import { type AttemptMessage, attemptEndChannel, attemptStartChannel } from '../observe/channels.ts';
import type { InstancePool } from '../pool/pools.ts';
import { redactPath } from '../redact.ts';
import type { DeadlineQueue, Timed } from './deadlines.ts';
import type { RequestState } from './request.ts';

type Controller = Dispatcher.DispatchController;
type Headers = Record<string, string | string[] | undefined>;

/** Reason given to a hedge that lost the race; never reaches a caller. */
export const LOST = new PicketError('PICKET_ABORTED', 'Another attempt answered first');

/** Attempt phases. */
export const RACING = 0;
/** A retryable status: its body is read and dropped, then the connection is reused. */
export const DISCARDING = 1;
export const WINNER = 2;
/** Aborted by Picket: a hedge that lost, a timeout, or the caller's abort. */
export const CANCELLED = 3;

/** An attempt's `perTryTimeout` deadline (until response headers), made only when one is set. */
class PerTry implements Timed {
  readonly attempt: Attempt;
  deadlineAt = 0;
  deadlineNext: Timed | null = null;
  deadlinePrev: Timed | null = null;
  deadlineIndex = -1;
  deadlineList: DeadlineQueue | null = null;

  constructor(attempt: Attempt) {
    this.attempt = attempt;
  }

  timedOut(): void {
    this.attempt.perTryExpired();
  }
}

export class Attempt implements Dispatcher.DispatchHandler {
  // Set by `begin`: for a request's own first attempt, when it is launched.
  request: RequestState = null as never;
  instance: Instance = null as never;
  hedge = false;
  startedAt = 0;
  pick: PickHandle | null = null;
  /** The instance's breaker, which admitted this attempt and hears how it ended. */
  breaker: BreakerEntry | null = null;
  /** 1 for the call's first attempt. */
  number = 0;
  /** The instance's pool while this attempt waits in it for a connection (counted in its `pending`). */
  waitingIn: InstancePool | null = null;
  /** Counted in the client's retries in flight (a retry or a hedge). */
  countedRetry = false;
  /** What the attempt failed with (an error code), for metrics. */
  errorType: string | undefined = undefined;
  /** The attempt's channel message, when `picket:attempt:*` has subscribers. */
  #message: AttemptMessage | null = null;
  /** Answered 408: the server did not read the request (see RequestState), whatever was sent. */
  unprocessed = false;
  /** Admitted as its breaker's half-open trial: its outcome decides the breaker. */
  trial = false;
  /** undici's controller, from onRequestStart: bytes of the request may have reached the server. */
  controller: Controller | null = null;
  phase = RACING;
  status = 0;
  latencyMs = -1;
  /** The kind a cancellation is reported as: undefined (neutral) or 'timeout'. */
  cancelKind: ErrorKind | undefined = undefined;
  cancelReason: Error | null = null;
  perTry: PerTry | null = null;
  #finished = false;

  begin(request: RequestState, pick: PickHandle, hedge: boolean, now: number): void {
    this.request = request;
    this.pick = pick;
    this.instance = pick.instance;
    this.hedge = hedge;
    this.startedAt = now;
  }

  /** Publishes `picket:attempt:start` (its message is kept for `picket:attempt:end`). */
  announce(): void {
    if (!attemptStartChannel.hasSubscribers && !attemptEndChannel.hasSubscribers) return;
    const request = this.request;
    const message: AttemptMessage = {
      client: request.core,
      service: request.core.service,
      method: request.method,
      path: redactPath(request.opts.path),
      instance: this.instance.url,
      instanceId: this.instance.id,
      attempt: this.number,
      hedge: this.hedge,
      retry: this.number > 1 && !this.hedge,
    };
    this.#message = message;
    attemptStartChannel.publish(message);
  }

  /** onRequestStart was seen: bytes of the request may have reached the server. */
  get started(): boolean {
    return this.controller !== null;
  }

  /** The attempt's `perTryTimeout` deadline, for the client's deadline lists. */
  perTryDeadline(): Timed {
    this.perTry ??= new PerTry(this);
    return this.perTry;
  }

  /** Aborts the attempt on Picket's behalf; its pick is released as `kind` (undefined: neutral). */
  cancel(reason: Error, kind: ErrorKind | undefined): void {
    if (this.#finished || this.phase === CANCELLED) return;
    this.#clearDeadline();
    this.phase = CANCELLED;
    this.cancelReason = reason;
    this.cancelKind = kind;
    // Not yet on a connection: undici gives us the controller in onRequestStart, where we abort.
    this.controller?.abort(reason);
  }

  /** `perTryTimeout` passed without response headers; the request decides what follows. */
  perTryExpired(): void {
    if (!this.#finished && this.phase === RACING) this.request.attemptTimedOut(this);
  }

  #clearDeadline(): void {
    const perTry = this.perTry;
    if (perTry !== null && perTry.deadlineList !== null) perTry.deadlineList.remove(perTry);
  }

  onRequestStart(controller: Controller, _context: unknown): void {
    try {
      this.#leaveQueue();
      this.controller = controller;
      if (this.phase === CANCELLED) controller.abort(this.cancelReason!);
    } catch (error) {
      this.request.callbackThrew(this, 'onRequestStart', error);
    }
  }

  onRequestUpgrade(controller: Controller, statusCode: number, headers: Headers, socket: unknown): void {
    try {
      this.status = statusCode;
      this.latencyMs = this.request.core.now() - this.startedAt;
      this.#finish({ ok: true, status: statusCode, latencyMs: this.latencyMs }, false);
      this.request.attemptUpgrade(this, controller, statusCode, headers, socket);
    } catch (error) {
      this.request.callbackThrew(this, 'onRequestUpgrade', error);
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
        if (this.phase === RACING || this.phase === WINNER)
          this.request.attemptInfo(this, statusCode, headers, statusMessage);
        return;
      }
      this.#clearDeadline();
      this.status = statusCode;
      this.latencyMs = this.request.core.now() - this.startedAt;
      if (this.phase === CANCELLED) {
        this.controller?.abort(this.cancelReason!);
        return;
      }
      this.request.attemptHeaders(this, statusCode, headers, statusMessage);
    } catch (error) {
      this.request.callbackThrew(this, 'onResponseStart', error);
    }
  }

  onResponseData(_controller: Controller, chunk: Buffer): void {
    try {
      if (this.phase === WINNER) this.request.forwardData(chunk);
      else if (this.phase === DISCARDING) this.request.heldData(this, chunk);
    } catch (error) {
      this.request.callbackThrew(this, 'onResponseData', error);
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
      if (this.phase === WINNER) this.request.forwardEnd(trailers);
      else if (this.phase === DISCARDING) this.request.heldEnd(this, trailers);
    } catch (error) {
      this.request.callbackThrew(this, 'onResponseEnd', error);
    }
  }

  onResponseError(_controller: Controller | null, error: Error): void {
    try {
      if (this.#finished) return;
      const cancelled = this.phase === CANCELLED;
      if (cancelled && this.cancelKind === undefined) {
        // A hedge that lost was at least this slow, which peak-EWMA should hear; the caller's
        // abort (or its handler throwing) says nothing about the instance.
        const lost = this.cancelReason === LOST;
        const heard = this.latencyMs >= 0 ? { ok: true, latencyMs: this.latencyMs } : this.#elapsed();
        this.#finish(lost ? heard : NEUTRAL, undefined);
        return;
      }
      if (!cancelled) {
        // The caller's own mistake (an invalid request, its body stream failing): fails once,
        // never retried, and neutral for the instance.
        const fault = callerFault(error, this.request.bodyFailed());
        if (fault !== undefined) {
          this.#finish(NEUTRAL, undefined);
          this.request.callerFailed(error, fault);
          return;
        }
      }
      const code = errorCode(error);
      const kind = cancelled ? this.cancelKind! : errorKind(code);
      this.errorType = cancelled ? kind : (code ?? kind);
      const latencyMs = this.latencyMs >= 0 ? this.latencyMs : this.request.core.now() - this.startedAt;
      const outcome: Outcome =
        this.status > 0
          ? { ok: false, status: this.status, error: kind, latencyMs }
          : { ok: false, error: kind, latencyMs };
      this.#finish(outcome, true);
      if (!cancelled) this.request.attemptError(this, error, kind);
    } catch (error) {
      this.request.callbackThrew(this, 'onResponseError', error);
    }
  }

  onBodySent(chunk: Buffer): void {
    try {
      this.request.handler.onBodySent?.(chunk);
    } catch (error) {
      this.request.callbackThrew(this, 'onBodySent', error);
    }
  }

  onRequestSent(): void {
    try {
      this.request.handler.onRequestSent?.();
    } catch (error) {
      this.request.callbackThrew(this, 'onRequestSent', error);
    }
  }

  // A lost hedge never answered: it was at least this slow, which peak-EWMA should hear.
  #elapsed(): Outcome {
    return { ok: true, latencyMs: this.request.core.now() - this.startedAt };
  }

  /** A connection took the attempt (or it ended before one did): it no longer waits in the pool. */
  #leaveQueue(): void {
    const slot = this.waitingIn;
    if (slot === null) return;
    this.waitingIn = null;
    slot.pending--;
  }

  /** Releases the pick and tells the breaker: failed, succeeded, or (undefined) neither. */
  #finish(outcome: Outcome, failed: boolean | undefined): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#leaveQueue();
    if (this.countedRetry) {
      this.countedRetry = false;
      this.request.core.retriesInFlight--;
    }
    this.#clearDeadline();
    const pick = this.pick!;
    this.pick = null;
    const core = this.request.core;
    // When the outcome was known: the response headers, or the error.
    const at = this.startedAt + (outcome.latencyMs ?? 0);
    pick.release(outcome, core.sharesClock ? at : undefined);
    const breaker = this.breaker;
    if (breaker !== null) core.breakers!.settle(breaker, failed, at, this.trial);
    if (outcome.neutral !== true) {
      const metrics = core.metrics;
      if (metrics !== null) {
        const seconds = (core.now() - this.startedAt) / 1000;
        metrics.attempt(this.instance, this.request.method, seconds, this.status, this.errorType);
      }
    }
    const message = this.#message;
    if (message !== null) {
      message.outcome = outcome;
      attemptEndChannel.publish(message);
    }
  }
}
