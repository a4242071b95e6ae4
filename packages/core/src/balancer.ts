// The balancer: owns instance state and the strategy, and answers `pick()` synchronously from
// structures rebuilt only when something changes. Time-driven work (ending ejections, outlier
// sweeps, slow-start steps) runs lazily on the next pick or snapshot, so the balancer holds no
// timers and `close()` has nothing to leak.

import { type BalancerConfig, parseBalancerOptions } from './balancer-options.ts';
import { Endpoint, type ReleaseSink } from './endpoint.ts';
import { PicketError } from './errors.ts';
import { type BalancerEvents, Emitter, type HealthState, type InstanceState } from './events.ts';
import {
  type HealthSource,
  type HealthSourceOptions,
  HealthSources,
  LEGACY_DEFAULT_SOURCE,
  type SourceSlot,
} from './health-sources.ts';
import { type Instance, type InstanceRecord, toInstances } from './instance.ts';
import { LatencyTracker } from './latency.ts';
import { buildLevels, type Level } from './levels.ts';
import type { LoadReport } from './load-report.ts';
import { isFailure, type Outcome, type PickContext } from './outcome.ts';
import { OutlierDetector } from './outlier.ts';
import { randomUnit } from './random.ts';
import type { StrategyContext } from './strategy.ts';
import { type Subset, SubsetFilter } from './subset.ts';
import type { Balancer, BalancerOptions, BalancerSnapshot, InstanceSnapshot, PickHandle } from './types.ts';

export class BalancerImpl implements Balancer, ReleaseSink {
  readonly #config: BalancerConfig;
  readonly #events = new Emitter<BalancerEvents>();
  readonly #ctx: StrategyContext;
  /** In-flight picks over every instance, for strategies (`StrategyContext.load`). */
  readonly #load = { inFlight: 0 };
  readonly #outlier: OutlierDetector | undefined;
  readonly #latency: LatencyTracker;
  /** Every endpoint, including removed ones still draining. */
  readonly #byId = new Map<string, Endpoint>();
  #members: Endpoint[] = [];
  #levels: Level[] = [];
  #levelsByPriority = new Map<number, Level>();
  #single: Level | undefined;
  #dirty = true;
  #nextMaintenanceAt = Number.POSITIVE_INFINITY;
  #warming = 0;
  #hadEndpoints = false;
  readonly #sources: HealthSources;
  #panicLevels = new Set<number>();
  #closed = false;
  /** With `subset`: the filter `update()` goes through; it hands this balancer its selection. */
  readonly #subset: Subset | undefined;
  #subsetStarted = false;

  constructor(options?: BalancerOptions) {
    this.#config = parseBalancerOptions(options);
    this.#ctx = { random: this.#config.random, now: this.#config.now, load: this.#load };
    this.#sources = new HealthSources(this.#config.healthSources, {
      apply: (slot, id, state, reason) => {
        const member = this.#byId.get(id);
        if (member !== undefined) this.#verdict(member, slot, state, reason, slot.endsEjection);
      },
      withdraw: (slot) => {
        // A closed balancer changes no state; its snapshot keeps the last verdicts.
        if (this.#closed) return;
        for (const member of this.#byId.values()) {
          if ((member.unhealthyBits | member.unknownBits) & slot.bit)
            this.#verdict(member, slot, 'healthy', 'withdrawn', false);
        }
      },
      hold: (slot) => {
        for (const member of this.#members) this.#verdict(member, slot, 'unknown', NOT_CHECKED, false);
      },
    });
    const now = this.#config.now();
    this.#latency = new LatencyTracker(this.#config.latency, now);
    if (this.#config.outlier !== undefined) {
      this.#outlier = new OutlierDetector(
        this.#config.outlier,
        { ejected: (e, reason, durationMs) => this.#onEjected(e, reason, durationMs) },
        now,
      );
      this.#nextMaintenanceAt = this.#outlier.nextSweepAt;
    }
    const subset = this.#config.subset;
    if (subset !== undefined) {
      this.#subset = new SubsetFilter(this, subset, this.#config, (instances) => this.#set(instances));
      this.#subset.on('subset', (change) => this.#events.emit('subset', change));
    }
  }

  get closed(): boolean {
    return this.#closed;
  }

  on<K extends keyof BalancerEvents>(name: K, fn: (payload: BalancerEvents[K]) => void): () => void {
    return this.#events.on(name, fn);
  }

  instances(): readonly Instance[] {
    return this.#members.map((m) => m.instance);
  }

  update(records: readonly InstanceRecord[]): void {
    const subset = this.#subset;
    if (subset === undefined) {
      this.#set(toInstances(records));
      return;
    }
    // The first update is the balancer's first use: a peers provider starts with it.
    if (!this.#subsetStarted && !this.#closed) {
      this.#subsetStarted = true;
      subset.start();
    }
    subset.update(records);
  }

  /** Makes `instances` (validated) the membership. */
  #set(instances: readonly Instance[]): void {
    const now = this.#config.now();
    const next: Endpoint[] = [];
    const added: Instance[] = [];
    const updated: Instance[] = [];
    const keep = new Set<string>();
    for (const instance of instances) {
      keep.add(instance.id);
      let member = this.#byId.get(instance.id);
      if (member === undefined) {
        member = this.#createEndpoint(instance, now);
        this.#byId.set(instance.id, member);
        added.push(instance);
      } else {
        if (member.removed) {
          member.removed = false;
          this.#latency.forget(member);
          added.push(instance);
        } else if (member.instance !== instance && !sameRecord(member.instance, instance)) {
          updated.push(instance);
        }
        member.instance = instance;
        this.#refreshWeight(member, now);
      }
      next.push(member);
    }
    const removed: Instance[] = [];
    for (const member of this.#members) {
      if (keep.has(member.instance.id)) continue;
      member.removed = true;
      removed.push(member.instance);
      if (member.active === 0) this.#byId.delete(member.instance.id);
      this.#publishState(member, now, 'removed from discovery');
    }
    this.#members = next;
    if (next.length > 0) this.#hadEndpoints = true;
    this.#dirty = true;
    if (added.length > 0 || removed.length > 0 || updated.length > 0) {
      this.#events.emit('instances', { added, removed, updated, instances: next.map((m) => m.instance) });
    }
  }

  pick(ctx?: PickContext, now: number = this.#config.now()): PickHandle {
    if (this.#closed) {
      throw new PicketError(
        'PICKET_BALANCER_CLOSED',
        'The balancer is closed; create a new one to pick again',
      );
    }
    if (this.#dirty || now >= this.#nextMaintenanceAt) this.#maintain(now);
    let level = this.#single;
    if (level === undefined) {
      if (this.#members.length === 0) {
        throw new PicketError('PICKET_NO_INSTANCES', 'No instances: discovery has not provided any');
      }
      const r = randomUnit(this.#config.random);
      const levels = this.#levels;
      for (let i = 0; i < levels.length; i++) {
        const candidate = levels[i] as Level;
        if (candidate.load > 0 && r < candidate.cumulativeLoad) {
          level = candidate;
          break;
        }
      }
      level ??= this.#firstLoaded();
    }
    let endpoint: Endpoint | undefined;
    if (level !== undefined) {
      if (level.zoned) {
        const local = level.localLoad >= 1 || randomUnit(this.#config.random) < level.localLoad;
        endpoint = (local ? level.local : level.remote).pick(ctx, now);
      }
      endpoint ??= level.main.pick(ctx, now);
      // Every candidate of the chosen level was excluded: try the other levels in order.
      if (endpoint === undefined) endpoint = this.#pickElsewhere(level, ctx, now);
    }
    if (endpoint === undefined) throw this.#noAvailable(ctx);
    endpoint.active++;
    this.#load.inFlight++;
    return endpoint;
  }

  release(member: Endpoint, outcome: Outcome, now: number = this.#config.now()): void {
    if (member.active > 0) {
      member.active--;
      this.#load.inFlight--;
    }
    if (outcome.neutral === true) {
      if (member.removed) this.#forgetIfDrained(member);
      return;
    }
    const failed = isFailure(outcome);
    member.requests++;
    if (failed) member.failures++;
    this.#latency.clock[0] = now;
    this.#latency.record(member, outcome, failed);
    if (member.removed) {
      this.#forgetIfDrained(member);
      return;
    }
    this.#outlier?.record(member, failed, this.#members, now);
  }

  /** A removed instance is forgotten once its last in-flight pick is released. */
  #forgetIfDrained(member: Endpoint): void {
    if (member.active === 0 && this.#byId.get(member.instance.id) === member) {
      this.#byId.delete(member.instance.id);
    }
  }

  healthSource(name: string, options?: HealthSourceOptions): HealthSource {
    return this.#sources.register(name, options);
  }

  /** @deprecated The unregistered path, kept for one release: see `Balancer.setHealth`. */
  setHealth(id: string, state: HealthState, reason = '', source = LEGACY_DEFAULT_SOURCE): void {
    const member = this.#byId.get(id);
    if (member === undefined) return;
    const slot = this.#sources.slot(source);
    this.#verdict(member, slot, state, reason, slot.endsEjection);
  }

  #verdict(
    member: Endpoint,
    slot: SourceSlot,
    state: HealthState,
    reason: string,
    endsEjection: boolean,
  ): void {
    const { bit, name: source } = slot;
    const wasUnhealthy = member.unhealthyBits;
    const wasUnknown = member.unknownBits;
    if (state === 'healthy') {
      member.unhealthyBits &= ~bit;
      member.unknownBits &= ~bit;
      member.reasons.delete(source);
      // A passing active check outranks passive evidence: it ends an outlier ejection.
      if (endsEjection && member.ejected) {
        member.ejected = false;
        member.ejectedUntil = this.#config.now();
        this.#dirty = true;
        this.#revive(member);
      }
    } else if (state === 'unhealthy') {
      member.unhealthyBits |= bit;
      member.unknownBits &= ~bit;
      member.reasons.set(source, reason);
    } else {
      member.unknownBits |= bit;
      member.unhealthyBits &= ~bit;
      member.reasons.set(source, reason);
    }
    if (member.unhealthyBits !== wasUnhealthy || member.unknownBits !== wasUnknown) this.#dirty = true;
    if (wasUnhealthy !== 0 && member.unhealthyBits === 0) this.#revive(member);
    this.#publishState(
      member,
      this.#config.now(),
      reason === '' ? `${source}: ${state}` : `${source}: ${reason}`,
    );
  }

  setWeight(id: string, weight: number | undefined): void {
    if (weight !== undefined && !(Number.isFinite(weight) && weight > 0)) {
      throw new PicketError(
        'PICKET_INVALID_OPTIONS',
        `Expected \`weight\` to be a positive finite number or undefined, got ${String(weight)}`,
      );
    }
    const member = this.#byId.get(id);
    if (member === undefined) return;
    member.reportedWeight = weight;
    this.#refreshWeight(member, this.#config.now());
    this.#dirty = true;
  }

  reportLoad(id: string, report: LoadReport): void {
    this.#byId.get(id)?.load.record(report, this.#config.now());
  }

  snapshot(): BalancerSnapshot {
    const now = this.#config.now();
    if (!this.#closed && (this.#dirty || now >= this.#nextMaintenanceAt)) this.#maintain(now);
    const instances: InstanceSnapshot[] = [];
    for (const member of this.#byId.values()) instances.push(this.#describe(member, now));
    const snapshot: BalancerSnapshot = {
      strategy: this.#config.strategy.name,
      instances,
      panic: [...this.#panicLevels],
    };
    const subset = this.#subset;
    if (subset === undefined) return snapshot;
    for (const instance of instances) instance.subset = subset.role(instance.id);
    snapshot.subset = subset.snapshot();
    return snapshot;
  }

  close(): void {
    this.#closed = true;
    this.#subset?.close();
  }

  #createEndpoint(instance: Instance, now: number): Endpoint {
    const member = new Endpoint(instance, this.#latency, this);
    member.unknownBits = this.#sources.unknownMask;
    if (this.#config.slowStart !== undefined && this.#hadEndpoints) {
      member.warmingSince = now;
      this.#warming++;
      this.#refreshWeight(member, now);
      this.#nextMaintenanceAt = Math.min(this.#nextMaintenanceAt, now + this.#slowStartStep());
    }
    for (const slot of this.#sources.values())
      if (slot.startsUnknown) member.reasons.set(slot.name, NOT_CHECKED);
    member.lastState = this.#stateOf(member, now);
    return member;
  }

  /**
   * An instance returning from unhealthy or ejected starts again from its peers' latency: the one
   * it had while failing (a freeze, the failure penalty) would otherwise keep it starved for as
   * long as the EWMA takes to decay, although it was just judged fit again.
   */
  #revive(member: Endpoint): void {
    this.#latency.forget(member);
  }

  #slowStartStep(): number {
    const window = this.#config.slowStart?.windowMs ?? 1000;
    return Math.max(window / 20, 10);
  }

  #refreshWeight(member: Endpoint, now: number): void {
    const base = member.reportedWeight ?? member.instance.weight;
    const slow = this.#config.slowStart;
    if (slow === undefined || member.warmingSince < 0) {
      member.weight = base;
      return;
    }
    const t = (now - member.warmingSince) / slow.windowMs;
    if (t >= 1) {
      member.warmingSince = -1;
      this.#warming--;
      member.weight = base;
      this.#publishState(member, now, 'slow start complete');
      return;
    }
    const factor = Math.max(slow.minWeightPercent / 100, Math.max(t, 0) ** (1 / slow.aggression));
    member.weight = base * factor;
  }

  #maintain(now: number): void {
    let next = Number.POSITIVE_INFINITY;
    for (const member of this.#members) {
      if (!member.ejected) continue;
      if (member.ejectedUntil <= now) {
        member.ejected = false;
        this.#dirty = true;
        this.#revive(member);
        this.#publishState(member, now, 'ejection ended');
      } else next = Math.min(next, member.ejectedUntil);
    }
    if (this.#warming > 0) {
      for (const member of this.#members) if (member.warmingSince >= 0) this.#refreshWeight(member, now);
      this.#dirty = true;
      if (this.#warming > 0) next = Math.min(next, now + this.#slowStartStep());
    }
    if (this.#outlier !== undefined) {
      if (now >= this.#outlier.nextSweepAt) this.#outlier.sweep(this.#members, now);
      next = Math.min(next, this.#outlier.nextSweepAt);
    }
    this.#nextMaintenanceAt = next;
    if (this.#dirty) this.#rebuild(now);
  }

  #rebuild(now: number): void {
    this.#dirty = false;
    this.#latency.recount(this.#byId.values(), now);
    const settings = {
      overprovisioningFactor: this.#config.overprovisioningFactor,
      panicThreshold: this.#config.panicThreshold,
      localZone: this.#config.localZone,
    };
    const levels = buildLevels(
      this.#members,
      this.#levelsByPriority,
      settings,
      this.#config.strategy,
      this.#ctx,
      now,
    );
    this.#levels = levels;
    this.#levelsByPriority = new Map(levels.map((l) => [l.priority, l]));
    this.#single = levels.length === 1 && levels[0]?.load === 1 ? levels[0] : undefined;
    for (const level of levels) {
      const was = this.#panicLevels.has(level.priority);
      if (level.panic === was) continue;
      if (level.panic) this.#panicLevels.add(level.priority);
      else this.#panicLevels.delete(level.priority);
      this.#events.emit('panic', {
        priority: level.priority,
        panic: level.panic,
        availableShare: level.availableShare,
      });
    }
    for (const p of this.#panicLevels) {
      if (!this.#levelsByPriority.has(p)) this.#panicLevels.delete(p);
    }
  }

  #firstLoaded(): Level | undefined {
    for (const level of this.#levels) if (level.load > 0) return level;
    return undefined;
  }

  #pickElsewhere(tried: Level, ctx: PickContext | undefined, now: number): Endpoint | undefined {
    for (const level of this.#levels) {
      if (level === tried || !level.hasCandidates) continue;
      // A level with no load is unhealthy or not needed; it still serves a retry that has
      // exhausted the preferred levels, but never while panic is off and it has no candidates.
      const endpoint = level.main.pick(ctx, now);
      if (endpoint !== undefined) return endpoint;
    }
    return undefined;
  }

  #noAvailable(ctx: PickContext | undefined): PicketError {
    if (this.#members.length === 0) {
      return new PicketError('PICKET_NO_INSTANCES', 'No instances: discovery has not provided any');
    }
    const excluded = ctx?.exclude?.size ?? 0;
    const counts = new Map<InstanceState, number>();
    const now = this.#config.now();
    for (const m of this.#members) {
      const s = this.#stateOf(m, now);
      counts.set(s, (counts.get(s) ?? 0) + 1);
    }
    const states = [...counts].map(([s, n]) => `${n} ${s}`).join(', ');
    return new PicketError(
      'PICKET_NO_AVAILABLE_INSTANCE',
      `No available instance among ${this.#members.length} (${states}${excluded > 0 ? `; ${excluded} excluded by the caller` : ''})`,
      { details: { instances: this.#members.length, excluded } },
    );
  }

  #stateOf(member: Endpoint, now: number): InstanceState {
    if (member.removed) return 'draining';
    if (member.unhealthyBits !== 0) return 'unhealthy';
    if (member.ejectedUntil > now) return 'ejected';
    if (member.unknownBits !== 0) return 'unknown';
    if (member.warmingSince >= 0) return 'warming';
    return 'healthy';
  }

  #publishState(member: Endpoint, now: number, reason: string): void {
    const to = this.#stateOf(member, now);
    const from = member.lastState as InstanceState;
    if (to === from) return;
    member.lastState = to;
    this.#events.emit('instance-state', { instance: member.instance, from, to, reason });
  }

  #onEjected(member: Endpoint, reason: string, durationMs: number): void {
    this.#dirty = true;
    const now = this.#config.now();
    this.#nextMaintenanceAt = Math.min(this.#nextMaintenanceAt, member.ejectedUntil);
    this.#events.emit('eject', {
      instance: member.instance,
      reason,
      durationMs,
      ejections: member.timesEjected,
    });
    this.#publishState(member, now, `ejected: ${reason}`);
  }

  #describe(member: Endpoint, now: number): InstanceSnapshot {
    const health: InstanceSnapshot['health'] = {};
    for (const { name: source, bit } of this.#sources.values()) {
      if (member.unhealthyBits & bit)
        health[source] = { state: 'unhealthy', reason: member.reasons.get(source) ?? '' };
      else if (member.unknownBits & bit)
        health[source] = { state: 'unknown', reason: member.reasons.get(source) ?? '' };
    }
    const i = member.instance;
    return {
      id: i.id,
      url: i.url,
      zone: i.zone,
      priority: i.priority,
      weight: i.weight,
      effectiveWeight: member.weight,
      state: this.#stateOf(member, now),
      health,
      active: member.active,
      requests: member.requests,
      failures: member.failures,
      latencyMs: this.#latency.estimateAt(member, now),
      meanLatencyMs: member.latencySamples > 0 ? member.latencyTotalMs / member.latencySamples : undefined,
      ejections: member.timesEjected,
      ejectedUntil: member.ejectedUntil > now ? member.ejectedUntil : undefined,
    };
  }
}

function sameRecord(a: Instance, b: Instance): boolean {
  return (
    a.url === b.url &&
    a.zone === b.zone &&
    a.weight === b.weight &&
    a.priority === b.priority &&
    sameMetadata(a.metadata, b.metadata)
  );
}

function sameMetadata(a: Readonly<Record<string, unknown>>, b: Readonly<Record<string, unknown>>): boolean {
  if (a === b) return true;
  let empty = true;
  for (const _ in a) {
    empty = false;
    break;
  }
  for (const _ in b) {
    if (empty) return false;
    break;
  }
  return empty || JSON.stringify(a) === JSON.stringify(b);
}

const NOT_CHECKED = 'not checked yet';

/** Creates a balancer. Validates options (PICKET_INVALID_OPTIONS); starts no I/O and no timers. */
export function createBalancer(options?: BalancerOptions): Balancer {
  return new BalancerImpl(options);
}
