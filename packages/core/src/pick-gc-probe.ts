// Counts the young-generation GCs (scavenges) that `pairs` pick() + release() pairs cause on one
// balancer, in a process of its own so that nothing else allocates or warms the heap. Run by
// hot-path.test.ts and bench/pick-gc.ts; not part of the package.
// Run: node --conditions=picket-source packages/core/src/pick-gc-probe.ts <strategy> <instances> <pairs> [key] [bounded]
// `bounded` gives ring-hash and maglev a hashBalanceFactor of 1.25. Weighted round robin gets a
// load report for every instance between chunks, no blackout and 100 ms weight updates, so that
// its weighted schedule and its updates run as in a service receiving in-band reports.
// Prints one JSON line: { strategy, instances, pairs, keyed, bounded, scavenges }.

import { constants, type PerformanceEntry, PerformanceObserver } from 'node:perf_hooks';
import { setImmediate } from 'node:timers/promises';
import { createBalancer } from './balancer.ts';
import type { LoadReport } from './load-report.ts';
import type { Outcome, PickContext } from './outcome.ts';
import { STRATEGY_NAMES } from './strategies/index.ts';
import { maglev } from './strategies/maglev.ts';
import { ringHash } from './strategies/ring-hash.ts';
import { weightedRoundRobin } from './strategies/weighted-round-robin.ts';
import type { Strategy } from './strategy.ts';
import type { StrategyName } from './types.ts';

const [strategy, size, count, ...flags] = process.argv.slice(2);
if (!(STRATEGY_NAMES as readonly string[]).includes(strategy ?? '')) {
  throw new Error(`Expected a strategy name (${STRATEGY_NAMES.join(', ')}), got ${strategy}`);
}
const instances = Number(size ?? 100);
const pairs = Number(count ?? 1_000_000);
const keyed = flags.includes('key');
const bounded = flags.includes('bounded');
// The clock advances between chunks (the default coarse clock is re-read after a turn of the
// event loop), so EWMA decays and stamps are exercised as in a running service.
const CHUNK = 10_000;

let scavenges = 0;
const observer = new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    const kind = (entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind;
    if (kind === constants.NODE_PERFORMANCE_GC_MINOR) scavenges++;
  }
});
observer.observe({ entryTypes: ['gc'] });

function strategyOf(name: string): StrategyName | Strategy {
  if (bounded && name === 'ring-hash') return ringHash({ hashBalanceFactor: 1.25 });
  if (bounded && name === 'maglev') return maglev({ hashBalanceFactor: 1.25 });
  if (name === 'weighted-round-robin')
    return weightedRoundRobin({ blackoutPeriodMs: 0, weightUpdatePeriodMs: 100 });
  return name as StrategyName;
}

const lb = createBalancer({ strategy: strategyOf(strategy!) });
const ids = Array.from({ length: instances }, (_, i) => `http://10.0.${i >> 8}.${i & 255}:8080`);
lb.update(ids);
const reports: LoadReport[] = Array.from({ length: 16 }, (_, i) => ({
  cpuUtilization: 0.2 + i * 0.03,
  rps: 100 + i * 7.5,
  eps: i % 4 === 0 ? 0.5 : 0,
}));
const reporting = strategy === 'weighted-round-robin';
// Preallocated outcomes with fractional latencies, as a dispatcher's timings are.
const outcomes: Outcome[] = Array.from({ length: 64 }, (_, i) => ({
  ok: true,
  status: 200,
  latencyMs: 0.25 + (i % 17) * 0.137,
}));
const keys = Array.from({ length: 1024 }, (_, i) => `user-${i}`);
const ctx: PickContext = { key: '' };

async function run(total: number): Promise<void> {
  for (let done = 0; done < total; done += CHUNK) {
    for (let i = 0; i < CHUNK; i++) {
      if (keyed) ctx.key = keys[i & 1023]!;
      lb.pick(keyed ? ctx : undefined).release(outcomes[i & 63]!);
    }
    if (reporting) for (let i = 0; i < instances; i++) lb.reportLoad(ids[i]!, reports[i & 15]!);
    await setImmediate();
  }
}

/** GC entries arrive asynchronously: a few turns of the event loop deliver them. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await setImmediate();
  await new Promise((resolve) => setTimeout(resolve, 20));
}

// Warm-up: the JIT settles and the young generation grows to its working size.
await run(300_000);
await settle();
const before = scavenges;
await run(pairs);
await settle();
observer.disconnect();
console.log(JSON.stringify({ strategy, instances, pairs, keyed, bounded, scavenges: scavenges - before }));
