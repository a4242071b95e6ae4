// The ways of sending the same request to the same instances that the benchmarks compare:
// raw undici Pools with a hand-written round robin (the floor any balancer pays), undici's
// BalancedPool, one Pool to an appliance in front, and a Picket client with a given strategy.

import type { StrategyName } from '@picket/core';
import { type Client, type ClientOptions, createClient } from 'picket';
import { BalancedPool, Dispatcher, Pool } from 'undici';
import type { Send } from './load.ts';
import type { ProxyProcess } from './proxies.ts';

export interface Contender {
  readonly name: string;
  /** `floor`, `undici`, `appliance` or `picket`. */
  readonly kind: 'floor' | 'undici' | 'appliance' | 'picket';
  readonly send: Send;
  /** The Picket client, when it is one. */
  readonly client?: Client;
  /** CPU time of a process in the path besides the client (a proxy), µs so far. */
  readonly extraCpuUs?: () => number;
  close(): Promise<void>;
}

/** The same pool settings everywhere: Picket's defaults. */
export const POOL = { connections: 128, keepAliveTimeout: 4000, pipelining: 1 } as const;

const idOf = (headers: Record<string, string | string[] | undefined>): string | undefined => {
  const id = headers['x-instance'];
  return typeof id === 'string' ? id : undefined;
};

/** One GET of `path` through `dispatcher`, body read; a 5xx is an error. */
function sendVia(dispatcher: Dispatcher, path: string): Send {
  return async () => {
    const res = await dispatcher.request({ path, method: 'GET' });
    await res.body.text();
    if (res.statusCode >= 500) throw new Error(`status ${res.statusCode}`);
    return idOf(res.headers);
  };
}

export function rawRoundRobin(urls: readonly string[], path: string): Contender {
  const pools = urls.map((u) => new Pool(u, POOL));
  let next = 0;
  return {
    name: 'raw undici (round robin)',
    kind: 'floor',
    async send() {
      const pool = pools[next++ % pools.length]!;
      const res = await pool.request({ path, method: 'GET' });
      await res.body.text();
      if (res.statusCode >= 500) throw new Error(`status ${res.statusCode}`);
      return idOf(res.headers);
    },
    async close() {
      await Promise.all(pools.map((p) => p.close()));
    },
  };
}

export function balancedPool(urls: readonly string[], path: string): Contender {
  const pool = new BalancedPool([...urls], POOL);
  return {
    name: 'undici BalancedPool',
    kind: 'undici',
    send: sendVia(pool, path),
    async close() {
      await pool.close();
    },
  };
}

export function viaProxy(proxy: ProxyProcess, path: string, label?: string): Contender {
  const pool = new Pool(proxy.url, POOL);
  return {
    name: label ?? proxy.name,
    kind: 'appliance',
    extraCpuUs: () => proxy.cpuUs(),
    send: sendVia(pool, path),
    async close() {
      await pool.close();
      await proxy.stop();
    },
  };
}

const HASHED = new Set<string>(['ring-hash', 'maglev']);

export function picket(
  strategy: StrategyName,
  urls: readonly string[],
  path: string,
  options: Partial<ClientOptions> = {},
  label = `picket ${strategy}`,
): Contender {
  const client = createClient({ service: 'bench', discovery: [...urls], strategy, ...options });
  // Consistent hashing needs a key: 1,024 distinct ones, as many users' requests would carry.
  const hashed = HASHED.has(strategy);
  return {
    name: label,
    kind: 'picket',
    client,
    async send(n) {
      // The same options as the floor's requests: path and method.
      const res = await client.request(
        hashed ? { path, method: 'GET', hashKey: n & 1023 } : { path, method: 'GET' },
      );
      await res.body.text();
      if (res.statusCode >= 500) throw new Error(`status ${res.statusCode}`);
      return idOf(res.headers);
    },
    async close() {
      await client.close();
    },
  };
}

/**
 * The floor behind the thinnest possible balancing dispatcher: round robin over the same Pools,
 * each request's handler wrapped in one that only forwards. What any dispatcher layer costs.
 */
export function passThrough(urls: readonly string[], path: string): Contender {
  const pools = urls.map((u) => new Pool(u, POOL));
  class Forward implements Dispatcher.DispatchHandler {
    readonly #h: Dispatcher.DispatchHandler;
    constructor(h: Dispatcher.DispatchHandler) {
      this.#h = h;
    }
    onRequestStart(c: Dispatcher.DispatchController, ctx: unknown) {
      this.#h.onRequestStart?.(c, ctx as never);
    }
    onResponseStart(c: Dispatcher.DispatchController, s: number, h: never, m?: string) {
      this.#h.onResponseStart?.(c, s, h, m);
    }
    onResponseData(c: Dispatcher.DispatchController, d: Buffer) {
      this.#h.onResponseData?.(c, d);
    }
    onResponseEnd(c: Dispatcher.DispatchController, t: never) {
      this.#h.onResponseEnd?.(c, t);
    }
    onResponseError(c: Dispatcher.DispatchController, e: Error) {
      this.#h.onResponseError?.(c, e);
    }
  }
  let next = 0;
  class RoundRobin extends Dispatcher {
    override dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
      return pools[next++ % pools.length]!.dispatch(opts, new Forward(handler));
    }
  }
  return {
    name: 'pass-through dispatcher',
    kind: 'floor',
    send: sendVia(new RoundRobin(), path),
    async close() {
      await Promise.all(pools.map((p) => p.close()));
    },
  };
}
