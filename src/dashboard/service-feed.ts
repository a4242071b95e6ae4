// One client as the dashboard sees it: its events turned into EventViews as they happen, and at
// every tick its snapshot turned into a ServiceView, with rates from successive snapshots and
// percentiles from the attempts the client publishes (`picket:attempt:end`, @picket/http's ATTEMPT_END_CHANNEL).

import type { Outcome } from '@picket/core';
import type { Client, ClientEvents, ClientInstanceSnapshot, ClientSnapshot } from '@picket/http';
import { LatencyWindow } from './latency-window.ts';
import { redactShownUrl, redactText } from './redact.ts';
import type { EventKind, EventView, HealthView, InstanceView, ServiceView } from './view.ts';

/** Points in a sparkline. */
export const SPARK_POINTS = 60;
/** How far back error rates and percentiles look, ms. */
export const WINDOW_MS = 10_000;

type Emit = (event: Omit<EventView, 'seq' | 'at' | 'index'>) => void;

/** Per-instance figures kept between ticks. */
class InstanceTrack {
  readonly latency: LatencyWindow;
  /** Per tick over the window: requests and failures. */
  readonly #requests: Float64Array;
  readonly #failures: Float64Array;
  #slot = 0;
  lastRequests: number;
  lastFailures: number;
  ejectedUntil: number | null = null;
  readonly rps: number[] = [];
  readonly latencyMs: (number | null)[] = [];

  constructor(ticks: number, requests: number, failures: number) {
    this.latency = new LatencyWindow(ticks);
    this.#requests = new Float64Array(ticks);
    this.#failures = new Float64Array(ticks);
    this.lastRequests = requests;
    this.lastFailures = failures;
  }

  /** Takes in one tick's counter deltas; returns the window's error rate. */
  count(requests: number, failures: number): number | null {
    this.#requests[this.#slot] = requests;
    this.#failures[this.#slot] = failures;
    this.#slot = (this.#slot + 1) % this.#requests.length;
    let r = 0;
    let f = 0;
    for (let i = 0; i < this.#requests.length; i++) {
      r += this.#requests[i]!;
      f += this.#failures[i]!;
    }
    return r === 0 ? null : Math.min(1, f / r);
  }

  push(rps: number, latencyMs: number | null): void {
    this.rps.push(rps);
    this.latencyMs.push(latencyMs);
    if (this.rps.length > SPARK_POINTS) {
      this.rps.shift();
      this.latencyMs.shift();
    }
  }
}

const LAYERS = new Set(['l3', 'l4', 'l7', 'load', 'custom']);

interface CheckerEntry {
  id: string;
  /** The balancer health source the checker's verdicts go to. */
  source: string;
  lastChecks: Record<string, { ok: boolean; reason: string; latencyMs: number }>;
}

/** The health checker's snapshot, read structurally (the client types it `unknown`). */
function checksById(health: unknown): Map<string, CheckerEntry> {
  const out = new Map<string, CheckerEntry>();
  if (!Array.isArray(health)) return out;
  for (const entry of health as Partial<CheckerEntry>[]) {
    if (typeof entry?.id === 'string' && entry.lastChecks !== null && typeof entry.lastChecks === 'object') {
      out.set(entry.id, entry as CheckerEntry);
    }
  }
  return out;
}

function healthOf(i: ClientInstanceSnapshot, checked: CheckerEntry | undefined): HealthView[] {
  const out: HealthView[] = [];
  for (const [layer, check] of Object.entries(checked?.lastChecks ?? {})) {
    if (!LAYERS.has(layer) || check === undefined) continue;
    out.push({
      layer,
      state: check.ok ? 'healthy' : 'unhealthy',
      reason: redactText(String(check.reason)),
      latencyMs: typeof check.latencyMs === 'number' ? check.latencyMs : null,
    });
  }
  // The balancer's sources that are not the checker's (already shown by layer).
  for (const [source, h] of Object.entries(i.health)) {
    if (source === checked?.source) continue;
    out.push({ layer: source, state: h.state, reason: redactText(h.reason), latencyMs: null });
  }
  return out;
}

export class ServiceFeed {
  readonly client: Client;
  readonly index: number;
  readonly #ticks: number;
  readonly #tracks = new Map<string, InstanceTrack>();
  readonly #off: (() => void)[] = [];
  #lastAt = performance.now();

  constructor(client: Client, index: number, intervalMs: number, emit: Emit) {
    this.client = client;
    this.index = index;
    this.#ticks = Math.max(1, Math.round(WINDOW_MS / intervalMs));
    this.#listen(emit);
  }

  #listen(emit: Emit): void {
    const on = <K extends keyof ClientEvents>(name: K, fn: (payload: ClientEvents[K]) => void): void => {
      try {
        this.#off.push(this.client.on(name, fn));
      } catch {
        // A client that no longer takes listeners (closed) is still shown, from its snapshots.
      }
    };
    const event = (kind: EventKind, instance: string | null, state: string | null, text: string) =>
      emit({ kind, instance, state, text: redactText(text) });
    on('instance-state', ({ instance, from, to, reason }) =>
      event(
        'instance-state',
        instance.id,
        to,
        `${instance.id}: ${from} → ${to}${reason ? ` (${reason})` : ''}`,
      ),
    );
    on('eject', ({ instance, reason, durationMs, ejections }) => {
      const track = this.#tracks.get(instance.id);
      if (track !== undefined) track.ejectedUntil = Date.now() + durationMs;
      event(
        'eject',
        instance.id,
        'ejected',
        `${instance.id}: ejected for ${Math.round(durationMs)} ms (${reason}), ejection ${ejections}`,
      );
    });
    on('panic', ({ priority, panic, availableShare }) =>
      event(
        'panic',
        null,
        panic ? 'panic' : 'normal',
        `priority ${priority} ${panic ? 'entered' : 'left'} panic (${Math.round(availableShare * 100)}% available)`,
      ),
    );
    on('breaker', ({ instance, state }) =>
      event('breaker', instance.id, state, `${instance.id}: breaker ${state}`),
    );
    on('discovery-error', ({ error, provider }) =>
      event('discovery-error', null, null, `${provider}: ${error.message} (the last good list stays)`),
    );
    on('instances', ({ added, removed }) => {
      if (added.length === 0 && removed.length === 0) return;
      const parts = [...added.map((i) => `+${i.id}`), ...removed.map((i) => `−${i.id}`)];
      event('instances', null, null, `membership: ${parts.join(' ')}`);
    });
    on('subset', ({ added, removed, grown }) => {
      const parts = [...added.map((id) => `+${id}`), ...removed.map((id) => `−${id}`)];
      event('subset', null, null, `subset: ${parts.join(' ')}${grown > 0 ? ` (${grown} grown)` : ''}`);
    });
  }

  /** One finished attempt of this client's (from the attempt channel). */
  attempt(id: string, outcome: Outcome): void {
    if (outcome.neutral === true || outcome.latencyMs === undefined) return;
    this.#tracks.get(id)?.latency.add(outcome.latencyMs);
  }

  /** The client now, as the page shows it; moves every window one tick on. */
  sample(): ServiceView {
    const now = performance.now();
    const seconds = Math.max(0.001, (now - this.#lastAt) / 1000);
    this.#lastAt = now;
    let snapshot: ClientSnapshot;
    try {
      snapshot = this.client.snapshot();
    } catch {
      return this.#unavailable();
    }
    const checks = checksById(snapshot.health);
    const seen = new Set<string>();
    const instances = snapshot.instances.map((i) => {
      seen.add(i.id);
      return this.#instance(i, checks.get(i.id), seconds);
    });
    for (const id of this.#tracks.keys()) if (!seen.has(id)) this.#tracks.delete(id);
    return {
      index: this.index,
      service: snapshot.service,
      closed: snapshot.closed,
      strategy: snapshot.strategy,
      panic: snapshot.panic,
      discovery: {
        provider: snapshot.discovery.provider,
        ready: snapshot.discovery.ready,
        lastError:
          snapshot.discovery.lastError === undefined ? null : redactText(snapshot.discovery.lastError),
      },
      retryBudget: snapshot.retryBudget,
      drainingPools: snapshot.drainingPools,
      subset:
        snapshot.subset === undefined
          ? null
          : { mode: snapshot.subset.mode, size: snapshot.subset.size, ...snapshot.subset.counts },
      instances,
    };
  }

  #instance(i: ClientInstanceSnapshot, checks: CheckerEntry | undefined, seconds: number): InstanceView {
    let track = this.#tracks.get(i.id);
    if (track === undefined) {
      track = new InstanceTrack(this.#ticks, i.requests, i.failures);
      this.#tracks.set(i.id, track);
    }
    // Counters restart when an instance leaves and comes back under the same id.
    const requests = i.requests >= track.lastRequests ? i.requests - track.lastRequests : i.requests;
    const failures = i.failures >= track.lastFailures ? i.failures - track.lastFailures : i.failures;
    track.lastRequests = i.requests;
    track.lastFailures = i.failures;
    const errorRate = track.count(requests, failures);
    const rps = Math.round((requests / seconds) * 10) / 10;
    const tick = track.latency.tick();
    track.push(rps, tick.meanMs === undefined ? null : round(tick.meanMs));
    const [p50, p99] = track.latency.quantiles([0.5, 0.99]);
    track.latency.advance();
    if (i.state !== 'ejected') track.ejectedUntil = null;
    return {
      id: i.id,
      url: redactShownUrl(i.url),
      state: i.state,
      zone: i.zone ?? null,
      priority: i.priority,
      weight: i.weight,
      effectiveWeight: i.effectiveWeight,
      inFlight: i.active,
      requestsPerSecond: rps,
      errorRate,
      p50Ms: p50 === undefined ? null : round(p50),
      p99Ms: p99 === undefined ? null : round(p99),
      ewmaMs: round(i.latencyMs),
      breaker: i.breaker?.state ?? null,
      ejections: i.ejections,
      ejectedUntil: track.ejectedUntil,
      health: healthOf(i, checks),
      subset: i.subset ?? null,
      spark: { rps: [...track.rps], latencyMs: [...track.latencyMs] },
    };
  }

  /** A client whose snapshot() threw: shown as closed, with nothing else known. */
  #unavailable(): ServiceView {
    return {
      index: this.index,
      service: this.client.service,
      closed: true,
      strategy: '',
      panic: [],
      discovery: { provider: '', ready: false, lastError: null },
      retryBudget: 0,
      drainingPools: 0,
      subset: null,
      instances: [],
    };
  }

  close(): void {
    for (const off of this.#off.splice(0)) off();
  }
}

function round(ms: number): number {
  return ms >= 100 ? Math.round(ms) : Math.round(ms * 100) / 100;
}
