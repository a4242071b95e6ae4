// Hot-path cost of the balancer: ns per pick+release and young-generation GCs per million picks
// for each strategy at 100 and 10,000 instances, and the time to apply a 10,000-instance update.
// Run: node --conditions=picket-source bench/core-pick.ts [--quick]

import { constants, type PerformanceEntry, PerformanceObserver } from 'node:perf_hooks';
import { createBalancer, type Outcome, type StrategyName, seededRandom } from '@picket/core';

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
const sizes = [100, 10_000];
const picks = quick ? 300_000 : 2_000_000;

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

/** Median of 5 updates that add one instance to 9,999 (records parsed from URL strings each time). */
function updateCost(strategy: StrategyName, n: number): number {
  const list = records(n);
  const times: number[] = [];
  for (let round = 0; round < 7; round++) {
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

export async function runCorePick(): Promise<{ picks: Row[]; updateMs: Record<string, number> }> {
  const rows: Row[] = [];
  for (const n of sizes) for (const s of strategies) rows.push(await measure(s, n));
  const updateMs: Record<string, number> = {};
  for (const s of strategies) updateMs[s] = Number(updateCost(s, 10_000).toFixed(2));
  gcObserver.disconnect();
  return { picks: rows, updateMs };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await runCorePick();
  console.table(result.picks);
  console.table(result.updateMs);
  console.log(JSON.stringify({ bench: 'core-pick', node: process.version, ...result }));
}
