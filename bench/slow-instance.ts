// One instance 50 ms slower than the other two: the share of requests each strategy sends it,
// and the latency callers see, at a light load (4 callers) and at the steady-state load (32).
// Every contender keeps its client across rounds (the balancer has learned the instances, as a
// long-running service's has); rounds interleave the contenders. Baseline: raw undici Pools with
// a hand-written round robin, which sends the slow instance a third whatever happens.
// Run: node --conditions=picket-source bench/slow-instance.ts [--quick]

import { STRATEGY_NAMES } from '@picket/core/internal';
import { spawnInstances } from '../test/fixtures/instances.ts';
import { type Contender, picket, rawRoundRobin } from './lib/contenders.ts';
import { figures, type RoundSample, runRounds } from './lib/rounds.ts';
import { median, round } from './lib/stats.ts';

const quick = process.argv.includes('--quick');
const LEVELS = [4, 32];
const DELAY_MS = 50;
const ROUNDS = quick ? 2 : 4;
const ROUND_MS = quick ? 500 : 1200;
const WARMUP_MS = quick ? 500 : 1500;
const PATH = '/work';

const instances = await spawnInstances(3);
const slow = instances[2]!;
await slow.set({ delayMs: DELAY_MS });
const urls = instances.map((i) => i.url);

const slowShare = (s: RoundSample): number => {
  const total = Object.values(s.byInstance).reduce((a, b) => a + b, 0);
  return (s.byInstance[slow.id] ?? 0) / total;
};

const levels = [];
for (const concurrency of LEVELS) {
  const contenders: Contender[] = [
    rawRoundRobin(urls, PATH),
    // Quick runs leave out the consistent-hashing strategies, which do not look at latency.
    ...STRATEGY_NAMES.filter((s) => !quick || (s !== 'ring-hash' && s !== 'maglev')).map((strategy) =>
      picket(strategy, urls, PATH),
    ),
  ];
  const samples = await runRounds(contenders, {
    rounds: ROUNDS,
    roundMs: ROUND_MS,
    warmupMs: WARMUP_MS,
    concurrency,
  });
  const results = figures(contenders, samples, contenders[0]!.name).map(({ curve, ...r }) => ({
    ...r,
    slowShare: round(median(samples.get(r.name)!.map(slowShare)), 4),
    curve,
  }));
  for (const c of contenders) await c.close();
  console.table(
    results.map((r) => ({
      setup: r.name,
      'slow share': r.slowShare,
      'req/s': r.rps,
      'p50 ms': r.p50Ms,
      'p99 ms': r.p99Ms,
      errors: r.errors,
    })),
  );
  levels.push({ concurrency, baseline: contenders[0]!.name, contenders: results });
}
await Promise.all(instances.map((i) => i.close()));

console.log(
  JSON.stringify({
    bench: 'slow-instance',
    instances: 3,
    slowDelayMs: DELAY_MS,
    rounds: ROUNDS,
    roundMs: ROUND_MS,
    levels,
  }),
);
