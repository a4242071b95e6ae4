// The caller's side of a request: the controller its handler holds (pause, resume, abort), and
// the one place a response or an error is delivered to it, exactly once. It reports to the
// request through the CallerOwner interface below; which attempt answered, it only reads.

import { PicketError } from '@picket/core';
import type { Dispatcher } from 'undici';

type Headers = Record<string, string | string[] | undefined>;

/** What the caller's controller reports to: the request. */
export interface CallerOwner {
  /** Aborts the attempts still racing for the answer. */
  cancelRacing(reason: Error): void;
  /** Releases timers and counts the request out; runs once, when the caller is done (`error` when it failed). */
  cleanup(error: unknown): void;
  /** The typed error for a callback that threw while this request was handled. */
  threwError(callback: string, error: unknown): Error;
}

/** The attempt whose answer the caller gets, as the caller's side sees it (attempt.ts). */
export interface Answering {
  readonly controller: Dispatcher.DispatchController | null;
  /** Its response status, once it has one. */
  readonly status: number;
  /** Aborts it on Picket's behalf; released as neutral. */
  cancel(reason: Error, kind: undefined): void;
}

export class Caller implements Dispatcher.DispatchController {
  readonly handler: Dispatcher.DispatchHandler;
  readonly #owner: CallerOwner;
  /** The attempt whose response the caller has, once headers were delivered. */
  winner: Answering | null = null;
  /** The caller has had its end or its error. */
  done = false;
  /** The caller's abort reason; set once, when the caller aborts. */
  #reason: Error | null = null;
  #paused = false;

  constructor(owner: CallerOwner, handler: Dispatcher.DispatchHandler) {
    this.#owner = owner;
    this.handler = handler;
  }

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
  callbackThrew(a: Answering | null, callback: string, error: unknown): void {
    const failure = this.#owner.threwError(callback, error);
    a?.cancel(failure, undefined);
    // Already done: the caller has had its end or its error; there is no one left to tell.
    this.abort(failure);
  }

  abort(reason?: Error): void {
    if (this.done) return;
    const error = reason ?? new PicketError('PICKET_ABORTED', 'The request was aborted');
    this.#reason = error;
    this.#owner.cancelRacing(error);
    // A caller's abort says nothing about the instance: its attempt is released as neutral.
    this.winner?.cancel(error, undefined);
    this.finishError(error);
  }

  /** Hands the winning attempt's headers to the caller. */
  deliverHeaders(
    a: Answering,
    statusCode: number,
    headers: Headers,
    statusMessage: string | undefined,
  ): void {
    if (this.#paused) a.controller?.pause();
    this.#start(a, statusCode, headers, statusMessage);
  }

  /** Hands an informational (1xx) response to the caller. */
  info(a: Answering, statusCode: number, headers: Headers, statusMessage: string | undefined): void {
    if (!this.done) this.#start(a, statusCode, headers, statusMessage);
  }

  #start(a: Answering, statusCode: number, headers: Headers, statusMessage: string | undefined): void {
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

  /** Hands the upgraded socket to the caller: the request is done. */
  upgrade(statusCode: number, headers: Headers, socket: unknown): void {
    this.finish();
    try {
      this.handler.onRequestUpgrade?.(this, statusCode, headers as never, socket as never);
    } catch {
      // The caller could not take the socket: no one else will use it.
      (socket as { destroy?: () => void }).destroy?.();
    }
  }

  finish(error?: unknown): void {
    this.done = true;
    this.#owner.cleanup(error);
  }

  finishError(error: unknown): void {
    if (this.done) return;
    this.finish(error ?? new Error('The request failed'));
    try {
      this.handler.onResponseError?.(this, error as Error);
    } catch {
      // A handler that throws on its own error has been told all there is.
    }
  }
}
