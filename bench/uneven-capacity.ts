// Uneven capacity: four instances, one of which does the same work at half the speed (double the
// service time under the same concurrency cap of its own, so half the capacity), every response
// carrying the instance's own load report (`endpoint-load-metrics`, as loadReporter's in-band
// reports). Round robin, peak-EWMA and weighted round robin: throughput, p50/p99, and each
// instance's share of the requests against its share of the capacity. The goal: weighted round
// robin within 10% of the capacity-proportional shares, with a p99 no worse than peak-EWMA's.
// Instances are in-process timer-driven servers (bench/lib/capacity-server.ts): their capacity is
// exact and does not depend on the CPU the load generator leaves them.
// Run: node --conditions=picket-source bench/uneven-capacity.ts [--quick]

import { weightedRoundRobin } from '@picket/core';
import { capacityServer } from './lib/capacity-server.ts';
import { type Contender, picket } from './lib/contenders.ts';
import { figures, type RoundSample, runRounds } from './lib/rounds.ts';
import { median, round } from './lib/stats.ts';

const quick = process.argv.includes('--quick');
const SLOTS = 4;
const SERVICE_MS = 10;
// Below the total capacity's concurrency (16 slots), and well above it (queues build).
const LEVELS = [12, 32];
const ROUNDS = quick ? 2 : 4;
const ROUND_MS = quick ? 1000 : 2000;
const WARMUP_MS = quick ? 1500 : 3000;
const PATH = '/work';

const instances = await Promise.all([
  capacityServer('fast-1', SLOTS, SERVICE_MS),
  capacityServer('fast-2', SLOTS, SERVICE_MS),
  capacityServer('fast-3', SLOTS, SERVICE_MS),
  capacityServer('slow', SLOTS, 2 * SERVICE_MS),
]);
const urls = instances.map((i) => i.url);
/** Requests per second each instance can answer, and its share of the total. */
const capacity = Object.fromEntries(
  instances.map((i) => [i.id, (SLOTS * 1000) / (i.id === 'slow' ? 2 * SERVICE_MS : SERVICE_MS)]),
);
const totalCapacity = Object.values(capacity).reduce((a, b) => a + b, 0);
const capacityShare = Object.fromEntries(Object.entries(capacity).map(([id, c]) => [id, c / totalCapacity]));

const shareOf = (s: RoundSample, id: string): number => {
  const total = Object.values(s.byInstance).reduce((a, b) => a + b, 0);
  return (s.byInstance[id] ?? 0) / total;
};

const levels = [];
for (const concurrency of LEVELS) {
  const contenders: Contender[] = [
    picket('round-robin', urls, PATH),
    picket('peak-ewma', urls, PATH),
    // A 1 s blackout instead of 10 s, so that weights are in use after the warm-up: the bench
    // measures the steady state, not the first seconds of a client.
    picket('weighted-round-robin', urls, PATH, { strategy: weightedRoundRobin({ blackoutPeriodMs: 1000 }) }),
  ];
  const samples = await runRounds(contenders, {
    rounds: ROUNDS,
    roundMs: ROUND_MS,
    warmupMs: WARMUP_MS,
    concurrency,
  });
  const results = figures(contenders, samples, contenders[0]!.name).map(({ curve, ...r }) => {
    const shares = Object.fromEntries(
      instances.map((i) => [i.id, round(median(samples.get(r.name)!.map((s) => shareOf(s, i.id))), 4)]),
    );
    // The largest relative distance from the capacity-proportional share, over the instances.
    const offCapacity = Math.max(
      ...instances.map((i) => Math.abs(shares[i.id]! - capacityShare[i.id]!) / capacityShare[i.id]!),
    );
    return { ...r, shares, offCapacity: round(offCapacity, 4), curve };
  });
  for (const c of contenders) await c.close();
  console.table(
    results.map((r) => ({
      setup: r.name,
      'req/s': r.rps,
      'p50 ms': r.p50Ms,
      'p99 ms': r.p99Ms,
      ...r.shares,
      'off capacity': r.offCapacity,
      errors: r.errors,
    })),
  );
  levels.push({ concurrency, contenders: results });
}
await Promise.all(instances.map((i) => i.close()));

console.log(
  JSON.stringify({
    bench: 'uneven-capacity',
    slots: SLOTS,
    serviceMs: SERVICE_MS,
    capacity,
    capacityShare,
    rounds: ROUNDS,
    roundMs: ROUND_MS,
    levels,
  }),
);
