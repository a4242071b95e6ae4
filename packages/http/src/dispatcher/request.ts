// One request: the call as its caller made it. It owns the caller's controller (caller.ts) and
// the attempts made for it (attempts.ts), and holds what belongs to the call as a whole: the
// options each instance is sent (with or without the ask for a load report), whether the
// request is safe to send again, the overall timeout, the wait for discovery's first snapshot,
// and how the call is traced and counted.

import { type Instance, isPicketError } from '@picket/core';
import { LOAD_FORMAT_HEADER } from '@picket/core/internal';
import type { Dispatcher } from 'undici';
import {
  type CallerFault,
  handlerFailedError,
  invalidRequestError,
  notDiscoveredError,
  timeoutError,
} from '../errors.ts';
import { type RequestMessage, requestChannel } from '../observe/channels.ts';
import { copyOptions, hasHostHeader, withHeader } from './attempt-options.ts';
import { Attempts } from './attempts.ts';
import { blobFailed, needsWatch, readableFailed, watchBody } from './body-watch.ts';
import type { Call } from './call.ts';
import { Caller, type CallerOwner } from './caller.ts';
import type { DiscoveryWaiter, DispatchCore, PicketDispatchOptions } from './core.ts';
import type { DeadlineQueue, Timed } from './deadlines.ts';
import { recordEnd, traceStart } from './request-trace.ts';
import { judgeSafety, type Safety } from './safety.ts';

const CONTEXT = Object.freeze({});

export class RequestState implements Call, CallerOwner, Timed, DiscoveryWaiter {
  readonly core: DispatchCore;
  readonly opts: PicketDispatchOptions;
  readonly method: string;
  readonly caller: Caller;
  readonly attempts: Attempts;
  // Worked out on first need (a failure, or hedging), not for every request that succeeds at once.
  #safety: Safety | null = null;
  /** The options copied for an instance with a base path, or without a caller's Host header. */
  #copy: { readonly base: string; readonly options: Dispatcher.DispatchOptions } | null = null;
  /** The options of an attempt that asks for a load report: made when one first does. */
  #asking: { readonly base: string; readonly options: Dispatcher.DispatchOptions } | null = null;
  // The overall deadline, kept in the client's deadline list (deadlines.ts), not a timer.
  deadlineAt = 0;
  deadlineNext: Timed | null = null;
  deadlinePrev: Timed | null = null;
  deadlineIndex = -1;
  deadlineList: DeadlineQueue | null = null;
  /** Parked until discovery's first snapshot (the client's waiting set holds it). */
  #waiting = false;
  /** When the call started, on the client's clock. */
  #calledAt = 0;
  /** `picket:request`'s message, when the channel has subscribers. */
  #trace: RequestMessage | null = null;
  /** The caller's streaming body threw (seen through `watchBody`). */
  #bodyThrew = false;

  constructor(core: DispatchCore, opts: PicketDispatchOptions, handler: Dispatcher.DispatchHandler) {
    this.core = core;
    this.method = opts.method ?? 'GET';
    if (needsWatch(opts.body)) opts = { ...opts, body: watchBody(opts.body, this) as never };
    this.opts = opts;
    this.caller = new Caller(this, handler);
    this.attempts = new Attempts(this);
  }

  /** Whether the request may be sent again (safety.ts). */
  safety(): Safety {
    this.#safety ??= judgeSafety(this.core.config.retry, this.method, this.opts);
    return this.#safety;
  }

  #timeoutMs(): number {
    return this.opts.timeout ?? this.core.config.timeout;
  }

  start(): void {
    if (!requestChannel.hasSubscribers) this.#start();
    else this.#trace = traceStart(this.core.service, this.method, this.opts.path, this.#start, this);
  }

  #start(): void {
    const caller = this.caller;
    try {
      caller.handler.onRequestStart?.(caller, CONTEXT);
    } catch (error) {
      caller.callbackThrew(null, 'onRequestStart', error);
    }
    if (caller.done) return;
    const core = this.core;
    const now = core.now();
    this.#calledAt = now;
    core.deadlines.add(this, this.#timeoutMs(), now);
    core.budget.deposit(now);
    this.attempts.launch(false, now);
  }

  optionsFor(instance: Instance, askLoad: boolean): Dispatcher.DispatchOptions {
    const options = this.#plainFor(instance);
    if (!askLoad) return options;
    const base = instance.basePath;
    const asking = this.#asking;
    if (asking !== null && asking.base === base) return asking.options;
    const withAsk = { ...options, headers: withHeader(options.headers, LOAD_FORMAT_HEADER, 'TEXT') };
    this.#asking = { base, options: withAsk };
    return withAsk;
  }

  #plainFor(instance: Instance): Dispatcher.DispatchOptions {
    const base = instance.basePath;
    const copy = this.#copy;
    if (copy !== null) {
      if (copy.base === base) return copy.options;
    } else if (base === '' && !hasHostHeader(this.opts.headers)) {
      return this.opts;
    }
    const options = copyOptions(this.opts, base);
    this.#copy = { base, options };
    return options;
  }

  noInstance(error: unknown): void {
    const core = this.core;
    const pending = core.discoveryPending();
    if (pending !== null && isPicketError(error, 'PICKET_NO_INSTANCES')) {
      if (pending.cause === undefined) {
        // Discovery is still starting: wait for its first snapshot, within the request's timeout.
        this.#waiting = true;
        core.awaitDiscovery(this);
        return;
      }
      error = notDiscoveredError(core.service, pending.cause);
    }
    // After a turn of the event loop: a caller retrying in a tight loop must not starve the
    // timers and sockets (discovery, health checks) that would give it an instance.
    setImmediate(() => this.caller.finishError(error));
  }

  discovered(): void {
    if (!this.#waiting || this.caller.done) return;
    this.#waiting = false;
    this.attempts.launch(false, this.core.now());
  }

  discoveryFailed(error: Error): void {
    this.#waiting = false;
    this.caller.finishError(error);
  }

  /** The caller's body failed, `error` having ended an attempt: its source erroring is the caller's fault. */
  bodyFailed(error: unknown): boolean {
    return this.#bodyThrew || readableFailed(this.opts.body) || blobFailed(this.opts.body, error);
  }

  bodyThrew(): void {
    this.#bodyThrew = true;
  }

  /** The caller's own mistake ended an attempt: the request fails once, typed, never retried. */
  callerFailed(error: Error, fault: CallerFault): void {
    if (this.caller.done) return;
    const core = this.core;
    this.caller.abort(
      fault === 'invalid' ? invalidRequestError(core.service, this.method, this.opts.path, error) : error,
    );
  }

  threwError(callback: string, error: unknown): Error {
    return handlerFailedError(this.core.service, this.method, this.opts.path, callback, error);
  }

  cancelRacing(reason: Error): void {
    this.attempts.cancelAll(reason, undefined);
  }

  timedOut(): void {
    if (this.caller.done || this.caller.winner !== null) return;
    const core = this.core;
    const records = this.attempts.log?.records ?? [];
    const pending = this.#waiting ? core.discoveryPending() : null;
    const cause = pending === null ? undefined : notDiscoveredError(core.service, pending.cause);
    const error = timeoutError(core.service, this.method, this.opts.path, this.#timeoutMs(), records, cause);
    // A per-request timeout shorter than the client's (often the time left of an upstream
    // deadline) is how long this caller could wait, not a failure of the instance: its attempts
    // are released as a hedge that lost is, as slow as they were. The client's own is charged.
    const own = this.opts.timeout !== undefined && this.opts.timeout < core.config.timeout;
    this.attempts.cancelAll(error, own ? undefined : 'timeout');
    this.caller.finishError(error);
  }

  clearDeadline(): void {
    this.core.deadlines.remove(this);
  }

  cleanup(error: unknown): void {
    const metrics = this.core.metrics;
    const trace = this.#trace;
    if (metrics !== null || trace !== null) {
      const status = error === undefined ? (this.caller.winner?.status ?? 0) : 0;
      const seconds = (this.core.now() - this.#calledAt) / 1000;
      recordEnd(metrics, trace, this.method, seconds, status, this.attempts.count, error);
    }
    if (this.#waiting) {
      this.#waiting = false;
      this.core.stopWaiting(this);
    }
    this.clearDeadline();
    this.attempts.stop();
    this.core.requestDone();
  }
}
