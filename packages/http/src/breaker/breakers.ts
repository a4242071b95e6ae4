// The breakers of a client's instances, one per instance, made on its first attempt (the
// state machine is breaker.ts). Breaker state is mirrored into the balancer under the health
// source 'breaker', so an open breaker makes its instance unpickable (Ribbon's availability
// filter) instead of failing requests routed to it; a half-open one is pickable until its one
// trial goes out. Counts move with the clock readings the request already has: no timer runs
// but an open breaker's reset timer.

import type { Balancer, HealthSource, Instance } from '@picket/core';
import type { BreakerConfig } from '../config.ts';
import type { BreakerState } from '../contracts.ts';
import { Breaker, type BreakerCounts, type BreakerOwner } from './breaker.ts';

/** The health source breaker state is mirrored into. */
const BREAKER_SOURCE = 'breaker';

export type BreakerSnapshot = BreakerCounts;

type Emit = (instance: Instance, state: BreakerState) => void;

export class BreakerRegistry implements BreakerOwner {
  readonly #config: BreakerConfig;
  readonly #health: HealthSource;
  readonly #emit: Emit;
  readonly #entries = new Map<string, Breaker>();
  #closed = false;

  constructor(config: BreakerConfig, balancer: Balancer, emit: Emit) {
    this.#config = config;
    this.#health = balancer.healthSource(BREAKER_SOURCE);
    this.#emit = emit;
  }

  /**
   * Admits an attempt to `instance` at `now` (ms, the client's clock) and counts it: the breaker
   * when it is closed, or half-open with its trial not yet out (this attempt becomes the
   * trial); undefined when it refuses. The dispatcher then settles the attempt on the breaker
   * itself (`Breaker.settle`, with `isTrial` as it was at admission).
   */
  admit(instance: Instance, now: number): Breaker | undefined {
    let breaker = this.#entries.get(instance.id);
    if (breaker === undefined) {
      if (this.#closed) return undefined;
      breaker = new Breaker(instance, this.#config, now, this);
      this.#entries.set(instance.id, breaker);
    }
    return breaker.admit(now) ? breaker : undefined;
  }

  /** BreakerOwner: mirrors a change of state into the balancer, then tells the client. */
  changed(breaker: Breaker, state: BreakerState): void {
    const instance = breaker.instance;
    // Open: out of rotation. Half-open: pickable again so that one request can be the trial.
    this.#health.set(instance.id, state === 'open' ? 'unhealthy' : 'healthy', `breaker ${state}`);
    this.#emit(instance, state);
  }

  /** BreakerOwner: the trial went out, or came back without a verdict (a lost hedge, an abort). */
  trial(breaker: Breaker, out: boolean): void {
    const id = breaker.instance.id;
    // While it is out, keep every other request off the instance; without a verdict, let one
    // more request be the trial.
    if (out) this.#health.set(id, 'unhealthy', 'breaker half-open: trial in flight');
    else this.#health.set(id, 'healthy', 'breaker half-open');
  }

  /** Shuts down the breaker of an instance that left. */
  remove(id: string): void {
    const breaker = this.#entries.get(id);
    if (breaker === undefined) return;
    this.#entries.delete(id);
    breaker.shutdown();
  }

  state(id: string): BreakerState | undefined {
    return this.#entries.get(id)?.state;
  }

  snapshot(id: string, now: number): BreakerSnapshot | undefined {
    return this.#entries.get(id)?.counts(now);
  }

  /** Shuts every breaker down. Idempotent. */
  close(): void {
    this.#closed = true;
    for (const breaker of this.#entries.values()) breaker.shutdown();
    this.#entries.clear();
  }
}
