// The shapes @picket/http accepts from the packages it must not depend on (discovery, health),
// matched structurally, and the events a client publishes.

import type { Balancer, BalancerEvents, Instance, PicketError, SubsetEvents } from '@picket/core';

/** Anything shaped like a @picket/discovery provider. */
export interface ProviderLike {
  /** Shown in snapshots and errors. */
  readonly name?: string;
  /** Begins fetching and watching; the client calls it once. */
  start(): void;
  /** A complete list of instances; or a failure, the last good list staying in force. */
  on(name: 'snapshot', fn: (payload: { instances: readonly Instance[] }) => void): () => void;
  on(name: 'discovery-error', fn: (payload: { error: PicketError; provider: string }) => void): () => void;
  /** The last good list, or undefined before the first. */
  current(): readonly Instance[] | undefined;
  /** The last failure, cleared by the next good list. */
  lastError(): PicketError | undefined;
  /** Stops timers, watches and sockets; the client calls it as it closes. */
  close(): Promise<void>;
}

/** What the umbrella package builds from `health: { check, interval, … }`. */
export type HealthFactory = (balancer: Balancer) => {
  start(): void;
  close(): Promise<void>;
  snapshot?(): unknown;
  /** Each completed check (for metrics). */
  on?(
    name: 'check',
    fn: (payload: { instance: Instance; result: { layer: string; ok: boolean } }) => void,
  ): () => void;
};

/** A circuit breaker's state: `closed` lets attempts through, `open` refuses them, `half-open` lets one trial through. */
export type BreakerState = 'closed' | 'open' | 'half-open';

/** One attempt of a request, as listed in errors and `retry` events. */
export interface AttemptRecord {
  /** Instance id. */
  instance: string;
  /** Instance URL (never carries credentials: records with userinfo are rejected). */
  url: string;
  /** HTTP status when a response arrived. */
  status?: number;
  /** `connect`, `timeout`, `reset`, `other`, or `breaker-open` when the breaker refused it. */
  error?: string;
  /** The underlying error code (`ECONNREFUSED`, `UND_ERR_SOCKET`, …), when there was one. */
  code?: string;
  /** Time the attempt took until headers or failure, ms. */
  latencyMs?: number;
  /** A hedge, sent while an earlier attempt was still waiting. */
  hedge?: boolean;
}

export interface ClientEvents extends BalancerEvents {
  /** The discovery provider failed; the last good snapshot stays in force. */
  'discovery-error': {
    /** PICKET_DISCOVERY_FAILED, its `cause` the provider's own error. */
    error: PicketError;
    /** The provider's name. */
    provider: string;
  };
  /** A circuit breaker changed state. */
  breaker: {
    /** The instance whose breaker it is. */
    instance: Instance;
    /** The state it moved to. */
    state: BreakerState;
  };
  /** An attempt failed and another one follows. `path` is redacted. */
  retry: {
    /** The request's method. */
    method: string;
    /** The request's path, query credentials redacted. */
    path: string;
    /** The attempt that failed. */
    attempt: AttemptRecord;
    /** The number of the attempt that follows (2 for the first retry). */
    next: number;
  };
  /** A hedge was sent because no attempt had answered within the hedge delay. `path` is redacted. */
  hedge: {
    /** The request's method. */
    method: string;
    /** The request's path, query credentials redacted. */
    path: string;
    /** The delay the hedge waited, ms: `hedge.delayMs`, or the observed p95 with `'p95'`. */
    delayMs: number;
  };
  /** With `subset`: the instances in use changed (`grown`: how many beyond `size`). */
  subset: SubsetEvents['subset'];
}
