// Typed events with listener isolation: a throwing listener is reported, never propagated into
// the request that happened to trigger the event.

import type { Instance } from './instance.ts';

/** What an instance looks like to the balancer right now, most severe first. */
export type InstanceState = 'draining' | 'unhealthy' | 'ejected' | 'unknown' | 'warming' | 'healthy';

/** What a health source says about an instance. */
export type HealthState = 'healthy' | 'unhealthy' | 'unknown';

export interface BalancerEvents {
  /** Membership changed: ids added or removed, or records that kept their id but changed. */
  instances: {
    /** Instances whose id is new. */
    added: readonly Instance[];
    /** Instances whose id is gone (they drain: in-flight requests finish). */
    removed: readonly Instance[];
    /** Instances that kept their id but changed (URL, zone, weight, priority or metadata). */
    updated: readonly Instance[];
    /** The whole membership now. */
    instances: readonly Instance[];
  };
  /** An instance's effective state changed. */
  'instance-state': {
    /** The instance whose state changed. */
    instance: Instance;
    /** The state before. */
    from: InstanceState;
    /** The state now. */
    to: InstanceState;
    /** Why, for humans: the source and its reason (`active: l7: status 503 …`, `ejection ended`). */
    reason: string;
  };
  /** Outlier detection ejected an instance. */
  eject: {
    /** The instance ejected. */
    instance: Instance;
    /** Which rule ejected it, with its figures (`5 consecutive failures`). */
    reason: string;
    /**
     * How long this ejection lasts, ms: `baseEjectionMs` × the instance's ejection count (which
     * decays while it stays healthy), at most `maxEjectionMs`.
     */
    durationMs: number;
    /** Times the instance has been ejected since it joined, this one included. */
    ejections: number;
  };
  /** A priority level entered or left panic (balancing across all its instances, healthy or not). */
  panic: {
    /** The priority level (0 is preferred). */
    priority: number;
    /** True as the level enters panic, false as it leaves. */
    panic: boolean;
    /** The level's available instances as a fraction of all of them, 0 to 1 (`panicThreshold` is in percent). */
    availableShare: number;
  };
  /** With `subset`: the instances in use changed. */
  subset: {
    /** Ids taken into use. */
    added: readonly string[];
    /** Ids let go. */
    removed: readonly string[];
    /** How many instances are in use beyond `size` because members failed. */
    grown: number;
  };
  /** A listener threw; the error is reported here instead of breaking the balancer. */
  'listener-error': {
    /** The event whose listener threw. */
    event: string;
    /** What it threw. */
    error: unknown;
  };
}

type Listener<T> = (payload: T) => void;

export class Emitter<E extends object> {
  #listeners = new Map<keyof E, Set<Listener<never>>>();

  on<K extends keyof E>(name: K, fn: Listener<E[K]>): () => void {
    let set = this.#listeners.get(name);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(name, set);
    }
    set.add(fn as Listener<never>);
    return () => {
      set.delete(fn as Listener<never>);
    };
  }

  has(name: keyof E): boolean {
    const set = this.#listeners.get(name);
    return set !== undefined && set.size > 0;
  }

  emit<K extends keyof E>(name: K, payload: E[K]): void {
    const set = this.#listeners.get(name);
    if (set === undefined) return;
    for (const fn of set) {
      try {
        (fn as Listener<E[K]>)(payload);
      } catch (error) {
        this.#report(String(name), error);
      }
    }
  }

  clear(): void {
    this.#listeners.clear();
  }

  #report(event: string, error: unknown): void {
    const set = this.#listeners.get('listener-error' as keyof E);
    if (event !== 'listener-error' && set !== undefined && set.size > 0) {
      this.emit('listener-error' as keyof E, { event, error } as E[keyof E]);
      return;
    }
    process.emitWarning(`A Picket '${event}' listener threw: ${String(error)}`, {
      code: 'PICKET_LISTENER_ERROR',
    });
  }
}
