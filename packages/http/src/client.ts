// createClient: wires discovery → balancer → dispatcher for one service, and gives it its
// fronts (fetch, request), snapshot, events and lifecycle.

import {
  type Balancer,
  type BalancerEvents,
  createBalancer,
  createSubset,
  type HealthSource,
  type Instance,
  type InstanceRecord,
  PicketError,
  type Subset,
} from '@picket/core';
import {
  describeValue,
  durationError,
  Emitter,
  isDuration,
  messageOf,
  POSITIVE_DURATION,
} from '@picket/core/internal';
import type { Dispatcher } from 'undici';
import { BreakerRegistry } from './breaker/breakers.ts';
import { type ClientConfig, parseClientOptions } from './config.ts';
import type { ClientEvents, HealthFactory, ProviderLike } from './contracts.ts';
import {
  type BackingOff,
  CLOSING,
  DESTROYED,
  type DiscoveryWaiter,
  type DispatchCore,
  OPEN,
} from './dispatcher/core.ts';
import { Deadlines } from './dispatcher/deadlines.ts';
import { PicketDispatcher } from './dispatcher/dispatcher.ts';
import { clientClosedError, notDiscoveredError, overloadedError } from './errors.ts';
import { type ClientFetchInit, clientFetch } from './fronts/fetch.ts';
import { type ClientRequestOptions, clientRequest } from './fronts/request.ts';
import { InBandLoad } from './load/in-band.ts';
import { ClientMetrics, meterFor } from './observe/metrics.ts';
import type { ClientOptions } from './options.ts';
import { PoolManager } from './pool/pools.ts';
import { retryBudget } from './retry/budget.ts';
import { LatencyWindow } from './retry/latency.ts';
import { type ClientSnapshot, describeClient } from './snapshot.ts';

export interface Client {
  /** The service name given in the options. */
  readonly service: string;
  /** The load-balanced undici dispatcher, for undici's `fetch`, `request`, `stream`, `compose`. */
  readonly dispatcher: Dispatcher;
  /** WHATWG fetch: `'/path'` and `http://<service>/path` go to the service's instances. */
  fetch(input: string | URL | Request, init?: ClientFetchInit): Promise<Response>;
  /** undici-style request: resolves to `{ statusCode, headers, body }`. */
  request(options: ClientRequestOptions): Promise<Dispatcher.ResponseData>;
  request(path: string, options?: Omit<ClientRequestOptions, 'path'>): Promise<Dispatcher.ResponseData>;
  /**
   * Resolves when discovery has delivered its first snapshot. Rejects at once with
   * PICKET_DISCOVERY_FAILED when the provider's `start()` threw and no snapshot came since, and
   * with PICKET_TIMEOUT (its `cause` the provider's error, if any) after `timeoutMs` (10000).
   */
  ready(options?: { timeoutMs?: number }): Promise<void>;
  /** Instances with balancer state, breaker state and pool statistics. */
  snapshot(): ClientSnapshot;
  /** Subscribes to an event; returns the unsubscribe function. */
  on<K extends keyof ClientEvents>(name: K, fn: (payload: ClientEvents[K]) => void): () => void;
  /** Lets in-flight requests finish, then closes everything. Later requests get PICKET_CLIENT_CLOSED. Idempotent. */
  close(): Promise<void>;
  /** Closes at once, failing in-flight requests. */
  destroy(): Promise<void>;
  /** `close()` or `destroy()` has been called. */
  readonly closed: boolean;
}

// Monotonic, sub-millisecond: latencies on loopback are fractions of a millisecond.
const now = (): number => performance.now();
const noop = (): void => {};
const MAX_TIMER_MS = 2 ** 31 - 1;
const DISCOVERY_SOURCE = 'discovery';

const BALANCER_EVENTS: ReadonlySet<string> = new Set<keyof BalancerEvents>([
  'instances',
  'instance-state',
  'eject',
  'panic',
  'listener-error',
]);

// Every event a client emits; a Record, so that the compiler holds it to ClientEvents.
const CLIENT_EVENTS: Readonly<Record<keyof ClientEvents, true>> = {
  instances: true,
  'instance-state': true,
  eject: true,
  panic: true,
  subset: true,
  'listener-error': true,
  'discovery-error': true,
  breaker: true,
  retry: true,
  hedge: true,
};

class PicketClient implements Client, DispatchCore {
  readonly service: string;
  readonly config: ClientConfig;
  readonly balancer: Balancer;
  /** With `subset`: the filter between discovery and the balancer. */
  readonly subset: Subset | undefined;
  readonly pools: PoolManager;
  readonly breakers: BreakerRegistry | undefined;
  readonly budget;
  readonly latency: LatencyWindow | undefined;
  readonly deadlines: Deadlines;
  readonly sharesClock: boolean;
  readonly events = new Emitter<ClientEvents>();
  readonly dispatcher: PicketDispatcher;
  readonly #provider: ProviderLike | undefined;
  readonly #health: ReturnType<HealthFactory> | undefined;
  readonly #unsubscribe: Array<() => void> = [];
  readonly #relayed = new Set<string>();
  #snapshotted = false;
  /** The provider's `start()` threw: reported as a discovery error rather than thrown. */
  #startError: PicketError | undefined = undefined;
  readonly #terminating = new Set<string>();
  /** The health source instances that discovery says are terminating are reported under. */
  readonly #discoveryHealth: HealthSource;
  #firstSnapshot = Promise.withResolvers<void>();
  #active = 0;
  /**
   * Holds the event loop while a request is in flight, as undici's sockets and fetch do: the
   * timers a request waits on (backoff, deadlines, the clock) are unref'd so that an idle client
   * never keeps a process alive. Ref'd when the first request starts, unref'd when the last ends.
   * Unref'd from the start: a constructor that throws (an invalid balancer option) must not
   * leave it holding the process.
   */
  readonly #hold = setInterval(noop, MAX_TIMER_MS).unref();
  /** Requests made before discovery's first snapshot, waiting for it. */
  readonly #waiting = new Set<DiscoveryWaiter>();
  /** Requests waiting out a retry's backoff. */
  readonly #backingOff = new Set<BackingOff>();
  shutdown = OPEN;
  retriesInFlight = 0;
  readonly inBand: InBandLoad | null;
  readonly metrics: ClientMetrics | null;
  #idle: PromiseWithResolvers<void> | null = null;
  #closing: Promise<void> | undefined;

  constructor(config: ClientConfig) {
    this.service = config.service;
    this.config = config;
    // The balancer reads the client's clock unless the options bring their own; then the
    // dispatcher's readings (one when a request starts, one when its answer arrives) serve the
    // balancer too, and its hot path reads no clock of its own.
    this.sharesClock = config.balancer.now === undefined;
    this.balancer = createBalancer(this.sharesClock ? { ...config.balancer, now } : config.balancer);
    this.#discoveryHealth = this.balancer.healthSource(DISCOVERY_SOURCE);
    this.subset =
      config.subset === false
        ? undefined
        : createSubset(this.balancer, config.subset, config.balancer, (instances) => this.#apply(instances));
    this.pools = new PoolManager(config.pool, config.tls);
    this.breakers =
      config.breaker === false
        ? undefined
        : new BreakerRegistry(config.breaker, this.balancer, (instance, state) => {
            this.metrics?.breaker(state);
            this.events.emit('breaker', { instance, state });
          });
    this.budget = retryBudget(config.retry.enabled ? config.retry.budget : false);
    this.metrics = this.#metrics(config);
    const strategy = config.strategy;
    const weighted = (typeof strategy === 'string' ? strategy : strategy.name) === 'weighted-round-robin';
    this.inBand =
      weighted || config.loadReports !== undefined
        ? new InBandLoad(this.balancer, config.loadReports?.max, config.loadReports?.intervalMs)
        : null;
    // Latencies are kept only for hedging at the observed p95.
    this.latency = config.hedge !== false && config.hedge.delayMs === 'p95' ? new LatencyWindow() : undefined;
    this.deadlines = new Deadlines(
      config.perTryTimeout === undefined ? [config.timeout] : [config.timeout, config.perTryTimeout],
      now,
    );
    this.#firstSnapshot.promise.catch(() => undefined);
    this.#unsubscribe.push(
      this.balancer.on('instances', ({ removed }) => {
        for (const instance of removed) {
          this.pools.remove(instance.id);
          this.breakers?.remove(instance.id);
        }
      }),
    );
    if (this.subset !== undefined) {
      this.#unsubscribe.push(this.subset.on('subset', (payload) => this.events.emit('subset', payload)));
      this.subset.start();
    }
    this.dispatcher = new PicketDispatcher(this, {
      begin: () => this.#begin(),
      close: () => this.close(),
      destroy: () => this.destroy(),
    });
    const discovery = config.discovery;
    if (Array.isArray(discovery)) {
      this.#update(discovery);
      this.#markSnapshot();
      this.#provider = undefined;
    } else {
      const provider = discovery as ProviderLike;
      this.#provider = provider;
      this.#unsubscribe.push(
        provider.on('snapshot', ({ instances }) => {
          this.metrics?.discoveryUpdate(provider.name ?? 'provider');
          this.#applySnapshot(provider, instances);
        }),
        provider.on('discovery-error', (payload) => {
          this.metrics?.discoveryError(payload.provider);
          this.#failWaiting(notDiscoveredError(this.service, payload.error));
          this.events.emit('discovery-error', payload);
        }),
      );
      // createClient is where discovery starts: the client exists to send requests.
      if (this.#start(provider)) {
        const current = provider.current();
        if (current !== undefined) {
          this.#update(current);
          this.#markSnapshot();
        }
      }
    }
    this.#health = config.health?.(this.balancer);
    const metrics = this.metrics;
    const inBand = this.inBand;
    if ((metrics !== null || inBand !== null) && this.#health?.on !== undefined) {
      this.#unsubscribe.push(
        this.#health.on('check', ({ instance, result }) => {
          metrics?.healthCheck(result.layer, result.ok);
          // A passing active check outranks an old in-band report: the instance is back.
          if (result.ok) inBand?.clear(instance.id, 'an active check passed');
        }),
      );
    }
    this.#health?.start();
  }

  /** The client's metrics, or null when nothing would be recorded. */
  #metrics(config: ClientConfig): ClientMetrics | null {
    const meter = meterFor(config.metrics);
    if (meter === null) return null;
    const metrics = new ClientMetrics(meter, config.service, config.metrics || undefined, {
      instances: () => {
        const pools = this.pools;
        const byId = new Map(this.balancer.instances().map((x) => [x.id, x]));
        return this.balancer.snapshot().instances.map((i) => {
          const instance = byId.get(i.id);
          return {
            host: instance?.host ?? i.url,
            port: instance?.port ?? 0,
            state: i.state,
            active: i.active,
            connections: pools.stats(i.id)?.connected ?? 0,
          };
        });
      },
      budgetAvailable: () => this.budget.available(),
    });
    this.#unsubscribe.push(this.balancer.on('eject', ({ reason }) => metrics.ejection(reason)));
    return metrics;
  }

  /**
   * Starts the provider. One whose `start()` throws does not make createClient throw: the
   * failure becomes a typed PICKET_DISCOVERY_FAILED, emitted as `discovery-error` (which no
   * listener can hear yet) and kept as the cause of PICKET_NO_INSTANCES and of `ready()`.
   */
  #start(provider: ProviderLike): boolean {
    try {
      provider.start();
      return true;
    } catch (error) {
      const name = provider.name ?? 'provider';
      const message = messageOf(error);
      const failure = new PicketError(
        'PICKET_DISCOVERY_FAILED',
        `Discovery provider "${name}" failed to start: ${message}`,
        { cause: error },
      );
      this.#startError = failure;
      this.events.emit('discovery-error', { error: failure, provider: name });
      return false;
    }
  }

  #applySnapshot(provider: ProviderLike, instances: readonly Instance[]): void {
    try {
      this.#update(instances);
    } catch (error) {
      // A snapshot the balancer refuses (duplicate ids) leaves the last good one in force.
      const name = provider.name ?? 'provider';
      this.events.emit('discovery-error', {
        error: new PicketError(
          'PICKET_DISCOVERY_FAILED',
          `Discovery snapshot rejected: ${(error as Error).message}`,
          {
            cause: error,
          },
        ),
        provider: name,
      });
      return;
    }
    this.#markSnapshot();
  }

  // With subsetting, the subset filter chooses what reaches the balancer (through #apply).
  #update(records: readonly InstanceRecord[]): void {
    if (this.subset === undefined) this.#apply(records);
    else this.subset.update(records);
  }

  // Registries that announce a shutdown (Kubernetes' `terminating`) keep the instance listed so
  // that its in-flight requests finish; it takes no new ones (health source DISCOVERY_SOURCE).
  #apply(records: readonly InstanceRecord[]): void {
    this.balancer.update(records);
    for (const instance of this.balancer.instances()) {
      const terminating = instance.metadata.terminating === true;
      if (terminating === this.#terminating.has(instance.id)) continue;
      if (terminating) this.#terminating.add(instance.id);
      else this.#terminating.delete(instance.id);
      const state = terminating ? 'unhealthy' : 'healthy';
      this.#discoveryHealth.set(instance.id, state, 'terminating, as discovery reports');
    }
  }

  #markSnapshot(): void {
    if (this.#snapshotted) return;
    this.#snapshotted = true;
    // Discovery works after all: the provider's own errors say how it is doing from now on.
    this.#startError = undefined;
    this.#firstSnapshot.resolve();
    if (this.#waiting.size === 0) return;
    const waiting = [...this.#waiting];
    this.#waiting.clear();
    // On a turn of its own: the requests are not sent from inside the provider's event.
    setImmediate(() => {
      for (const waiter of waiting) waiter.discovered();
    });
  }

  /** Discovery failed before any snapshot: requests waiting for one fail with its error. */
  #failWaiting(error: Error): void {
    if (this.#snapshotted || this.#waiting.size === 0) return;
    const waiting = [...this.#waiting];
    this.#waiting.clear();
    for (const waiter of waiting) waiter.discoveryFailed(error);
  }

  backingOff(request: BackingOff): void {
    this.#backingOff.add(request);
  }

  backedOff(request: BackingOff): void {
    this.#backingOff.delete(request);
  }

  awaitDiscovery(waiter: DiscoveryWaiter): void {
    this.#waiting.add(waiter);
  }

  stopWaiting(waiter: DiscoveryWaiter): void {
    this.#waiting.delete(waiter);
  }

  now(): number {
    return now();
  }

  discoveryPending(): { cause: unknown } | null {
    if (this.#snapshotted) return null;
    return { cause: this.#discoveryError() };
  }

  // A failed start() comes first: whatever the provider reports after it follows from it.
  #discoveryError(): PicketError | undefined {
    return this.#startError ?? this.#provider?.lastError();
  }

  #begin(): Error | undefined {
    if (this.#closing !== undefined) return clientClosedError(this.service);
    const max = this.config.limits.maxRequests;
    if (this.#active >= max) return overloadedError(this.service, 'maxRequests', max);
    if (this.#active++ === 0) this.#hold.ref();
    return undefined;
  }

  requestDone(): void {
    if (--this.#active > 0) return;
    this.#hold.unref();
    this.#idle?.resolve();
  }

  get closed(): boolean {
    return this.#closing !== undefined;
  }

  fetch(input: string | URL | Request, init?: ClientFetchInit): Promise<Response> {
    return clientFetch(this, input, init);
  }

  request(
    a: ClientRequestOptions | string,
    b?: Omit<ClientRequestOptions, 'path'>,
  ): Promise<Dispatcher.ResponseData> {
    return clientRequest(this, typeof a === 'string' ? { ...b, path: a } : a);
  }

  async ready(options: { timeoutMs?: number } = {}): Promise<void> {
    if (options !== null && typeof options !== 'object') {
      throw new PicketError(
        'PICKET_INVALID_OPTIONS',
        `Invalid ready() options: expected an object, got ${describeValue(options)}`,
      );
    }
    const timeoutMs = options?.timeoutMs ?? 10_000;
    if (!isDuration(timeoutMs, POSITIVE_DURATION)) {
      throw durationError('Invalid ready() options', 'timeoutMs', timeoutMs, POSITIVE_DURATION);
    }
    if (this.#snapshotted) return;
    if (this.#closing !== undefined) throw clientClosedError(this.service);
    if (this.#startError !== undefined) throw this.#startError;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(
          new PicketError(
            'PICKET_TIMEOUT',
            `Discovery for service "${this.service}" delivered no snapshot within ${timeoutMs} ms`,
            { cause: this.#discoveryError(), details: { timeoutMs } },
          ),
        );
      }, timeoutMs);
      timer.unref();
    });
    try {
      await Promise.race([this.#firstSnapshot.promise, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  snapshot(): ClientSnapshot {
    return describeClient(
      this,
      this.#provider,
      this.#discoveryError(),
      this.#health,
      this.#snapshotted,
      this.subset,
    );
  }

  on<K extends keyof ClientEvents>(name: K, fn: (payload: ClientEvents[K]) => void): () => void {
    // A misspelt event would never fire, and a listener that is not a function would throw at
    // each event (reported as a listener error, far from the call that subscribed it).
    if (!Object.hasOwn(CLIENT_EVENTS, name)) {
      const known = Object.keys(CLIENT_EVENTS).join(', ');
      throw new PicketError(
        'PICKET_INVALID_OPTIONS',
        `client.on: unknown event ${describeValue(name)}; the events are ${known}`,
      );
    }
    if (typeof fn !== 'function') {
      throw new PicketError(
        'PICKET_INVALID_OPTIONS',
        `client.on("${String(name)}"): the listener must be a function, got ${describeValue(fn)}`,
      );
    }
    // Balancer events are relayed only once someone listens: emitting costs nothing otherwise.
    if (BALANCER_EVENTS.has(name) && !this.#relayed.has(name)) {
      this.#relayed.add(name);
      const key = name as keyof BalancerEvents;
      this.#unsubscribe.push(this.balancer.on(key, (payload) => this.events.emit(key, payload as never)));
    }
    return this.events.on(name, fn);
  }

  close(): Promise<void> {
    this.#closing ??= this.#shutDown(false);
    return this.#closing;
  }

  destroy(): Promise<void> {
    if (this.#closing === undefined) this.#closing = this.#shutDown(true);
    else if (this.shutdown !== DESTROYED) {
      // close() is waiting for in-flight requests: fail them now instead.
      this.shutdown = DESTROYED;
      this.balancer.close();
      void this.pools.destroy();
    }
    return this.#closing;
  }

  async #shutDown(abrupt: boolean): Promise<void> {
    this.shutdown = abrupt ? DESTROYED : CLOSING;
    const closed = clientClosedError(this.service);
    this.#firstSnapshot.reject(closed);
    // Requests still waiting for discovery have no instance to finish on; those waiting out a
    // backoff would start a retry, which a closing client no longer does.
    this.#failWaiting(closed);
    const backingOff = [...this.#backingOff];
    this.#backingOff.clear();
    for (const request of backingOff) request.shutDown(closed);
    if (abrupt) {
      // No new attempts (a request between retries picks no more), then fail what is in flight.
      this.balancer.close();
      await this.pools.destroy();
    } else if (this.#active > 0) {
      this.#idle = Promise.withResolvers<void>();
      await this.#idle.promise;
    }
    for (const off of this.#unsubscribe.splice(0)) off();
    this.subset?.close();
    this.breakers?.close();
    this.deadlines.close();
    clearInterval(this.#hold);
    this.metrics?.close();
    this.inBand?.close();
    await Promise.all([this.pools.close(), this.#provider?.close(), this.#health?.close()]);
    this.balancer.close();
    this.events.clear();
  }
}

/**
 * Creates a load-balanced HTTP client for one service. Options are validated here and throw
 * PICKET_INVALID_OPTIONS naming the option and the value.
 */
export function createClient(options: ClientOptions): Client {
  return new PicketClient(parseClientOptions(options));
}
