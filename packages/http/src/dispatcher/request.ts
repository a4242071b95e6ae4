// One request's state machine. It picks an instance per attempt, decides at header time whether
// a response is the answer or a reason to retry, retries within the budget, races hedges, and
// enforces the overall timeout and each attempt's `perTryTimeout`. What the caller sees goes
// through CallerSide (caller.ts).

import {
  type Instance,
  isPicketError,
  NEUTRAL,
  type Outcome,
  type Pick,
  type PicketError,
} from '@picket/core';
import type { Dispatcher } from 'undici';
import type { BreakerEntry } from '../breaker/breakers.ts';
import type { AttemptRecord } from '../contracts.ts';
import {
  type CallerFault,
  clientClosedError,
  errorCode,
  handlerFailedError,
  invalidRequestError,
  notDiscoveredError,
  overloadedError,
  perTryTimeoutError,
  timeoutError,
  unprocessedError,
} from '../errors.ts';
import { LOAD_FORMAT_HEADER } from '../load/orca.ts';
import { type RequestMessage, requestChannel } from '../observe/channels.ts';
import type { ClientMetrics } from '../observe/metrics.ts';
import { redactPath } from '../redact.ts';
import {
  BUDGET_EXHAUSTED,
  isIdempotent,
  isReplayableBody,
  statusRetryDelay,
  whyNotRetry,
} from '../retry/policy.ts';
import { Attempt, DISCARDING, LOST, RACING, WINNER } from './attempt.ts';
import { AttemptLog, pickAgain } from './attempt-log.ts';
import { copyOptions, hasHostHeader, withHeader } from './attempt-options.ts';
import { needsWatch, readableFailed, watchBody } from './body-watch.ts';
import { CallerSide } from './caller.ts';
import {
  type BackingOff,
  DESTROYED,
  type DiscoveryWaiter,
  type DispatchCore,
  OPEN,
  type PicketDispatchOptions,
} from './core.ts';
import type { DeadlineQueue, Timed } from './deadlines.ts';
import { Hedges, type HedgeTarget } from './hedge.ts';
import { HeldResponse } from './held-response.ts';
import { Retries, type RoundRunner } from './retry-loop.ts';

type Headers = Record<string, string | string[] | undefined>;

/** Sent by a server that shed the request unread (loadReporter's `shed` in @picket/health). */
const NOT_PROCESSED = 'picket-not-processed';

const CONTEXT = Object.freeze({});
// A request's safety to send again (RequestState.#safety).
const UNKNOWN = 0;
const UNSAFE = 1;
const IDEMPOTENT = 2;
const REPLAYABLE = 3;
const BREAKER_REFUSED: Outcome = Object.freeze({ ok: false, error: 'other' });

export class RequestState
  extends CallerSide
  implements RoundRunner, Timed, HedgeTarget, DiscoveryWaiter, BackingOff
{
  readonly core: DispatchCore;
  readonly opts: PicketDispatchOptions;
  readonly method: string;
  // Whether the request may be sent again after it may have reached the server (idempotent) and
  // with its body as it is (replayable): worked out on first need (a failure, or hedging), not
  // for every request that succeeds at once.
  #safety = UNKNOWN;
  /** The options copied for an instance with a base path, or without a caller's Host header. */
  #copy: { readonly base: string; readonly options: Dispatcher.DispatchOptions } | null = null;
  #log: AttemptLog | null = null;
  #primary: Attempt | null = null;
  #racing: Attempt[] | null = null;
  #live = 0;
  // The overall deadline, kept in the client's deadline list (deadlines.ts), not a timer.
  deadlineAt = 0;
  deadlineNext: Timed | null = null;
  deadlinePrev: Timed | null = null;
  deadlineIndex = -1;
  deadlineList: DeadlineQueue | null = null;
  /** Made only when hedging is on and the request is safe to send twice. */
  readonly #hedges: Hedges | null;
  /** Made on the first failure: a request that succeeds at once never needs one. */
  #retries: Retries | null = null;
  /** Parked until discovery's first snapshot (the client's waiting set holds it). */
  #waiting = false;
  /** The last retryable answer put aside, handed to the caller if no other instance can be tried. */
  #held: HeldResponse | null = null;
  /** No instance is left to try: the error to end with if the answer put aside cannot be had. */
  #givingUp: PicketError | null = null;
  /** Waiting out a backoff before its next round (the client's backing-off set holds it). */
  #inBackoff = false;
  /** Set when an instance was passed over for its full queue: the cap, for PICKET_OVERLOADED. */
  #overloaded = 0;
  /** Attempts sent so far (the next one's number, less one). */
  attempts = 0;
  /** When the call started, on the client's clock. */
  #calledAt = 0;
  /** `picket:request`'s message, when the channel has subscribers. */
  #trace: RequestMessage | null = null;
  /** The caller's streaming body threw (seen through `watchBody`). */
  #bodyThrew = false;

  constructor(core: DispatchCore, opts: PicketDispatchOptions, handler: Dispatcher.DispatchHandler) {
    super(handler);
    this.core = core;
    this.opts = opts;
    const method = opts.method ?? 'GET';
    this.method = method;
    if (needsWatch(opts.body)) this.opts = { ...opts, body: watchBody(opts.body, this) as never };
    // Ask each instance for its load in the response, when something reads it.
    if (core.inBand !== null)
      this.opts = { ...this.opts, headers: withHeader(this.opts.headers, LOAD_FORMAT_HEADER, 'TEXT') };
    const hedge = core.config.hedge;
    this.#hedges = hedge !== false && this.#replayable() ? new Hedges(this, hedge.maxHedges) : null;
  }

  #judge(): number {
    if (this.#safety === UNKNOWN) {
      const opts = this.opts;
      const idempotent = isIdempotent(this.core.config.retry, this.method, opts.idempotent);
      this.#safety = !idempotent ? UNSAFE : isReplayableBody(opts.body) ? REPLAYABLE : IDEMPOTENT;
    }
    return this.#safety;
  }

  #idempotent(): boolean {
    return this.#judge() !== UNSAFE;
  }

  /** Safe to send again after it may have reached the server: idempotent, replayable body. */
  #replayable(): boolean {
    return this.#judge() === REPLAYABLE;
  }

  #timeoutMs(): number {
    return this.opts.timeout ?? this.core.config.timeout;
  }

  start(): void {
    if (!requestChannel.hasSubscribers) {
      this.#start();
      return;
    }
    const trace: RequestMessage = {
      service: this.core.service,
      method: this.method,
      path: redactPath(this.opts.path),
    };
    this.#trace = trace;
    try {
      requestChannel.start.runStores(trace, this.#start, this);
    } finally {
      requestChannel.end.publish(trace);
    }
  }

  #start(): void {
    try {
      this.handler.onRequestStart?.(this, CONTEXT);
    } catch (error) {
      this.callbackThrew(null, 'onRequestStart', error);
    }
    if (this.done) return;
    const core = this.core;
    const now = core.now();
    this.#calledAt = now;
    core.deadlines.add(this, this.#timeoutMs(), now);
    core.budget.deposit(now);
    this.#launch(false, now);
  }

  // ── Attempts ────────────────────────────────────────────────────────────────────────────

  runRound(): void {
    this.#backedOff();
    this.#launch(false, this.core.now());
  }

  #backedOff(): void {
    if (!this.#inBackoff) return;
    this.#inBackoff = false;
    this.core.backedOff(this);
  }

  shutDown(error: Error): void {
    this.#inBackoff = false;
    this.finishError(error);
  }

  #optionsFor(instance: Instance): Dispatcher.DispatchOptions {
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

  #logged(): AttemptLog {
    this.#log ??= new AttemptLog();
    return this.#log;
  }

  /** Picks and sends one attempt. False when none could be sent (the request may be finished). */
  #launch(hedge: boolean, now: number): boolean {
    const core = this.core;
    const breakers = core.breakers;
    // Each turn either sends an attempt or rules out one more instance refused by its breaker.
    for (let turn = 0; turn < 1024; turn++) {
      let pick: Pick;
      try {
        const log = this.#log;
        if (log === null) {
          const key = this.opts.hashKey;
          pick = core.balancer.pick(
            key === undefined ? undefined : { key },
            core.sharesClock ? now : undefined,
          );
        } else {
          const retries = this.#retries;
          const target = retries === null ? null : retries.target;
          if (target !== null) retries!.target = null;
          pick = pickAgain(core.balancer, this.opts.hashKey, log, target, hedge);
        }
      } catch (error) {
        if (!hedge) this.#pickFailed(error);
        return false;
      }
      const instance = pick.instance;
      let breaker: BreakerEntry | undefined;
      if (breakers !== undefined) {
        breaker = breakers.admit(instance, now);
        if (breaker === undefined) {
          pick.release(BREAKER_REFUSED);
          this.#logged().refuse(instance, hedge);
          continue;
        }
      }
      const slot = core.pools.slot(instance);
      const maxPending = core.config.limits.maxPendingPerInstance;
      if (slot.pending >= maxPending) {
        // Its pool's queue is full: pass it over for another instance.
        pick.release(NEUTRAL);
        if (breaker !== undefined) breakers!.settle(breaker, undefined, now, breakers!.isTrial(breaker));
        this.#logged().refuse(instance, hedge, 'overloaded');
        this.#overloaded = maxPending;
        continue;
      }
      const options = this.#optionsFor(instance);
      // The first attempt is the request itself; later ones (retries, hedges) are their own.
      const attempt: Attempt = this.#primary === null ? this : new Attempt();
      attempt.begin(this, pick, hedge, now);
      if (breaker !== undefined) {
        attempt.breaker = breaker;
        attempt.trial = breakers!.isTrial(breaker);
      }
      const perTry = core.config.perTryTimeout;
      if (perTry !== undefined) core.deadlines.add(attempt.perTryDeadline(), perTry, now);
      this.#live++;
      if (hedge) {
        this.#racing ??= this.#primary === null ? [] : [this.#primary];
        this.#racing.push(attempt);
        this.#logged().exclude.add(instance.id);
      } else {
        this.#primary = attempt;
        this.#racing = null;
      }
      attempt.number = ++this.attempts;
      if (attempt.number > 1) {
        attempt.countedRetry = true;
        core.retriesInFlight++;
      }
      attempt.announce();
      attempt.waitingIn = slot;
      slot.pending++;
      slot.pool.dispatch(options, attempt);
      if (!hedge && attempt.phase === RACING && !this.done) this.#hedges?.arm();
      return true;
    }
    this.#giveUp(this.#exhausted('too many instances refused by their breakers or limits', undefined));
    return false;
  }

  #pickFailed(error: unknown): void {
    if (isPicketError(error, 'PICKET_BALANCER_CLOSED')) {
      this.finishError(clientClosedError(this.core.service));
    } else if (this.#log === null) {
      const pending = this.core.discoveryPending();
      if (pending !== null && isPicketError(error, 'PICKET_NO_INSTANCES')) {
        if (pending.cause === undefined) {
          // Discovery is still starting: wait for its first snapshot, within the request's timeout.
          this.#waiting = true;
          this.core.awaitDiscovery(this);
          return;
        }
        error = notDiscoveredError(this.core.service, pending.cause);
      }
      // After a turn of the event loop: a caller retrying in a tight loop must not starve the
      // timers and sockets (discovery, health checks) that would give it an instance.
      setImmediate(() => this.finishError(error));
    } else if (this.#overloaded > 0 && this.attempts === 0) {
      // Every instance it could go to has a full queue: refused at once, never queued.
      const core = this.core;
      this.finishError(overloadedError(core.service, 'maxPendingPerInstance', this.#overloaded, error));
    } else {
      this.#giveUp(this.#exhausted('no other instance is available', error));
    }
  }

  discovered(): void {
    if (!this.#waiting || this.done) return;
    this.#waiting = false;
    this.#launch(false, this.core.now());
  }

  discoveryFailed(error: Error): void {
    this.#waiting = false;
    this.finishError(error);
  }

  /** Records how the call ended: its metric, and `picket:request`'s closing events. */
  #ended(error: unknown, metrics: ClientMetrics | null, trace: RequestMessage | null): void {
    const status = error === undefined ? (this.winner?.status ?? 0) : 0;
    if (metrics !== null) {
      const seconds = (this.core.now() - this.#calledAt) / 1000;
      const code = error === undefined ? undefined : (errorCode(error) ?? 'other');
      metrics.call(this.method, seconds, status, code, this.attempts);
    }
    if (trace === null) return;
    if (error === undefined) trace.result = { statusCode: status, attempts: this.attempts };
    else {
      trace.error = error;
      requestChannel.error.publish(trace);
    }
    requestChannel.asyncStart.publish(trace);
    requestChannel.asyncEnd.publish(trace);
  }

  /** The caller's body stream failed: an upload's source erroring is the caller's, not the instance's. */
  bodyFailed(): boolean {
    return this.#bodyThrew || readableFailed(this.opts.body);
  }

  bodyThrew(): void {
    this.#bodyThrew = true;
  }

  /** The caller's own mistake ended an attempt: the request fails once, typed, never retried. */
  callerFailed(error: Error, fault: CallerFault): void {
    if (this.done) return;
    const core = this.core;
    this.abort(
      fault === 'invalid' ? invalidRequestError(core.service, this.method, this.opts.path, error) : error,
    );
  }

  protected threwError(callback: string, error: unknown): Error {
    return handlerFailedError(this.core.service, this.method, this.opts.path, callback, error);
  }

  /**
   * No other instance can be tried: the caller gets the last answer put aside when there is one
   * (whole), else `error`.
   */
  #giveUp(error: PicketError): void {
    const held = this.#held;
    if (held === null || held.tooLarge || this.done) {
      this.finishError(error);
      return;
    }
    // Its body may still be arriving: the answer is handed over when it has.
    this.#givingUp = error;
    if (held.complete) this.#deliverHeld(held);
  }

  #deliverHeld(held: HeldResponse): void {
    this.#held = null;
    this.#givingUp = null;
    const a = held.attempt;
    a.phase = WINNER;
    this.winner = a;
    this.#cancelAll(LOST, undefined);
    this.#clearTimers();
    this.#retries?.stop();
    this.deliverHeaders(a, held.statusCode, held.headers, held.statusMessage);
    for (const chunk of held.chunks) this.forwardData(chunk);
    this.forwardEnd(held.trailers);
  }

  /** A chunk of an answer put aside (see HeldResponse). */
  heldData(a: Attempt, chunk: Buffer): void {
    if (this.#held?.attempt === a) this.#held.data(chunk);
  }

  heldEnd(a: Attempt, trailers: Headers): void {
    const held = this.#held;
    if (held?.attempt !== a) return;
    held.end(trailers);
    if (this.#givingUp === null || this.done) return;
    if (held.complete) this.#deliverHeld(held);
    else this.finishError(this.#givingUp);
  }

  #exhausted(reason: string, cause: unknown): PicketError {
    return this.#logged().exhausted(this.core.service, this.method, this.opts.path, reason, cause);
  }

  protected cancelRacing(reason: Error): void {
    this.#cancelAll(reason, undefined);
  }

  #cancelAll(reason: Error, kind: 'timeout' | undefined): void {
    const racing = this.#racing;
    if (racing !== null) {
      for (const a of racing) if (a.phase === RACING) a.cancel(reason, kind);
    } else if (this.#primary !== null && this.#primary.phase === RACING) {
      this.#primary.cancel(reason, kind);
    }
    this.#live = 0;
  }

  // ── Events from attempts ────────────────────────────────────────────────────────────────

  attemptHeaders(a: Attempt, statusCode: number, headers: Headers, statusMessage: string | undefined): void {
    this.core.inBand?.observe(a.instance, headers);
    if (this.done || this.winner !== null) {
      a.cancel(LOST, undefined);
      return;
    }
    const retry = this.core.config.retry;
    if (statusCode === 408 && retry.enabled && isReplayableBody(this.opts.body)) {
      // RFC 9110: a 408 means the server did not receive a complete request, so it processed
      // none of it. Servers (nginx, HAProxy, Node's requestTimeout) also write one unasked on an
      // idle keep-alive connection before closing it, which undici hands to the next request sent
      // there. Either way it is sent again, for any method, as after a refused connection; the
      // attempt is cancelled, which destroys that socket, and says nothing about the instance.
      const error = unprocessedError(a.instance.url);
      a.unprocessed = true;
      a.cancel(error, undefined);
      this.#failed(a, error, 'other');
      return;
    }
    if (statusCode === 503 && headers[NOT_PROCESSED] !== undefined && isReplayableBody(this.opts.body)) {
      // A shedding server (loadReporter's `shed`) promises it did nothing with the request: it
      // may be sent again for any method, as after a refused connection.
      a.unprocessed = true;
    }
    if (retry.enabled && statusCode >= 400) {
      const delay = statusRetryDelay(retry, statusCode, headers);
      // With a hedge still racing, drop this answer and wait for the hedge's.
      if (delay >= 0 && (this.#live > 1 || this.#whyNot(a) === null)) {
        a.phase = DISCARDING;
        this.#held = new HeldResponse(a, statusCode, headers, statusMessage);
        this.#live--;
        const record = this.#logged().failed(a, this.core.now(), undefined, undefined);
        if (this.#live === 0) this.#retry(a, record, delay);
        return;
      }
    }
    this.#commit(a, statusCode, headers, statusMessage);
  }

  #commit(a: Attempt, statusCode: number, headers: Headers, statusMessage: string | undefined): void {
    this.#live--;
    a.phase = WINNER;
    this.winner = a;
    this.#cancelAll(LOST, undefined);
    this.#clearTimers();
    this.#retries?.stop();
    if (statusCode < 500) this.core.latency?.record(a.latencyMs);
    this.deliverHeaders(a, statusCode, headers, statusMessage);
  }

  attemptUpgrade(
    a: Attempt,
    _controller: unknown,
    statusCode: number,
    headers: Headers,
    socket: unknown,
  ): void {
    if (this.done || this.winner !== null) {
      (socket as { destroy?: () => void }).destroy?.();
      return;
    }
    this.#live--;
    a.phase = WINNER;
    this.winner = a;
    this.#cancelAll(LOST, undefined);
    this.finish();
    try {
      this.handler.onRequestUpgrade?.(this, statusCode, headers as never, socket as never);
    } catch {
      // The caller could not take the socket: no one else will use it.
      (socket as { destroy?: () => void }).destroy?.();
    }
  }

  attemptError(a: Attempt, error: Error, kind: string): void {
    if (this.done) return;
    if (this.#held?.attempt === a) {
      // The answer put aside broke off: it cannot be handed over.
      this.#held = null;
      if (this.#givingUp !== null) this.finishError(this.#givingUp);
      return;
    }
    if (a.phase === WINNER) {
      // The caller has the headers already; the body fails with undici's own error.
      this.finishError(error);
      return;
    }
    if (a.phase !== RACING) return;
    this.#failed(a, error, kind);
  }

  /**
   * `a` got no response headers within `perTryTimeout`: it is abandoned, released as a
   * timeout, and followed by another attempt under the same rules as any failure that may have
   * reached the server (only idempotent, replayable requests are sent again).
   */
  attemptTimedOut(a: Attempt): void {
    if (this.done || this.winner !== null || a.phase !== RACING) return;
    const error = perTryTimeoutError(
      this.core.service,
      this.method,
      this.opts.path,
      this.core.config.perTryTimeout!,
      a.instance.url,
    );
    // Cancelled first, so that the pick is released (when undici aborts at once) before the next.
    a.cancel(error, 'timeout');
    this.#failed(a, error, 'timeout');
  }

  #failed(a: Attempt, error: Error, kind: string): void {
    this.#live--;
    const record = this.#logged().failed(a, this.core.now(), kind, errorCode(error));
    if (this.core.shutdown === DESTROYED) {
      // destroy() fails every request at once, with what happened to them all.
      this.#cancelAll(LOST, undefined);
      this.finishError(clientClosedError(this.core.service));
      return;
    }
    if (this.#live > 0) return;
    const why = this.#whyNot(a);
    if (why === null) this.#retry(a, record, 0);
    else this.#giveUp(this.#exhausted(why, error));
  }

  /** Null when another attempt may follow `failed` (and takes it from the budget), else why not. */
  #whyNot(failed: Attempt): string | null {
    if (this.core.shutdown !== OPEN) return 'the client is closing: no retry starts after close()';
    const maxRetries = this.core.config.limits.maxConcurrentRetries;
    if (this.core.retriesInFlight >= maxRetries)
      return `\`limits.maxConcurrentRetries\` (${maxRetries}) retries are in flight`;
    const config = this.core.config.retry;
    this.#retries ??= new Retries(this, config);
    const why = whyNotRetry(config, {
      method: this.method,
      aborted: this.aborted,
      retriesLeft: this.#retries.left,
      mayHaveReachedServer: failed.started && !failed.unprocessed,
      idempotent: this.#idempotent(),
      replayable: this.#replayable(),
      timedOut: this.core.now() >= this.deadlineAt,
      budget: this.core.budget,
    });
    if (why === BUDGET_EXHAUSTED) this.core.metrics?.budgetExhausted();
    return why;
  }

  #retry(failed: Attempt, record: AttemptRecord, retryAfterMs: number): void {
    this.#hedges?.clear();
    const events = this.core.events;
    if (events.has('retry')) {
      const next = this.#log!.records.length + 1;
      events.emit('retry', { method: this.method, path: redactPath(this.opts.path), attempt: record, next });
    }
    this.core.metrics?.retry(
      record.error ?? (record.status === undefined ? 'other' : `http_${record.status}`),
    );
    this.#inBackoff = true;
    this.core.backingOff(this);
    this.#retries!.schedule(failed.instance, retryAfterMs);
  }

  // ── Hedges and timeouts ─────────────────────────────────────────────────────────────────

  sendHedge(delayMs: number): boolean {
    if (this.done || this.winner !== null || this.#live === 0) return false;
    if (this.core.shutdown !== OPEN) return false;
    if (this.core.retriesInFlight >= this.core.config.limits.maxConcurrentRetries) return false;
    if (!this.core.budget.withdraw()) {
      this.core.metrics?.budgetExhausted();
      return false;
    }
    this.core.metrics?.hedge();
    const exclude = this.#logged().exclude;
    if (this.#racing === null) {
      if (this.#primary !== null) exclude.add(this.#primary.instance.id);
    } else {
      for (const a of this.#racing) if (a.phase === RACING) exclude.add(a.instance.id);
    }
    const events = this.core.events;
    if (events.has('hedge'))
      events.emit('hedge', { method: this.method, path: redactPath(this.opts.path), delayMs });
    return this.#launch(true, this.core.now());
  }

  timedOut(): void {
    if (this.done || this.winner !== null) return;
    const records = this.#log?.records ?? [];
    const pending = this.#waiting ? this.core.discoveryPending() : null;
    const cause = pending === null ? undefined : notDiscoveredError(this.core.service, pending.cause);
    const error = timeoutError(
      this.core.service,
      this.method,
      this.opts.path,
      this.#timeoutMs(),
      records,
      cause,
    );
    this.#cancelAll(error, 'timeout');
    this.finishError(error);
  }

  // ── Endings ─────────────────────────────────────────────────────────────────────────────

  #clearTimers(): void {
    if (this.deadlineList !== null) this.deadlineList.remove(this);
    this.#hedges?.clear();
  }

  protected cleanup(error: unknown): void {
    const metrics = this.core.metrics;
    const trace = this.#trace;
    if (metrics !== null || trace !== null) this.#ended(error, metrics, trace);
    this.#backedOff();
    if (this.#waiting) {
      this.#waiting = false;
      this.core.stopWaiting(this);
    }
    this.#clearTimers();
    this.#retries?.stop();
    this.core.requestDone();
  }
}
