// One keep-alive undici Pool per instance, made on first use. An instance that leaves is
// drained: `pool.close()` lets in-flight and queued requests finish before the sockets close.

import type { Instance } from '@picket/core';
import { tlsConnectOptions } from '@picket/core/internal';
import { Pool } from 'undici';
import type { PoolConfig, TlsConfig } from '../config.ts';

export interface PoolStatsSnapshot {
  connected: number;
  free: number;
  pending: number;
  queued: number;
  running: number;
  size: number;
}

/** An instance's pool, with the attempts waiting in it for a connection. */
export class InstancePool {
  readonly pool: Pool;
  readonly origin: string;
  /** Attempts handed to the pool that no connection has taken yet (`limits.maxPendingPerInstance`). */
  pending = 0;
  /**
   * Attempts in a row that their callers' own deadlines cut off with no answer from the instance
   * since its last one (see Attempt's onResponseError): past UNANSWERED_STREAK, each is charged.
   */
  unanswered = 0;

  constructor(pool: Pool, origin: string) {
    this.pool = pool;
    this.origin = origin;
  }
}

export class PoolManager {
  readonly #pools = new Map<string, InstancePool>();
  readonly #draining = new Set<Promise<void>>();
  readonly #options: Pool.Options;
  readonly #secureConnect: Record<string, unknown>;
  #closed = false;

  constructor(pool: PoolConfig, tls: TlsConfig) {
    const connect: Record<string, unknown> = { timeout: pool.connectTimeout };
    this.#options = {
      connections: pool.connections,
      keepAliveTimeout: pool.keepAliveTimeout,
      pipelining: pool.pipelining,
      allowH2: pool.allowH2,
      bodyTimeout: pool.bodyTimeout,
      connect,
    };
    this.#secureConnect = tlsConnectOptions(tls, connect);
  }

  /** The instance's pool and its count of waiting attempts, made on first use. Hot path: one Map lookup. */
  slot(instance: Instance): InstancePool {
    const entry = this.#pools.get(instance.id);
    if (entry !== undefined && entry.origin === instance.origin) return entry;
    return this.#create(instance, entry);
  }

  #create(instance: Instance, previous: InstancePool | undefined): InstancePool {
    // Same id, new address: drain the old pool and start afresh.
    if (previous !== undefined) this.#drain(previous.pool);
    const options = instance.secure ? { ...this.#options, connect: this.#secureConnect } : this.#options;
    const entry = new InstancePool(new Pool(instance.origin, options), instance.origin);
    this.#pools.set(instance.id, entry);
    return entry;
  }

  /** Drains and forgets the pool of an instance that left. */
  remove(id: string): void {
    const entry = this.#pools.get(id);
    if (entry === undefined) return;
    this.#pools.delete(id);
    this.#drain(entry.pool);
  }

  #drain(pool: Pool): void {
    const done: Promise<void> = pool.close().then(
      () => {
        this.#draining.delete(done);
      },
      () => {
        this.#draining.delete(done);
      },
    );
    this.#draining.add(done);
  }

  /** Pools being drained after their instance left. */
  get draining(): number {
    return this.#draining.size;
  }

  stats(id: string): PoolStatsSnapshot | undefined {
    const entry = this.#pools.get(id);
    if (entry === undefined) return undefined;
    const s = entry.pool.stats;
    return {
      connected: s.connected,
      free: s.free,
      pending: s.pending,
      queued: s.queued,
      running: s.running,
      size: s.size,
    };
  }

  /** Closes every pool gracefully: in-flight requests finish first. Idempotent. */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      for (const id of [...this.#pools.keys()]) this.remove(id);
    }
    await Promise.all([...this.#draining]);
  }

  /** Destroys every pool at once, failing what is in flight. */
  async destroy(): Promise<void> {
    this.#closed = true;
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(pools.map((e) => e.pool.destroy().catch(() => undefined)));
  }
}
