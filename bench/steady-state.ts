// Steady state, three local instance processes, 32 concurrent callers, every setup in the same
// run, interleaved: raw undici Pools with a hand-written round robin (the floor and the
// baseline), undici's BalancedPool, HAProxy and nginx in front, and Picket with each strategy.
// Reports throughput, client CPU per request (process.cpuUsage deltas), the proxies' own CPU
// per request, p50/p99 latency, ratios against the floor, and the latency distributions.
// Run: node --conditions=picket-source bench/steady-state.ts [--quick] [--rounds=N] [--round-ms=M]

import { STRATEGY_NAMES } from '@picket/core/internal';
import { spawnInstances } from '../test/fixtures/instances.ts';
import { balancedPool, type Contender, picket, rawRoundRobin, viaProxy } from './lib/contenders.ts';
import { haproxyTool, nginxTool, startHaproxy, startNginx } from './lib/proxies.ts';
import { cpuPerRequest, figures, rps, runRounds } from './lib/rounds.ts';
import { pairedRatio } from './lib/stats.ts';

const quick = process.argv.includes('--quick');
const CONCURRENCY = 32;
// Many short mirrored rounds, as http-steady: with eleven setups a round takes a while, and the
// machine drifts within it; a mirrored round (A B C … C B A) cancels drift that is linear over it.
const flag = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const ROUNDS = Number(flag('rounds') ?? (quick ? 3 : 20));
const ROUND_MS = Number(flag('round-ms') ?? (quick ? 400 : 400));
const WARMUP_MS = quick ? 300 : 1000;
const PATH = '/fast';

const instances = await spawnInstances(3);
const urls = instances.map((i) => i.url);
const ports = instances.map((i) => i.port);
const skipped: string[] = [];
const contenders: Contender[] = [rawRoundRobin(urls, PATH), balancedPool(urls, PATH)];
if (haproxyTool().available) contenders.push(viaProxy(await startHaproxy(ports), PATH));
else skipped.push('haproxy (not installed)');
if (nginxTool().available) contenders.push(viaProxy(await startNginx(ports), PATH));
else skipped.push('nginx (not installed)');
for (const strategy of STRATEGY_NAMES) contenders.push(picket(strategy, urls, PATH));

const samples = await runRounds(contenders, {
  mirrored: true,
  rounds: ROUNDS,
  roundMs: ROUND_MS,
  warmupMs: WARMUP_MS,
  concurrency: CONCURRENCY,
});
const results = figures(contenders, samples, contenders[0]!.name);
// Picket's default against every other setup, paired within rounds like the ratios above.
const DEFAULT = 'picket peak-ewma';
const defaultVs: Record<string, { rps: number; cpuUsPerReq: number }> = {};
for (const c of contenders) {
  if (c.kind === 'picket') continue;
  defaultVs[c.name] = {
    rps: pairedRatio(samples.get(DEFAULT)!, samples.get(c.name)!, rps),
    cpuUsPerReq: pairedRatio(samples.get(DEFAULT)!, samples.get(c.name)!, cpuPerRequest),
  };
}
for (const c of contenders) await c.close();
await Promise.all(instances.map((i) => i.close()));

console.table(
  results.map((r) => ({
    setup: r.name,
    'req/s': r.rps,
    'CPU µs/req': r.cpuUsPerReq,
    'proxy µs/req': r.proxyCpuUsPerReq ?? '',
    'p50 ms': r.p50Ms,
    'p99 ms': r.p99Ms,
    'rps ×': r.vsBaseline.rps,
    'cpu ×': r.vsBaseline.cpuUsPerReq,
    errors: r.errors,
  })),
);
console.log(
  JSON.stringify({
    bench: 'steady-state',
    instances: 3,
    concurrency: CONCURRENCY,
    rounds: ROUNDS,
    roundMs: ROUND_MS,
    path: PATH,
    baseline: contenders[0]!.name,
    skipped,
    defaultVs,
    contenders: results,
  }),
);
