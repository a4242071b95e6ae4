// Passive health (outlier detection) with Envoy's and gRPC A50's defaults: consecutive failures
// eject at once; every interval, success-rate and failure-percentage ejection compare instances
// with each other. Ejections last base × times ejected (capped) and are limited to a share of
// the fleet so that detection can never empty it.

import type { OutlierConfig } from './balancer-options.ts';
import type { Endpoint } from './endpoint.ts';

export interface EjectionSink {
  /** Called when an endpoint is ejected; the balancer publishes state and rebuilds. */
  ejected(endpoint: Endpoint, reason: string, durationMs: number): void;
}

export class OutlierDetector {
  readonly #config: OutlierConfig;
  readonly #sink: EjectionSink;
  nextSweepAt: number;

  constructor(config: OutlierConfig, sink: EjectionSink, now: number) {
    this.#config = config;
    this.#sink = sink;
    this.nextSweepAt = now + config.intervalMs;
  }

  /** Counts one release; may eject for consecutive failures. O(1) unless it ejects. */
  record(endpoint: Endpoint, failed: boolean, members: readonly Endpoint[], now: number): void {
    endpoint.intervalRequests++;
    if (!failed) {
      endpoint.consecutiveFailures = 0;
      return;
    }
    endpoint.intervalFailures++;
    endpoint.consecutiveFailures++;
    const limit = this.#config.consecutiveFailures;
    if (limit > 0 && endpoint.consecutiveFailures >= limit && endpoint.ejectedUntil <= now) {
      this.#tryEject(endpoint, members, now, `${endpoint.consecutiveFailures} consecutive failures`);
    }
  }

  /** The interval sweep: success rate, failure percentage, then reset counters. */
  sweep(members: readonly Endpoint[], now: number): void {
    this.nextSweepAt = now + this.#config.intervalMs;
    const { successRate, failurePercentage } = this.#config;
    if (successRate !== false) {
      const candidates = members.filter((e) => !e.removed && e.intervalRequests >= successRate.requestVolume);
      if (candidates.length >= successRate.minimumHosts && candidates.length > 0) {
        const rates = candidates.map((e) => 1 - e.intervalFailures / e.intervalRequests);
        const mean = rates.reduce((a, b) => a + b, 0) / rates.length;
        const variance = rates.reduce((a, r) => a + (r - mean) ** 2, 0) / rates.length;
        const threshold = mean - successRate.stdevFactor * Math.sqrt(variance);
        for (let i = 0; i < candidates.length; i++) {
          const rate = rates[i] ?? 1;
          const endpoint = candidates[i];
          if (endpoint !== undefined && rate < threshold && endpoint.ejectedUntil <= now) {
            const why = `success rate ${(rate * 100).toFixed(1)}% below threshold ${(threshold * 100).toFixed(1)}%`;
            this.#tryEject(endpoint, members, now, why);
          }
        }
      }
    }
    if (failurePercentage !== false) {
      const candidates = members.filter(
        (e) => !e.removed && e.intervalRequests >= failurePercentage.requestVolume,
      );
      if (candidates.length >= failurePercentage.minimumHosts) {
        for (const endpoint of candidates) {
          const pct = (endpoint.intervalFailures / endpoint.intervalRequests) * 100;
          if (pct >= failurePercentage.threshold && endpoint.ejectedUntil <= now) {
            this.#tryEject(endpoint, members, now, `failure percentage ${pct.toFixed(1)}%`);
          }
        }
      }
    }
    for (const endpoint of members) {
      endpoint.intervalRequests = 0;
      endpoint.intervalFailures = 0;
      // A whole interval out of ejection earns one back, so a long-recovered instance starts short.
      if (
        !endpoint.ejected &&
        endpoint.ejections > 0 &&
        now - endpoint.ejectedUntil >= this.#config.intervalMs
      ) {
        endpoint.ejections--;
      }
    }
  }

  #tryEject(endpoint: Endpoint, members: readonly Endpoint[], now: number, reason: string): void {
    let total = 0;
    let ejected = 0;
    for (const e of members) {
      if (e.removed) continue;
      total++;
      if (e.ejectedUntil > now) ejected++;
    }
    const allowed = Math.max(1, Math.floor((total * this.#config.maxEjectionPercent) / 100));
    if (ejected >= allowed) return;
    endpoint.ejections++;
    endpoint.timesEjected++;
    const duration = Math.min(
      this.#config.baseEjectionMs * endpoint.ejections,
      Math.max(this.#config.baseEjectionMs, this.#config.maxEjectionMs),
    );
    endpoint.ejected = true;
    endpoint.ejectedUntil = now + duration;
    endpoint.consecutiveFailures = 0;
    this.#sink.ejected(endpoint, reason, duration);
  }
}
