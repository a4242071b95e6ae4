// The self-registration contract: a registrar puts this process's instance into a registry, keeps
// the registration alive (lease, TTL check, heartbeat), and removes it on close().

import type { PicketError } from '@picket/core';

export interface RegistrarEvents {
  /** The instance is registered (again, after a lapse or a registry restart). */
  registered: {
    /** The registrar's name. */
    registrar: string;
  };
  /** Registering or keeping alive failed; the registrar retries with backoff. */
  'registration-error': {
    /** PICKET_DISCOVERY_FAILED, its `cause` the underlying error. */
    error: PicketError;
    /** The registrar's name. */
    registrar: string;
  };
}

export interface Registrar {
  /** Short description without credentials (`etcd:/services/inventory/a`). */
  readonly name: string;
  /**
   * Registers and keeps the registration alive. Resolves on the first successful registration;
   * until then failures are emitted as `registration-error` and retried. Rejects only when
   * close() comes first. Idempotent: later calls return the same promise.
   */
  start(): Promise<void>;
  /** True while the registry holds the registration, as far as this process knows. */
  registered(): boolean;
  /** Subscribes to an event; returns the unsubscribe function. */
  on<K extends keyof RegistrarEvents>(name: K, fn: (payload: RegistrarEvents[K]) => void): () => void;
  /** Stops keeping alive and deregisters (best effort, bounded in time). Idempotent. */
  close(): Promise<void>;
}
