// The Linkerd experiment ("Beyond Round Robin: Load Balancing for Latency", linkerd.io, March
// 2016) scaled to this machine: 11 instances (three processes, several ports each), traffic at a
// fixed rate (open loop, so a slow instance cannot slow the arrivals), a 1 s client timeout, and
// halfway through one instance turns 2 s slow. Success rate and latency per strategy, in three
// setups: the strategy alone (no retries, breakers or ejection: what Linkerd compared), Picket's
// defaults without retries, and Picket's defaults with retries (perTryTimeout 300 ms).
// Run: node --conditions=picket-source bench/linkerd.ts [--quick]

import type { StrategyName } from '@picket/core';
import { type ClientOptions, createClient } from 'picket';
import { startFleet } from './lib/fleet.ts';
import { openLoop } from './lib/load.ts';
import { median, round, summarize } from './lib/stats.ts';

const quick = process.argv.includes('--quick');
const INSTANCES = 11;
const RATE = quick ? 300 : 400;
const RUN_MS = quick ? 3000 : 5000;
const ROUNDS = quick ? 1 : 2;
const SLOW_MS = 2000;
const TIMEOUT_MS = 1000;
const strategies: StrategyName[] = quick
  ? ['round-robin', 'least-request', 'peak-ewma']
  : ['round-robin', 'random', 'least-request', 'peak-ewma', 'weighted-response-time'];

const allSetups: { name: string; options: Partial<ClientOptions> }[] = [
  {
    name: 'strategy alone',
    options: { timeout: TIMEOUT_MS, retry: false, breaker: false, outlierDetection: false },
  },
  { name: 'defaults, no retries', options: { timeout: TIMEOUT_MS, retry: false } },
  { name: 'defaults with retries', options: { timeout: TIMEOUT_MS, perTryTimeout: 300 } },
];
// Quick runs keep the two ends: the strategy alone (Linkerd's comparison) and Picket as shipped.
const setups = quick ? [allSetups[0]!, allSetups[2]!] : allSetups;

/** Linkerd's published success rates for the same experiment. */
const LINKERD = { 'round-robin': 0.95, 'least-request': 0.99, 'peak-ewma': 0.999 } as const;

interface Run {
  requests: number;
  successRate: number;
  /** Success rate of the requests sent after the instance turned slow. */
  slowHalfSuccessRate: number;
  latency: ReturnType<typeof summarize>;
  errors: Record<string, number>;
}

const fleet = await startFleet(INSTANCES, 3);
const urls = fleet.instances.map((i) => i.url);
const slow = fleet.instances[INSTANCES - 1]!;

async function once(strategy: StrategyName, options: Partial<ClientOptions>): Promise<Run> {
  await slow.setDelay(0);
  const client = createClient({ service: 'linkerd', discovery: urls, strategy, ...options });
  let turned = false;
  const arrivals = await openLoop(
    async () => {
      const res = await client.request({ path: '/' });
      await res.body.text();
      return String(res.headers['x-instance']);
    },
    {
      rate: RATE,
      ms: RUN_MS,
      onTick(elapsed) {
        if (!turned && elapsed >= RUN_MS / 2) {
          turned = true;
          void slow.setDelay(SLOW_MS);
        }
      },
    },
  );
  await client.close();
  await slow.setDelay(0);
  const ok = arrivals.filter((a) => a.ok);
  const late = arrivals.filter((a) => a.at >= RUN_MS / 2);
  const errors: Record<string, number> = {};
  for (const a of arrivals) if (!a.ok) errors[a.code!] = (errors[a.code!] ?? 0) + 1;
  return {
    requests: arrivals.length,
    successRate: ok.length / arrivals.length,
    slowHalfSuccessRate: late.filter((a) => a.ok).length / late.length,
    latency: summarize(ok.map((a) => a.latencyMs)),
    errors,
  };
}

const runs = new Map<string, Run[]>();
const key = (setup: string, strategy: string) => `${setup}\u0000${strategy}`;
for (let r = 0; r < ROUNDS; r++) {
  for (const setup of setups) {
    const order = strategies.slice(r % strategies.length).concat(strategies.slice(0, r % strategies.length));
    for (const strategy of order) {
      const run = await once(strategy, setup.options);
      const k = key(setup.name, strategy);
      runs.set(k, [...(runs.get(k) ?? []), run]);
      console.log(
        `${setup.name.padEnd(22)} ${strategy.padEnd(24)} success ${(run.successRate * 100).toFixed(2)}%  p99 ${run.latency.p99Ms} ms`,
      );
    }
  }
}
await fleet.close();

const results = setups.flatMap((setup) =>
  strategies.map((strategy) => {
    const rs = runs.get(key(setup.name, strategy))!;
    const med = (f: (r: Run) => number) => round(median(rs.map(f)), 5);
    const errors: Record<string, number> = {};
    for (const r of rs) for (const [c, n] of Object.entries(r.errors)) errors[c] = (errors[c] ?? 0) + n;
    return {
      setup: setup.name,
      strategy,
      requests: rs.reduce((n, r) => n + r.requests, 0),
      successRate: med((r) => r.successRate),
      slowHalfSuccessRate: med((r) => r.slowHalfSuccessRate),
      p50Ms: med((r) => r.latency.p50Ms),
      p90Ms: med((r) => r.latency.p90Ms),
      p99Ms: med((r) => r.latency.p99Ms),
      p999Ms: med((r) => r.latency.p999Ms),
      maxMs: med((r) => r.latency.maxMs),
      errors,
      linkerd: LINKERD[strategy as keyof typeof LINKERD],
    };
  }),
);
console.log(
  JSON.stringify({
    bench: 'linkerd',
    instances: INSTANCES,
    processes: 3,
    ratePerSecond: RATE,
    runMs: RUN_MS,
    rounds: ROUNDS,
    slowMs: SLOW_MS,
    timeoutMs: TIMEOUT_MS,
    setups: setups.map((s) => ({ name: s.name, options: s.options })),
    linkerdSource: 'https://linkerd.io/2016/03/16/beyond-round-robin-load-balancing-for-latency/',
    results,
  }),
);
