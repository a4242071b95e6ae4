// The layers around a strategy: priority groups (active/backup with Envoy's overprovisioning
// spill-over), zone preference within a level, and the panic threshold. Built anew whenever
// membership or state changes; `pick` only reads what is built here.

import type { Endpoint } from './endpoint.ts';
import type { Picker, Strategy, StrategyContext } from './strategy.ts';

export interface LevelSettings {
  overprovisioningFactor: number;
  /** Fraction 0..1; 0 turns panic off. */
  panicThreshold: number;
  localZone: string | undefined;
}

/** One priority level: its pickers and its share of traffic. */
export class Level {
  readonly priority: number;
  /** Cumulative load up to and including this level, 0..1 (for one random draw). */
  cumulativeLoad = 0;
  load = 0;
  panic = false;
  availableShare = 0;
  /** Probability of using the local-zone picker; 1 when zones are off. */
  localLoad = 1;
  /** All candidates of the level (or every instance in panic). */
  readonly main: Picker<Endpoint>;
  /** Local-zone and other-zone candidates, when zone preference applies. */
  readonly local: Picker<Endpoint>;
  readonly remote: Picker<Endpoint>;
  zoned = false;
  hasCandidates = false;

  constructor(priority: number, strategy: Strategy, ctx: StrategyContext) {
    this.priority = priority;
    this.main = ownPicker(strategy, ctx);
    this.local = ownPicker(strategy, ctx);
    this.remote = ownPicker(strategy, ctx);
  }
}

/**
 * A strategy's picker, typed over the balancer's records. Sound: a picker is only ever given the
 * balancer's endpoints, so the one it returns is one of them (a strategy sees them read-only).
 */
function ownPicker(strategy: Strategy, ctx: StrategyContext): Picker<Endpoint> {
  return strategy.create(ctx) as Picker<Endpoint>;
}

/**
 * Rebuilds `levels` (reusing Level objects by priority) from the current members.
 * Returns the levels in priority order, loads set.
 */
export function buildLevels(
  members: readonly Endpoint[],
  previous: ReadonlyMap<number, Level>,
  settings: LevelSettings,
  strategy: Strategy,
  ctx: StrategyContext,
  now: number,
): Level[] {
  const byPriority = new Map<number, Endpoint[]>();
  for (const e of members) {
    if (e.removed) continue;
    const p = e.instance.priority;
    let list = byPriority.get(p);
    if (list === undefined) {
      list = [];
      byPriority.set(p, list);
    }
    list.push(e);
  }
  const priorities = [...byPriority.keys()].sort((a, b) => a - b);
  const levels: Level[] = [];
  const health: number[] = [];
  let totalHealth = 0;
  for (const p of priorities) {
    const all = byPriority.get(p) ?? [];
    const level = previous.get(p) ?? new Level(p, strategy, ctx);
    const available = all.filter((e) => e.pickableAt(now));
    level.availableShare = all.length === 0 ? 0 : available.length / all.length;
    const h = Math.min(1, level.availableShare * settings.overprovisioningFactor);
    health.push(h);
    totalHealth += h;
    levels.push(level);
  }

  // Envoy's priority load: each level takes what its health allows; the rest spills down. When
  // the levels together cannot carry 100%, loads are normalised and thin levels may panic.
  let remaining = 1;
  const degraded = totalHealth < 1;
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i] as Level;
    const h = health[i] ?? 0;
    if (degraded) level.load = totalHealth > 0 ? h / totalHealth : i === 0 ? 1 : 0;
    else {
      level.load = Math.min(h, remaining);
      remaining -= level.load;
    }
    level.panic =
      degraded &&
      settings.panicThreshold > 0 &&
      level.availableShare < settings.panicThreshold &&
      level.load > 0;
  }
  if (degraded && totalHealth === 0 && settings.panicThreshold === 0) {
    for (const level of levels) level.load = 0;
  }

  let cumulative = 0;
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i] as Level;
    const all = byPriority.get(level.priority) ?? [];
    cumulative += level.load;
    level.cumulativeLoad = cumulative;
    fillLevel(level, all, settings, now);
  }
  return levels;
}

function fillLevel(level: Level, all: readonly Endpoint[], settings: LevelSettings, now: number): void {
  let candidates: Endpoint[];
  if (level.panic) {
    candidates = all.slice();
  } else {
    const available = all.filter((e) => e.pickableAt(now));
    // Instances whose health is not yet known are used only when no known-healthy one is.
    const known = available.filter((e) => e.unknownBits === 0);
    candidates = known.length > 0 ? known : available;
  }
  level.hasCandidates = candidates.length > 0;
  level.main.rebuild(candidates);
  level.zoned = false;
  level.localLoad = 1;
  const zone = settings.localZone;
  if (zone === undefined || level.panic) return;
  const local = candidates.filter((e) => e.instance.zone === zone);
  const remote = candidates.filter((e) => e.instance.zone !== zone);
  if (local.length === 0 || remote.length === 0) return;
  const localTotal = all.filter((e) => e.instance.zone === zone).length;
  // The local zone keeps all traffic while it could carry it with headroom; below that, the
  // share it cannot carry spills to the other zones.
  level.localLoad = Math.min(1, (local.length / localTotal) * settings.overprovisioningFactor);
  level.zoned = true;
  level.local.rebuild(local);
  level.remote.rebuild(remote);
}
