// Subsetting: a membership filter between discovery and `balancer.update()`. The balancer (and so
// the pools, breakers and health checks that follow it) only ever sees this caller's subset plus
// the standby instances it grew by while members were failing (Finagle's aperture widening).

import { type BalancerConfig, parseBalancerOptions } from './balancer-options.ts';
import { type BalancerEvents, Emitter, type InstanceState } from './events.ts';
import { type Instance, type InstanceRecord, toInstances } from './instance.ts';
import {
  type PeerPlace,
  parseSubsetOptions,
  type SubsetConfig,
  type SubsetOptions,
} from './subset-options.ts';
import { deterministicOrder, rendezvousOrder } from './subset-order.ts';
import {
  assertBalancer,
  type Balancer,
  type BalancerOptions,
  type SubsetRole,
  type SubsetSnapshot,
} from './types.ts';

export interface SubsetEvents {
  /** The instances handed to the balancer changed. */
  subset: BalancerEvents['subset'];
  /** A listener threw; the error is reported here instead of breaking the subset. */
  'listener-error': BalancerEvents['listener-error'];
}

/** A subset filter, as `createSubset()` returns it: discovery's snapshots go through it to the balancer. */
export interface Subset {
  /** Starts the peers source (`peers: { discovery, self }`), if any. */
  start(): void;
  /** Subscribes to an event; returns the unsubscribe function. */
  on<K extends keyof SubsetEvents>(name: K, fn: (payload: SubsetEvents[K]) => void): () => void;
  /** Takes a new discovery snapshot: validates it (throws as `balancer.update` does) and applies the subset. */
  update(records: readonly InstanceRecord[]): void;
  /** Sets this caller's place among its peers (deterministic mode) and deals again. */
  setPeers(place: PeerPlace): void;
  /** Why instance `id` is in use (`'member'`, `'grown'`), or undefined when it is not. */
  role(id: string): SubsetRole | undefined;
  /** The mode, size, caller id and place, and each instance's role and why. */
  snapshot(): SubsetSnapshot;
  /** Stops listening to the balancer and closes a peers source. Idempotent. */
  close(): void;
}

// States in which a member counts as unavailable; `unknown` (not checked yet) counts as available,
// or a subset that grows would grow again until every newcomer's first check came back.
const FAILED: ReadonlySet<InstanceState> = new Set<InstanceState>(['unhealthy', 'ejected']);

/** What the subset takes from the balancer's options: its panic threshold decides growth; its zone, the order. */
export type SubsetSettings = Pick<BalancerConfig, 'panicThreshold' | 'localZone'>;

/** The balancer's own `subset` option makes one from parsed options; `createSubset()` parses them. */
export class SubsetFilter implements Subset {
  readonly #config: SubsetConfig;
  readonly #settings: SubsetSettings;
  readonly #apply: (instances: readonly Instance[]) => void;
  readonly #events = new Emitter<SubsetEvents>();
  readonly #off: Array<() => void> = [];
  #instances = new Map<string, Instance>();
  /** Every instance id, members first, then standby in the order growth takes them. */
  #order: string[] = [];
  #place: PeerPlace | undefined;
  readonly #failed = new Set<string>();
  /** Ids handed to the balancer last, with their roles. */
  #applied = new Map<string, SubsetRole>();
  #grownBecause = '';
  #scheduled = false;
  #closed = false;

  /** Takes parsed options: `createSubset()` and the balancer's own `subset` option parse them. */
  constructor(
    balancer: Balancer,
    config: SubsetConfig,
    settings: SubsetSettings,
    apply: (instances: readonly Instance[]) => void,
  ) {
    this.#config = config;
    this.#settings = settings;
    this.#apply = apply;
    const peers = this.#config.peers;
    if (peers !== undefined && 'index' in peers) this.#place = { index: peers.index, count: peers.count };
    this.#off.push(
      balancer.on('instance-state', ({ instance, to }) => {
        if (FAILED.has(to)) this.#failed.add(instance.id);
        else this.#failed.delete(instance.id);
        if (this.#applied.has(instance.id)) this.#schedule();
      }),
    );
  }

  /** Starts the peers source, if any. */
  start(): void {
    const peers = this.#config.peers;
    if (peers === undefined || !('discovery' in peers)) return;
    this.#off.push(
      peers.discovery.on('snapshot', ({ instances }) => this.#placeAmong(instances, peers.self)),
    );
    peers.discovery.start?.();
    const current = peers.discovery.current();
    if (current !== undefined) this.#placeAmong(current, peers.self);
  }

  on<K extends keyof SubsetEvents>(name: K, fn: (payload: SubsetEvents[K]) => void): () => void {
    return this.#events.on(name, fn);
  }

  /** Takes a new discovery snapshot: validates it (throws as `balancer.update` does) and applies the subset. */
  update(records: readonly InstanceRecord[]): void {
    const instances = toInstances(records);
    this.#instances = new Map(instances.map((i) => [i.id, i]));
    this.#reorder();
    this.#select(true);
  }

  /** Sets this caller's place among its peers (deterministic mode) and deals again. */
  setPeers(place: PeerPlace): void {
    if (this.#place?.index === place.index && this.#place.count === place.count) return;
    this.#place = { index: place.index, count: place.count };
    this.#reorder();
    this.#select(false);
  }

  role(id: string): SubsetRole | undefined {
    return this.#applied.get(id);
  }

  snapshot(): SubsetSnapshot {
    const counts: Record<SubsetRole, number> = { member: 0, grown: 0, standby: 0 };
    const instances: SubsetSnapshot['instances'] = [];
    let rank = 0;
    for (const id of this.#order) {
      const role = this.#applied.get(id) ?? 'standby';
      counts[role]++;
      rank++;
      if (role === 'standby' && counts.standby > this.#config.size) continue;
      const url = this.#instances.get(id)?.url ?? id;
      instances.push({ id, url, role, reason: this.#reason(role, rank) });
    }
    return {
      mode: this.#config.mode,
      size: this.#config.size,
      callerId: this.#config.callerId,
      peers: this.#place,
      counts,
      instances,
    };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const off of this.#off.splice(0)) off();
    const peers = this.#config.peers;
    if (peers !== undefined && 'discovery' in peers) void peers.discovery.close?.();
    this.#events.clear();
  }

  #reason(role: SubsetRole, rank: number): string {
    const how =
      this.#deterministic() && this.#place !== undefined
        ? `dealt #${rank} to caller ${this.#place.index} of ${this.#place.count}`
        : `rendezvous rank ${rank} for caller ${JSON.stringify(this.#config.callerId)}`;
    if (role === 'grown') return `grown: ${this.#grownBecause}; ${how}`;
    if (role === 'standby') return `standby: ${how}`;
    return how;
  }

  #deterministic(): boolean {
    return this.#config.mode === 'deterministic';
  }

  #placeAmong(instances: readonly { id: string }[], self: string): void {
    const ids = [...new Set(instances.map((i) => i.id))].sort();
    const index = ids.indexOf(self);
    // Not (yet) registered among its peers: stays where it was, or random until placed.
    if (index < 0) return;
    this.setPeers({ index, count: ids.length });
  }

  /**
   * Orders instances by priority, then the local zone before others (so that a subset is chosen
   * within the zone preference, and growth spills to other zones only once the local one is
   * used up), then within each group by rendezvous rank or by the deterministic deal.
   */
  #reorder(): void {
    const groups = new Map<string, string[]>();
    const zone = this.#settings.localZone;
    for (const instance of this.#instances.values()) {
      const local = zone === undefined || instance.zone === zone ? 0 : 1;
      const key = `${String(instance.priority).padStart(3, '0')}:${local}`;
      let list = groups.get(key);
      if (list === undefined) {
        list = [];
        groups.set(key, list);
      }
      list.push(instance.id);
    }
    const order: string[] = [];
    const place = this.#deterministic() ? this.#place : undefined;
    for (const key of [...groups.keys()].sort()) {
      const ids = groups.get(key) as string[];
      const ranked =
        place === undefined
          ? rendezvousOrder(this.#config.callerId, ids)
          : deterministicOrder(place.index, this.#config.size, ids);
      for (const id of ranked) order.push(id);
    }
    this.#order = order;
  }

  #schedule(): void {
    if (this.#scheduled || this.#closed) return;
    this.#scheduled = true;
    // Not from inside the balancer's event (which may fire during a pick's maintenance).
    queueMicrotask(() => {
      this.#scheduled = false;
      if (!this.#closed) this.#select(false);
    });
  }

  /**
   * The first `size` in order are members; while fewer than the panic threshold of those taken are
   * available, the next in order are taken too. Recomputed from the same order each time, so
   * growing and shrinking back never reshuffle the members.
   */
  #select(force: boolean): void {
    const size = this.#config.size;
    const order = this.#order;
    const base = Math.min(size, order.length);
    const need = Math.ceil(this.#settings.panicThreshold * base);
    const next = new Map<string, SubsetRole>();
    let available = 0;
    let failedMembers = 0;
    for (let i = 0; i < order.length; i++) {
      const id = order[i] as string;
      if (i >= base && available >= need) break;
      next.set(id, i < base ? 'member' : 'grown');
      if (this.#failed.has(id)) {
        if (i < base) failedMembers++;
      } else available++;
    }
    const grown = next.size - base;
    this.#grownBecause = `${failedMembers} of ${base} members unavailable, below the panic threshold of ${Math.round(this.#settings.panicThreshold * 100)}%`;
    const added = [...next.keys()].filter((id) => !this.#applied.has(id));
    const removed = [...this.#applied.keys()].filter((id) => !next.has(id));
    const changed = added.length > 0 || removed.length > 0;
    this.#applied = next;
    if (!changed && !force) {
      return;
    }
    this.#apply([...next.keys()].map((id) => this.#instances.get(id) as Instance));
    if (changed) this.#events.emit('subset', { added, removed, grown });
  }
}

/**
 * Creates a subset filter for `balancer`: feed it discovery's snapshots with `update()` instead of
 * calling `balancer.update()`. `balancerOptions` are the balancer's own (its panic threshold
 * decides growth; its zone, the order). `apply`, when given, is called with each selection instead
 * of `balancer.update()`. Validates options (PICKET_INVALID_OPTIONS); starts nothing.
 */
export function createSubset(
  balancer: Balancer,
  options: SubsetOptions,
  balancerOptions?: BalancerOptions,
  apply?: (instances: readonly Instance[]) => void,
): Subset {
  assertBalancer(balancer, 'createSubset');
  return new SubsetFilter(
    balancer,
    parseSubsetOptions(options),
    parseBalancerOptions(balancerOptions),
    apply ?? ((instances) => balancer.update(instances)),
  );
}
