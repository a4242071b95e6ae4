// Hot-path cost of the balancer: ns per pick+release and young-generation GCs per million picks
// for each strategy from 10 to 10,000 instances, the heap each instance costs once the balancer
// has built its tables, and the time to apply a membership update (one instance added) at each size.
// Run: node --conditions=picket-source --expose-gc bench/core-pick.ts [--quick]

import { constants, type PerformanceEntry, PerformanceObserver } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { type Balancer, createBalancer, type Outcome, type StrategyName, seededRandom } from '@picket/core';

const quick = process.argv.includes('--quick');
const strategies: StrategyName[] = [
  'round-robin',
  'random',
  'least-request',
  'peak-ewma',
  'weighted-response-time',
  'ring-hash',
  'maglev',
];
const sizes = [10, 100, 1000, 10_000];
const picks = quick ? 300_000 : 2_000_000;

// Heap figures need a full collection before each reading; without --expose-gc, turn it on here.
const gc: () => void =
  (globalThis as { gc?: () => void }).gc ??
  (() => {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  })();

let scavenges = 0;
const gcObserver = new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    if (
      (entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind ===
      constants.NODE_PERFORMANCE_GC_MINOR
    ) {
      scavenges++;
    }
  }
});
gcObserver.observe({ entryTypes: ['gc'] });

/** GC entries are delivered asynchronously: give the observer a turn before reading the count. */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 20));
}

function records(n: number): string[] {
  return Array.from(
    { length: n },
    (_, i) => `http://10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:8080`,
  );
}

const ok: Outcome = { ok: true, latencyMs: 3, status: 200 };
const keys = Array.from({ length: 1024 }, (_, i) => `user-${i}`);

interface Row {
  strategy: string;
  instances: number;
  nsPerPick: number;
  scavengesPerMillion: number;
}

async function measure(strategy: StrategyName, n: number): Promise<Row> {
  const lb = createBalancer({ strategy, random: seededRandom(42), outlierDetection: false });
  lb.update(records(n));
  const hashed = strategy === 'ring-hash' || strategy === 'maglev';
  const ctx = { key: '' };
  // Warm up so the JIT settles and the steady state is what is measured.
  for (let i = 0; i < 200_000; i++) {
    if (hashed) ctx.key = keys[i & 1023] as string;
    lb.pick(hashed ? ctx : undefined).release(ok);
  }
  await settle();
  const gcBefore = scavenges;
  const start = process.hrtime.bigint();
  for (let i = 0; i < picks; i++) {
    if (hashed) ctx.key = keys[i & 1023] as string;
    lb.pick(hashed ? ctx : undefined).release(ok);
  }
  const elapsed = Number(process.hrtime.bigint() - start);
  await settle();
  return {
    strategy,
    instances: n,
    nsPerPick: Math.round(elapsed / picks),
    scavengesPerMillion: ((scavenges - gcBefore) / picks) * 1e6,
  };
}

/** Median of 5 (quick: 3) updates that add one instance to n − 1 (records parsed from URL strings each time). */
function updateCost(strategy: StrategyName, n: number): number {
  const list = records(n);
  const times: number[] = [];
  for (let round = 0; round < (quick ? 5 : 7); round++) {
    const lb = createBalancer({ strategy, random: seededRandom(round), outlierDetection: false });
    lb.update(list.slice(1));
    lb.pick().release(ok);
    const start = performance.now();
    lb.update(list);
    lb.pick().release(ok); // the rebuild happens on the first pick after an update
    // The first two rounds warm the JIT.
    if (round >= 2) times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] as number;
}

interface MemoryRow {
  strategy: string;
  instances: number;
  /** Heap used by the balancer (instances, strategy tables) per instance, bytes. */
  bytesPerInstance: number;
  totalKiB: number;
}

// The balancer being measured is held here and nowhere else: a local variable could be kept alive
// by an optimised frame into the next round and cancel that round's difference out.
const held: Balancer[] = [];

function build(strategy: StrategyName, list: readonly string[], seed: number): void {
  const lb = createBalancer({ strategy, random: seededRandom(seed), outlierDetection: false });
  lb.update(list);
  lb.pick().release(ok); // the first pick builds the strategy's tables
  held.push(lb);
}

/** Heap retained by a balancer holding `n` instances after its first pick built its tables. */
function memory(strategy: StrategyName, n: number): MemoryRow {
  const list = records(n);
  const samples: number[] = [];
  for (let round = 0; round < (quick ? 1 : 3); round++) {
    for (const lb of held.splice(0)) lb.close();
    gc();
    gc();
    const before = process.memoryUsage().heapUsed;
    build(strategy, list, round);
    gc();
    gc();
    samples.push(process.memoryUsage().heapUsed - before);
  }
  for (const lb of held.splice(0)) lb.close();
  samples.sort((a, b) => a - b);
  const bytes = samples[samples.length >> 1] as number;
  return {
    strategy,
    instances: n,
    bytesPerInstance: Math.round(bytes / n),
    totalKiB: Math.round(bytes / 1024),
  };
}

export async function runCorePick(): Promise<{
  picks: Row[];
  updateMs: Record<string, number>;
  updateMsBySize: Record<string, Record<string, number>>;
  memory: MemoryRow[];
}> {
  const rows: Row[] = [];
  for (const n of sizes) for (const s of strategies) rows.push(await measure(s, n));
  const updateMsBySize: Record<string, Record<string, number>> = {};
  for (const n of sizes) {
    const bySize: Record<string, number> = {};
    for (const s of strategies) bySize[s] = Number(updateCost(s, n).toFixed(3));
    updateMsBySize[n] = bySize;
  }
  gcObserver.disconnect();
  const mem: MemoryRow[] = [];
  for (const n of sizes) for (const s of strategies) mem.push(memory(s, n));
  // `updateMs`: the 10,000-instance update, as before (the report's targets apply to it).
  return { picks: rows, updateMs: updateMsBySize[10_000]!, updateMsBySize, memory: mem };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await runCorePick();
  console.table(result.picks);
  console.table(result.updateMsBySize);
  console.table(result.memory);
  console.log(JSON.stringify({ bench: 'core-pick', node: process.version, ...result }));
}
