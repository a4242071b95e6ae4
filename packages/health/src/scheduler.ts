// The active health checker: checks every instance of a balancer on a staggered, jittered
// schedule, at most `concurrency` at once, each under a deadline, and reports verdicts to the
// balancer with rise/fall hysteresis. Instances that stay across a discovery refresh keep their
// state (Ribbon reset every instance to alive on each refresh); instances that leave stop at once.

import { type Balancer, type HealthSource, type Instance, PicketError } from '@picket/core';
import { assertBalancer, Emitter } from '@picket/core/internal';
import type { CheckResult } from './check.ts';
import type { HealthChecker, HealthCheckerEvents } from './checker.ts';
import { type HealthOptions, parseHealthOptions, type ResolvedHealthOptions } from './options.ts';
import { Slots } from './slots.ts';
import {
  type Entry,
  type InstanceHealth,
  judge,
  newEntry,
  type Run,
  snapshotOf,
  toResult,
  transitionReason,
} from './tally.ts';
import { timeoutError } from './util.ts';

export type { HealthChecker, HealthCheckerEvents } from './checker.ts';

class Checker implements HealthChecker {
  readonly #balancer: Balancer;
  readonly #o: ResolvedHealthOptions;
  /**
   * Where verdicts go. Whatever its name, a passing check ends an outlier ejection (as in Envoy),
   * and instances wait for their first check.
   */
  readonly #source: HealthSource;
  readonly #events = new Emitter<HealthCheckerEvents>();
  readonly #entries = new Map<string, Entry>();
  /** Instances waiting for their next check. */
  readonly #slots: Slots<Entry>;
  /** Instances due but waiting for a free slot, oldest first. */
  readonly #queue = new Set<Entry>();
  #inFlight = 0;
  #started = false;
  #closed = false;
  #closing: Promise<void> | undefined;
  #unsubscribe: (() => void) | undefined;

  constructor(balancer: Balancer, options: ResolvedHealthOptions) {
    this.#balancer = balancer;
    this.#o = options;
    this.#source = balancer.healthSource(options.source, { endsEjection: true, startsUnknown: true });
    // Up to 1/50 of the shortest interval (20 ms at most) early: invisible next to a 10% jitter.
    const shortest = Math.min(options.interval, options.unhealthyInterval, options.transitionInterval);
    this.#slots = new Slots(Math.min(20, Math.floor(shortest / 50)), (entry) => {
      if (this.#current(entry)) this.#enqueue(entry);
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  on<K extends keyof HealthCheckerEvents>(
    name: K,
    fn: (payload: HealthCheckerEvents[K]) => void,
  ): () => void {
    return this.#events.on(name, fn);
  }

  start(): void {
    if (this.#closed) {
      throw new PicketError(
        'PICKET_CLIENT_CLOSED',
        'The health checker is closed; create a new one to check again',
      );
    }
    if (this.#started) return;
    this.#started = true;
    this.#unsubscribe = this.#balancer.on('instances', ({ added, removed, instances }) => {
      for (const instance of removed) this.#remove(instance.id);
      this.#refresh(instances);
      this.#add(added);
    });
    this.#add(this.#balancer.instances());
  }

  snapshot(): InstanceHealth[] {
    return [...this.#entries.values()].map((entry) => snapshotOf(entry, this.#source.name));
  }

  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    this.#closed = true;
    this.#unsubscribe?.();
    this.#queue.clear();
    this.#slots.clear();
    const withdraw = this.#started && !this.#balancer.closed;
    for (const entry of this.#entries.values()) {
      this.#cancel(entry, 'the health checker was closed');
      // A verdict nobody will revise would keep the instance out for good.
      if (withdraw && entry.state !== 'healthy') {
        this.#source.set(entry.instance.id, 'healthy', 'active health checks stopped');
      }
      if (withdraw && entry.weight !== undefined) this.#balancer.setWeight(entry.instance.id, undefined);
    }
    this.#entries.clear();
    // The name is free again, and instances that join from now on do not wait for a check.
    this.#source.close();
    await this.#o.check.close?.();
  }

  /** New instances: not preferred until their first result, which is taken at once. */
  #add(instances: readonly Instance[]): void {
    const fresh: Entry[] = [];
    for (const instance of instances) {
      if (this.#entries.has(instance.id)) continue;
      const entry = newEntry(instance);
      this.#entries.set(instance.id, entry);
      fresh.push(entry);
    }
    for (let i = 0; i < fresh.length; i++) {
      const entry = fresh[i] as Entry;
      // The first round runs at once (throttled by `concurrency`); spreading the second round
      // across the interval keeps later rounds from arriving as one burst.
      entry.phase = fresh.length > 1 ? (this.#o.interval * i) / fresh.length : 0;
      this.#source.set(entry.instance.id, 'unknown', 'waiting for the first active health check');
    }
    for (const entry of fresh) this.#enqueue(entry);
  }

  #remove(id: string): void {
    const entry = this.#entries.get(id);
    if (entry === undefined) return;
    this.#entries.delete(id);
    this.#slots.delete(entry);
    this.#queue.delete(entry);
    this.#cancel(entry, 'the instance left discovery');
    this.#pump();
  }

  /** Instances that stay keep their state; one whose address changed is checked afresh. */
  #refresh(instances: readonly Instance[]): void {
    for (const instance of instances) {
      const entry = this.#entries.get(instance.id);
      if (entry === undefined || entry.instance === instance) continue;
      // The verdict was about an address; a new one (host, port or base path) starts over.
      if (entry.instance.url === instance.url) {
        entry.instance = instance;
        continue;
      }
      this.#remove(instance.id);
      this.#add([instance]);
    }
  }

  #enqueue(entry: Entry): void {
    if (this.#inFlight < this.#o.concurrency) this.#launch(entry);
    else this.#queue.add(entry);
  }

  #pump(): void {
    while (!this.#closed && this.#inFlight < this.#o.concurrency && this.#queue.size > 0) {
      const next = this.#queue.values().next().value as Entry;
      this.#queue.delete(next);
      this.#launch(next);
    }
  }

  #launch(entry: Entry): void {
    this.#inFlight++;
    const run: Run = {
      controller: new AbortController(),
      timer: undefined,
      backstop: undefined,
      done: false,
      start: performance.now(),
    };
    entry.run = run;
    run.timer = setTimeout(this.#onTimeout, this.#o.timeout, entry, run);
    run.timer.unref();
    let pending: Promise<CheckResult>;
    try {
      pending = Promise.resolve(this.#o.check.run(entry.instance, run.controller.signal));
    } catch (error) {
      pending = Promise.reject(error);
    }
    pending.then(
      (value) => this.#settle(entry, run, value, undefined, false),
      (error: unknown) => this.#settle(entry, run, undefined, error, true),
    );
  }

  readonly #onTimeout = (entry: Entry, run: Run): void => {
    run.timer = undefined;
    if (run.done) return;
    run.controller.abort(timeoutError(this.#o.timeout));
    // A check that honours the signal answers within a turn, naming the layer that timed out;
    // one that ignores it is cut off by this backstop.
    run.backstop = setTimeout(this.#cutOff, 0, entry, run);
    run.backstop.unref();
  };

  readonly #cutOff = (entry: Entry, run: Run): void => {
    run.backstop = undefined;
    const layer = this.#o.check.layer;
    const result: CheckResult = {
      ok: false,
      layer,
      reason: `${layer}: timed out after ${this.#o.timeout} ms`,
      latencyMs: this.#o.timeout,
    };
    this.#settle(entry, run, result, undefined, false);
  };

  /** Frees the run's slot; false when it was already freed. */
  #release(run: Run): boolean {
    if (run.done) return false;
    run.done = true;
    clearTimeout(run.timer);
    clearTimeout(run.backstop);
    this.#inFlight--;
    return true;
  }

  #cancel(entry: Entry, why: string): void {
    const run = entry.run;
    if (run === undefined) return;
    entry.run = undefined;
    run.controller.abort(new PicketError('PICKET_ABORTED', `Health check aborted: ${why}`));
    this.#release(run);
  }

  #settle(entry: Entry, run: Run, value: unknown, error: unknown, rejected: boolean): void {
    if (!this.#release(run)) return;
    if (entry.run === run) entry.run = undefined;
    if (this.#current(entry)) {
      if (this.#balancer.closed) {
        void this.close();
        return;
      }
      const outcome = toResult(this.#o.check.layer, value, error, rejected, run.start);
      this.#record(entry, outcome.result, outcome.error);
      if (this.#current(entry)) this.#schedule(entry);
    }
    this.#pump();
  }

  #current(entry: Entry): boolean {
    return !this.#closed && this.#entries.get(entry.instance.id) === entry;
  }

  #record(entry: Entry, result: CheckResult, error: unknown): void {
    const from = entry.state;
    const to = judge(entry, result, this.#o);
    const id = entry.instance.id;
    const weight = result.weight;
    if (weight !== undefined && Number.isFinite(weight) && weight > 0) {
      if (weight !== entry.weight) this.#balancer.setWeight(id, weight);
      entry.weight = weight;
    } else if (result.ok && weight === undefined && entry.weight !== undefined) {
      this.#balancer.setWeight(id, undefined);
      entry.weight = undefined;
    }
    if (result.load !== undefined) this.#balancer.reportLoad(id, result.load);
    if (to !== from) {
      const reason = transitionReason(entry, result, from, to);
      this.#source.set(id, to, reason);
      this.#events.emit('instance-state', { instance: entry.instance, from, to, reason });
    } else if (to === 'healthy' && result.ok) {
      // Repeated so the balancer can end an outlier ejection on a passing check (as Envoy does).
      this.#source.set(id, 'healthy', result.reason);
    }
    if (this.#events.has('check'))
      this.#events.emit('check', { instance: entry.instance, result, state: to, error });
  }

  #schedule(entry: Entry): void {
    const { jitter, random } = this.#o;
    const delay = this.#intervalFor(entry) * (1 + jitter * (2 * random() - 1)) + entry.phase;
    entry.phase = 0;
    this.#slots.add(entry, delay);
  }

  /** HAProxy's three paces: steady healthy, steady unhealthy, and in transition between them. */
  #intervalFor(entry: Entry): number {
    const o = this.#o;
    if (entry.state === 'unhealthy') return entry.successes > 0 ? o.transitionInterval : o.unhealthyInterval;
    return entry.failures > 0 ? o.transitionInterval : o.interval;
  }
}

/**
 * Creates an active health checker for `balancer`. Validates options (PICKET_INVALID_OPTIONS) and
 * starts nothing: call `start()`. It registers its `source` with the balancer at once (a name
 * another checker holds is refused, PICKET_INVALID_OPTIONS: give each its own `source`), so that
 * instances, present or joining, are not preferred before their first check, and a passing check
 * ends an outlier ejection whatever the source is called. `close()` withdraws the source.
 */
export function createHealthChecker(balancer: Balancer, options: HealthOptions): HealthChecker {
  assertBalancer(balancer, 'createHealthChecker');
  return new Checker(balancer, parseHealthOptions(options));
}
