// The client's options as users write them: every field with its unit and default. config.ts
// parses them once into the fully-defaulted form the rest of the package reads.

import type { BalancerOptions, InstanceRecord, SubsetOptions, TlsOptions } from '@picket/core';
import type { HealthFactory, ProviderLike } from './contracts.ts';
import type { LoadReportLimits } from './load/in-band.ts';
import type { MetricsOptions } from './observe/metrics.ts';

export type { TlsOptions };

export interface RetryOptions {
  /** Retries after the first attempt, each on an instance not tried yet. Default 2. */
  retries?: number;
  /** Retries on the same instance before moving on (Ribbon's MaxAutoRetries). Default 0. */
  sameInstance?: number;
  /** Methods retried after the request may have reached the server. Default the idempotent ones. */
  methods?: readonly string[];
  /** Response statuses that are retried (for retryable methods). Default [502, 503, 504]. */
  statuses?: readonly number[];
  /** Retry a 429 whose `Retry-After` is at most `maxRetryAfterMs`. Default true. */
  rateLimited?: boolean;
  /** Longest `Retry-After` honoured, ms; a longer one ends retrying and returns the response. Default 1000. */
  maxRetryAfterMs?: number;
  /** Jittered exponential backoff between retries after the first, ms. Default { baseMs: 25, maxMs: 250 }. */
  backoff?: {
    /** The first delay, ms. Default 25. */
    baseMs?: number;
    /** No delay exceeds this, ms. Default 250. */
    maxMs?: number;
  };
  /** Retries (and hedges) allowed: percent of requests plus a floor per second. `false` turns it off. */
  budget?:
    | false
    | {
        /** Retries allowed as a percentage of the requests in the window. Default 20. */
        percent?: number;
        /** Retries allowed per second whatever the traffic, so a quiet client can still retry. Default 10. */
        minPerSecond?: number;
        /** The window requests and retries are counted over, ms. Default 10000. */
        windowMs?: number;
      };
}

export interface HedgeOptions {
  /** Delay before a hedge is sent, ms, or `'p95'` for the observed 95th percentile latency. */
  delayMs: number | 'p95';
  /** Hedges per request at most. Default 1. */
  maxHedges?: number;
}

export interface BreakerOptions {
  /** Failure percentage in the window that opens the breaker. Default 50. */
  errorThresholdPercentage?: number;
  /** Attempts in the window before the breaker may open. Default 10. */
  volumeThreshold?: number;
  /** How long an open breaker waits before letting one trial through, ms. Default 10000. */
  resetTimeoutMs?: number;
  /** Rolling window over which failures are counted, ms. Default 10000. */
  windowMs?: number;
  /** Buckets the window is divided into. Default 10. */
  buckets?: number;
}

export interface PoolOptions {
  /** Connections per instance at most; `null` for no limit. Default 128. */
  connections?: number | null;
  /** Idle keep-alive connection lifetime, ms. Default 4000. */
  keepAliveTimeout?: number;
  /** Requests pipelined per connection. Default 1. */
  pipelining?: number;
  /** Negotiate HTTP/2 over TLS (ALPN). Default false. */
  allowH2?: boolean;
  /** TCP (and TLS) connect timeout, ms. Default 2000. */
  connectTimeout?: number;
  /** Idle time allowed between response body chunks, ms. Default 300000 (undici's). */
  bodyTimeout?: number;
}

/**
 * Bounds on what the client holds, so that overload fails fast instead of queueing without
 * bound: a call beyond them fails at once with PICKET_OVERLOADED naming the limit.
 */
export interface LimitsOptions {
  /** Calls in flight at once on this client. Default 10000. */
  maxRequests?: number;
  /**
   * Attempts waiting for a connection to one instance (its pool's queue). An instance at the
   * cap is passed over for another; a call no instance can take fails. Default 1024.
   */
  maxPendingPerInstance?: number;
  /** Retries and hedges in flight at once on this client (beyond them, none starts). Default 256. */
  maxConcurrentRetries?: number;
}

/** What a single call may say beside undici's options (`client.request`, `client.fetch`, any dispatch). */
export interface PerRequestOptions {
  /**
   * Allows retrying (and hedging) a non-idempotent method after it may have reached the server.
   * Default: as `retry.methods` says of the request's method (the idempotent ones by default).
   */
  idempotent?: boolean;
  /** Key for ring-hash and Maglev stickiness (a user or session id). Default none: no stickiness. */
  hashKey?: string | number;
  /**
   * This request's deadline until response headers, ms. Default the client's `timeout`. A shorter
   * one is the caller's own deadline: reaching it charges no instance.
   */
  timeout?: number;
}

export interface ClientOptions
  extends Pick<
    BalancerOptions,
    | 'strategy'
    | 'panicThreshold'
    | 'overprovisioningFactor'
    | 'slowStart'
    | 'zone'
    | 'outlierDetection'
    | 'healthSources'
    | 'random'
    | 'now'
  > {
  /** The service's name: `http://<service>/path` URLs are routed to it. */
  service: string;
  /** The instances: a list of URLs or records, or a discovery provider. */
  discovery: readonly InstanceRecord[] | ProviderLike;
  /** Active health checking; the umbrella `picket` package builds this from `{ check, interval }`. Default none. */
  health?: HealthFactory;
  /** Retries, on by default (each field's default below); `false` turns them off. */
  retry?: RetryOptions | false;
  /** Whole request until response headers, retries and backoff included, ms. Default 30000. */
  timeout?: number;
  /** One attempt until response headers, ms, counted from dispatch (connecting included). Default none. */
  perTryTimeout?: number;
  /** Hedged requests for idempotent methods. Off by default. */
  hedge?: HedgeOptions | false;
  /** One circuit breaker per instance, on by default (each field's default below); `false` turns them off. */
  breaker?: BreakerOptions | false;
  /** Each instance's keep-alive connection pool (undici's Pool options, by undici's names; each field's default below). */
  pool?: PoolOptions;
  /** TLS to `https` instances (`httpCheck` takes the same, for the checks). */
  tls?: TlsOptions;
  /**
   * Bounds on what the client holds, so that overload fails fast instead of queueing without
   * bound: a call beyond them fails at once with PICKET_OVERLOADED naming the limit. Always on;
   * each field's default below.
   */
  limits?: LimitsOptions;
  /**
   * In-band load reports (ORCA's `endpoint-load-metrics` response header): with `max`, an
   * instance whose report is over a limit leaves rotation at once, until a report says it is
   * under again. Reports are asked for (and read) only when `loadReports` is set or the strategy
   * is `'weighted-round-robin'`; each instance is asked at most once per `intervalMs`, and a
   * report a server sends unasked is read too. Off by default.
   */
  loadReports?: {
    /** Limits on the reported figures; an instance over any leaves rotation. Default none. */
    max?: LoadReportLimits;
    /**
     * Asks an instance for a report at most once per this many ms (`loadReporter`'s figures
     * change once per sample window); 0 asks with every request. Default 1000.
     */
    intervalMs?: number;
  };
  /**
   * Use only a subset of the service's instances: `{ size, mode: 'random' | 'deterministic',
   * callerId, peers }`. Instances outside it get no pool, no health check and no stats; it grows
   * by the next candidates while fewer than `panicThreshold` of it are available. Off by default.
   */
  subset?: SubsetOptions | false;
  /**
   * OpenTelemetry metrics. Default: recorded on the global meter provider, which is a no-op (and
   * costs nothing) until an application registers the SDK; `false` records nothing.
   */
  metrics?: MetricsOptions | false;
}
