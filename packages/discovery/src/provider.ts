// The provider contract: a provider delivers whole snapshots of one service's instances, keeps
// the last good one when its source fails, and reports failures and skipped records as events.

import type { Instance, PicketError } from '@picket/core';

export interface ProviderEvents {
  /** A complete, validated list of instances (possibly empty when the registry says so). */
  snapshot: {
    /** The instances, in the order the source lists them. */
    instances: readonly Instance[];
  };
  /** The source failed; the last good snapshot stays in force. */
  'discovery-error': {
    /** PICKET_DISCOVERY_FAILED, its `cause` the underlying error, secrets masked. */
    error: PicketError;
    /** The provider's name. */
    provider: string;
  };
  /** A record was skipped because it failed validation. */
  'invalid-record': {
    /** The record as the source gave it, secrets masked. */
    record: unknown;
    /** What is wrong with it. */
    reason: string;
    /** The provider's name. */
    provider: string;
  };
}

export interface Provider {
  /** Short description for events and errors, without credentials (`dns:inventory.svc:8080`). */
  readonly name: string;
  /** Begins fetching and watching. Idempotent; the constructor does no I/O. */
  start(): void;
  /** Subscribes to an event; returns the unsubscribe function. */
  on<K extends keyof ProviderEvents>(name: K, fn: (payload: ProviderEvents[K]) => void): () => void;
  /** The last good snapshot, or undefined before the first one. */
  current(): readonly Instance[] | undefined;
  /** The last error, cleared by the next good snapshot. */
  lastError(): PicketError | undefined;
  /** Stops timers, watches and sockets. Idempotent. */
  close(): Promise<void>;
}
