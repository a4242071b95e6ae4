// A client's OpenTelemetry metrics. `@opentelemetry/api` is an optional peer: by default the
// global meter provider is used (an application that registers the SDK gets these metrics with no
// Picket option), `metrics: { meterProvider }` picks another, `metrics: false` records nothing.
// Without a registered SDK the global provider is the API's no-op one: then nothing is built at
// all, not even attribute objects. Names and attributes follow the OpenTelemetry HTTP client
// conventions where one exists (`http.client.request.duration` per attempt), `picket.*` otherwise.

import { createRequire } from 'node:module';
import type { Instance } from '@picket/core';

/** The parts of `@opentelemetry/api` used here, so that the package need not be installed. */
type Attributes = Record<string, string | number | boolean>;
interface Histogram {
  record(value: number, attributes?: Attributes): void;
}
interface Counter {
  add(value: number, attributes?: Attributes): void;
}
interface ObservableResult {
  observe(observable: unknown, value: number, attributes?: Attributes): void;
}
interface Meter {
  createHistogram(
    name: string,
    options?: { description?: string; unit?: string; advice?: { explicitBucketBoundaries?: number[] } },
  ): Histogram;
  createCounter(name: string, options?: { description?: string; unit?: string }): Counter;
  createObservableGauge(name: string, options?: { description?: string; unit?: string }): unknown;
  addBatchObservableCallback(callback: (result: ObservableResult) => void, observables: unknown[]): void;
  removeBatchObservableCallback(callback: (result: ObservableResult) => void, observables: unknown[]): void;
}
/** An OpenTelemetry MeterProvider (`@opentelemetry/api`'s interface). */
export interface MeterProvider {
  /** The meter Picket records on; Picket asks for `'picket'`. */
  getMeter(name: string, version?: string): Meter;
}
interface MetricsApi {
  metrics: { getMeterProvider(): MeterProvider };
  createNoopMeter(): Meter;
}

export interface MetricsOptions {
  /** Where to record. Default: the global meter provider (`metrics.getMeterProvider()`). */
  meterProvider?: MeterProvider;
  /**
   * Per-instance attributes (`server.address`, `server.port`) and per-instance gauges. Default
   * true; `false` for large fleets, where they would make one series per instance.
   */
  perInstance?: boolean;
  /**
   * Record `http.client.request.duration` for each attempt. Default true; `false` when
   * `@opentelemetry/instrumentation-undici` runs too, which records the same histogram for every
   * undici request, Picket's attempts included.
   */
  attemptDuration?: boolean;
}

/** What the gauges read, at collection time only. */
export interface MetricsSources {
  instances(): ReadonlyArray<{
    host: string;
    port: number;
    state: string;
    active: number;
    connections: number;
  }>;
  budgetAvailable(): number;
}

// The HTTP client conventions' advice for durations in seconds.
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
const STATES = ['healthy', 'unhealthy', 'ejected', 'draining', 'warming', 'unknown'];

let api: MetricsApi | null | undefined;

/** `@opentelemetry/api` when it is installed, loaded once. */
function otelApi(): MetricsApi | null {
  if (api !== undefined) return api;
  try {
    const load = typeof require === 'function' ? require : createRequire(import.meta.url);
    api = load('@opentelemetry/api') as MetricsApi;
  } catch {
    api = null;
  }
  return api;
}

/** The meter to record on, or null when nothing would be recorded. */
export function meterFor(options: MetricsOptions | false | undefined): Meter | null {
  if (options === false) return null;
  if (options?.meterProvider !== undefined) return options.meterProvider.getMeter('picket');
  const otel = otelApi();
  if (otel === null) return null;
  const meter = otel.metrics.getMeterProvider().getMeter('picket');
  // The API's no-op provider: no SDK is registered, so nothing would be kept.
  return meter.constructor === otel.createNoopMeter().constructor ? null : meter;
}

/** Which outlier rule ejected an instance: a bounded attribute, not the free-text reason. */
function ejectionRule(reason: string): string {
  if (reason.includes('consecutive')) return 'consecutive_failures';
  if (reason.startsWith('success rate')) return 'success_rate';
  if (reason.startsWith('failure percentage')) return 'failure_percentage';
  return 'other';
}

export class ClientMetrics {
  readonly #service: string;
  readonly #perInstance: boolean;
  readonly #attempts: Histogram | null;
  readonly #calls: Histogram;
  readonly #retries: Counter;
  readonly #hedges: Counter;
  readonly #budgetExhausted: Counter;
  readonly #ejections: Counter;
  readonly #breaker: Counter;
  readonly #checks: Counter;
  readonly #discoveryUpdates: Counter;
  readonly #discoveryErrors: Counter;
  readonly #meter: Meter;
  readonly #gauges: unknown[];
  readonly #observe: (result: ObservableResult) => void;

  constructor(meter: Meter, service: string, options: MetricsOptions | undefined, sources: MetricsSources) {
    this.#meter = meter;
    this.#service = service;
    this.#perInstance = options?.perInstance ?? true;
    const advice = { explicitBucketBoundaries: DURATION_BUCKETS };
    this.#attempts =
      options?.attemptDuration === false
        ? null
        : meter.createHistogram('http.client.request.duration', {
            description: 'Duration of HTTP client requests: each attempt on an instance.',
            unit: 's',
            advice,
          });
    this.#calls = meter.createHistogram('picket.client.request.duration', {
      description: 'Duration of calls as their caller sees them, retries and hedges included.',
      unit: 's',
      advice,
    });
    const counter = (name: string, description: string) => meter.createCounter(name, { description });
    this.#retries = counter('picket.client.retries', 'Retries started, by reason.');
    this.#hedges = counter('picket.client.hedges', 'Hedged attempts started.');
    this.#budgetExhausted = counter(
      'picket.client.retry_budget.exhausted',
      'Retries or hedges refused because the retry budget was spent.',
    );
    this.#ejections = counter('picket.client.ejections', 'Outlier ejections, by rule.');
    this.#breaker = counter(
      'picket.client.breaker.transitions',
      'Circuit breaker transitions, by state entered.',
    );
    this.#checks = counter('picket.health.checks', 'Active health checks, by layer and result.');
    this.#discoveryUpdates = counter('picket.discovery.updates', 'Snapshots delivered by discovery.');
    this.#discoveryErrors = counter('picket.discovery.errors', 'Discovery failures, by provider.');

    const instances = meter.createObservableGauge('picket.client.instances', {
      description: 'Instances by state.',
    });
    const budget = meter.createObservableGauge('picket.client.retry_budget.available', {
      description: 'Retries the budget still allows.',
    });
    const inFlight = meter.createObservableGauge('picket.client.instance.in_flight', {
      description: 'Requests in flight on each instance.',
    });
    const connections = meter.createObservableGauge('picket.client.instance.connections', {
      description: 'Open connections to each instance.',
    });
    this.#gauges = this.#perInstance ? [instances, budget, inFlight, connections] : [instances, budget];
    this.#observe = (result) => {
      const list = sources.instances();
      const counts = new Map<string, number>(STATES.map((s) => [s, 0]));
      for (const i of list) counts.set(i.state, (counts.get(i.state) ?? 0) + 1);
      for (const [state, n] of counts) result.observe(instances, n, { 'picket.service': service, state });
      const available = sources.budgetAvailable();
      if (Number.isFinite(available)) result.observe(budget, available, { 'picket.service': service });
      if (!this.#perInstance) return;
      for (const i of list) {
        const at = this.#instanceAttributes(i.host, i.port);
        result.observe(inFlight, i.active, at);
        result.observe(connections, i.connections, at);
      }
    };
    meter.addBatchObservableCallback(this.#observe, this.#gauges);
  }

  #instanceAttributes(host: string, port: number): Attributes {
    return { 'picket.service': this.#service, 'server.address': host, 'server.port': port };
  }

  /** One attempt ended: with a status, or with `errorType` (an error code or kind). */
  attempt(
    instance: Instance,
    method: string,
    seconds: number,
    status: number,
    errorType: string | undefined,
  ): void {
    const histogram = this.#attempts;
    if (histogram === null) return;
    const attributes: Attributes = { 'picket.service': this.#service, 'http.request.method': method };
    if (this.#perInstance) {
      attributes['server.address'] = instance.host;
      attributes['server.port'] = instance.port;
    }
    if (status > 0) attributes['http.response.status_code'] = status;
    if (errorType !== undefined) attributes['error.type'] = errorType;
    else if (status >= 500) attributes['error.type'] = String(status);
    histogram.record(seconds, attributes);
  }

  /** One call ended, as its caller saw it. */
  call(
    method: string,
    seconds: number,
    status: number,
    errorCode: string | undefined,
    attempts: number,
  ): void {
    const attributes: Attributes = {
      'picket.service': this.#service,
      'http.request.method': method,
      'picket.attempts': attempts,
    };
    if (status > 0) attributes['http.response.status_code'] = status;
    if (errorCode !== undefined) attributes['error.type'] = errorCode;
    this.#calls.record(seconds, attributes);
  }

  retry(reason: string): void {
    this.#retries.add(1, { 'picket.service': this.#service, reason });
  }

  hedge(): void {
    this.#hedges.add(1, { 'picket.service': this.#service });
  }

  budgetExhausted(): void {
    this.#budgetExhausted.add(1, { 'picket.service': this.#service });
  }

  ejection(reason: string): void {
    this.#ejections.add(1, { 'picket.service': this.#service, reason: ejectionRule(reason) });
  }

  breaker(to: string): void {
    this.#breaker.add(1, { 'picket.service': this.#service, to });
  }

  healthCheck(layer: string, ok: boolean): void {
    this.#checks.add(1, { 'picket.service': this.#service, layer, result: ok ? 'pass' : 'fail' });
  }

  discoveryUpdate(provider: string): void {
    this.#discoveryUpdates.add(1, { 'picket.service': this.#service, provider });
  }

  discoveryError(provider: string): void {
    this.#discoveryErrors.add(1, { 'picket.service': this.#service, provider });
  }

  close(): void {
    this.#meter.removeBatchObservableCallback(this.#observe, this.#gauges);
  }
}
