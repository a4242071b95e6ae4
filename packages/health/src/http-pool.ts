// The undici clients that HTTP-speaking checks share per check object: one keep-alive Client per
// origin (no Agent/Pool layers: a check sends one request at a time per instance). Opened on
// first use; closed when the check is closed and no run is using them, so one check object can
// serve several checkers and a later run simply opens new ones.

import { type TlsConfig, tlsConnectOptions } from '@picket/core/internal';
import { Client } from 'undici';

export class CheckPool {
  readonly #clients = new Map<string, Client>();
  #using = 0;
  #closeWhenIdle = false;
  /** undici `connect` options for `https` origins; undefined: Node's defaults. */
  readonly #secureConnect: Record<string, unknown> | undefined;

  constructor(tls?: TlsConfig) {
    this.#secureConnect = tls === undefined ? undefined : tlsConnectOptions(tls);
  }

  acquire(origin: string): Client {
    this.#using++;
    this.#closeWhenIdle = false;
    let client = this.#clients.get(origin);
    if (client === undefined || client.closed || client.destroyed) {
      client = this.#open(origin);
      this.#clients.set(origin, client);
    }
    return client;
  }

  release(): void {
    this.#using--;
    if (this.#using === 0 && this.#closeWhenIdle) void this.#destroy();
  }

  async close(): Promise<void> {
    if (this.#using > 0) {
      this.#closeWhenIdle = true;
      return;
    }
    await this.#destroy();
  }

  #open(origin: string): Client {
    const secure = this.#secureConnect !== undefined && origin.startsWith('https:');
    const client = new Client(
      origin,
      secure ? { pipelining: 1, connect: this.#secureConnect } : { pipelining: 1 },
    );
    // An instance that left discovery would leave its client behind for good: drop a client
    // once its connection is gone and nothing waits on it; the next check opens a new one.
    const dropIfIdle = (): void => {
      const stats = client.stats;
      if (this.#clients.get(origin) !== client || stats.pending > 0 || stats.running > 0) return;
      this.#clients.delete(origin);
      void client.close();
    };
    client.on('disconnect', dropIfIdle);
    client.on('connectionError', dropIfIdle);
    return client;
  }

  async #destroy(): Promise<void> {
    this.#closeWhenIdle = false;
    const clients = [...this.#clients.values()];
    this.#clients.clear();
    // Nothing is in flight here, so destroy() only tears down idle keep-alive sockets.
    await Promise.all(clients.map((client) => client.destroy()));
  }
}
