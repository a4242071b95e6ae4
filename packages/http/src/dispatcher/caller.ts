// The caller's side of a request: the controller its handler holds (pause, resume, abort),
// and the one place a response or an error is delivered to it, exactly once. The request's
// state machine (request.ts) builds on it. It extends Attempt because a request is also its
// own first attempt (attempt.ts): the handler undici calls and the controller the caller holds
// are one object, with distinct methods.

import { PicketError } from '@picket/core';
import type { Dispatcher } from 'undici';
import { Attempt } from './attempt.ts';

type Headers = Record<string, string | string[] | undefined>;

export abstract class CallerSide extends Attempt implements Dispatcher.DispatchController {
  readonly handler: Dispatcher.DispatchHandler;
  /** The attempt whose response the caller has, once headers were delivered. */
  protected winner: Attempt | null = null;
  /** The caller has had its end or its error. */
  protected done = false;
  /** The caller's abort reason; set once, when the caller aborts. */
  #reason: Error | null = null;
  #paused = false;

  constructor(handler: Dispatcher.DispatchHandler) {
    super();
    this.handler = handler;
  }

  /** Aborts the attempts still racing for the answer. */
  protected abstract cancelRacing(reason: Error): void;
  /** Releases timers and counts the request out; runs once, when the caller is done (`error` when it failed). */
  protected abstract cleanup(error: unknown): void;
  /** The typed error for a callback that threw while this request was handled. */
  protected abstract threwError(callback: string, error: unknown): Error;

  get aborted(): boolean {
    return this.#reason !== null;
  }
  get paused(): boolean {
    return this.#paused;
  }
  get reason(): Error | null {
    return this.#reason;
  }
  get rawHeaders(): Dispatcher.DispatchController['rawHeaders'] {
    return this.winner?.controller?.rawHeaders ?? null;
  }
  get rawTrailers(): Dispatcher.DispatchController['rawTrailers'] {
    return this.winner?.controller?.rawTrailers ?? null;
  }

  pause(): void {
    this.#paused = true;
    this.winner?.controller?.pause();
  }

  resume(): void {
    this.#paused = false;
    this.winner?.controller?.resume();
  }

  /**
   * A callback threw while this request was handled (the caller's handler, or Picket's code on
   * undici's behalf, in attempt `a`): the request fails with a typed error, its attempts are
   * released as neutral (no instance is charged), and nothing reaches undici as an exception.
   */
  callbackThrew(a: Attempt | null, callback: string, error: unknown): void {
    const failure = this.threwError(callback, error);
    a?.cancel(failure, undefined);
    // Already done: the caller has had its end or its error; there is no one left to tell.
    this.abort(failure);
  }

  abort(reason?: Error): void {
    if (this.done) return;
    const error = reason ?? new PicketError('PICKET_ABORTED', 'The request was aborted');
    this.#reason = error;
    this.cancelRacing(error);
    // A caller's abort says nothing about the instance: its attempt is released as neutral.
    this.winner?.cancel(error, undefined);
    this.finishError(error);
  }

  /** Hands the winning attempt's headers to the caller. */
  protected deliverHeaders(
    a: Attempt,
    statusCode: number,
    headers: Headers,
    statusMessage: string | undefined,
  ): void {
    if (this.#paused) a.controller?.pause();
    try {
      this.handler.onResponseStart?.(this, statusCode, headers as never, statusMessage);
    } catch (error) {
      this.callbackThrew(a, 'onResponseStart', error);
    }
  }

  attemptInfo(a: Attempt, statusCode: number, headers: Headers, statusMessage: string | undefined): void {
    if (this.done) return;
    try {
      this.handler.onResponseStart?.(this, statusCode, headers as never, statusMessage);
    } catch (error) {
      this.callbackThrew(a, 'onResponseStart', error);
    }
  }

  forwardData(chunk: Buffer): void {
    if (this.done) return;
    try {
      this.handler.onResponseData?.(this, chunk);
    } catch (error) {
      this.callbackThrew(this.winner, 'onResponseData', error);
    }
  }

  forwardEnd(trailers: Headers): void {
    if (this.done) return;
    this.finish();
    try {
      this.handler.onResponseEnd?.(this, trailers as never);
    } catch {
      // The caller has its whole response: its own handler failing at the end is its to see.
    }
  }

  protected finish(error?: unknown): void {
    this.done = true;
    this.cleanup(error);
  }

  protected finishError(error: unknown): void {
    if (this.done) return;
    this.finish(error ?? new Error('The request failed'));
    try {
      this.handler.onResponseError?.(this, error as Error);
    } catch {
      // A handler that throws on its own error has been told all there is.
    }
  }
}
