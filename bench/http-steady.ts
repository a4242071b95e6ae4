// Steady-state cost of Picket's dispatcher against the floor and the appliance: three local
// instance processes, 32 concurrent callers, interleaved rounds of
//   raw      undici Pools, one per instance, with a hand-written round robin (the floor);
//   picket   client.request() through Picket's dispatcher (default strategy, breakers, retries);
//   haproxy  one undici Pool to HAProxy on loopback, keep-alive on both sides, round robin.
// Reports throughput, client CPU per request and p50 latency, and their ratios (per round, side
// by side, median over rounds; pooled figures too), then prints one JSON line.
// Run: node --conditions=picket-source bench/http-steady.ts [--quick] [--explore]
// (--explore adds Picket variants without breakers, with round robin, and bare, to find costs.)

import { type Client, type ClientOptions, createClient } from '@picket/http';
import { Pool } from 'undici';
import { spawnInstances } from '../test/fixtures/instances.ts';
import { startHaproxy } from './lib/proxies.ts';

const quick = process.argv.includes('--quick');
const CONCURRENCY = 32;
const ROUNDS = quick ? 3 : 9;
const ROUND_MS = quick ? 800 : 1500;
const WARMUP_MS = quick ? 500 : 1500;
const PATH = '/fast';

type Send = () => Promise<void>;

interface Sample {
  requests: number;
  cpuUs: number;
  wallMs: number;
  latencies: number[];
}

async function runFor(send: Send, ms: number): Promise<Sample> {
  const latencies: number[] = [];
  let requests = 0;
  const deadline = performance.now() + ms;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const worker = async () => {
    while (performance.now() < deadline) {
      const start = performance.now();
      await send();
      latencies.push(performance.now() - start);
      requests++;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { requests, cpuUs: cpu.user + cpu.system, wallMs, latencies };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function p50(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

async function main(): Promise<void> {
  const instances = await spawnInstances(3);
  const poolOptions = { connections: 128, keepAliveTimeout: 4000, pipelining: 1 };
  const pools = instances.map((i) => new Pool(i.url, poolOptions));
  let next = 0;
  const raw: Send = async () => {
    const pool = pools[next++ % pools.length]!;
    const res = await pool.request({ path: PATH, method: 'GET' });
    await res.body.text();
  };
  const client = createClient({ service: 'bench', discovery: instances.map((i) => i.url) });
  const picket: Send = async () => {
    const res = await client.request({ path: PATH });
    await res.body.text();
  };
  const haproxy = await startHaproxy(
    instances.map((i) => i.port),
    { probePath: PATH },
  );
  const viaProxy = new Pool(`http://127.0.0.1:${haproxy.port}`, poolOptions);
  const proxied: Send = async () => {
    const res = await viaProxy.request({ path: PATH, method: 'GET' });
    await res.body.text();
  };

  const variants: Record<string, Send> = { raw, picket, haproxy: proxied };
  // --explore: Picket's cost by part (strategy, breakers), to find what to optimise.
  const extra: Client[] = [];
  if (process.argv.includes('--explore')) {
    const make = (name: string, options: Partial<ClientOptions>) => {
      const c = createClient({ service: 'bench', discovery: instances.map((i) => i.url), ...options });
      extra.push(c);
      variants[name] = async () => {
        const res = await c.request({ path: PATH });
        await res.body.text();
      };
    };
    make('picket-rr', { strategy: 'round-robin' });
    make('picket-nobreaker', { breaker: false });
    make('picket-rr-bare', {
      strategy: 'round-robin',
      breaker: false,
      retry: false,
      outlierDetection: false,
    });
  }
  const totals: Record<string, Sample> = {};
  const perRound: Record<string, Sample[]> = {};
  for (const name of Object.keys(variants)) {
    await runFor(variants[name]!, WARMUP_MS);
    totals[name] = { requests: 0, cpuUs: 0, wallMs: 0, latencies: [] };
    perRound[name] = [];
  }
  for (let round = 0; round < ROUNDS; round++) {
    // Rotate the order so no variant always runs first or last in a round.
    const names = Object.keys(variants);
    const order = names.slice(round % names.length).concat(names.slice(0, round % names.length));
    for (const name of order) {
      const s = await runFor(variants[name]!, ROUND_MS);
      perRound[name]!.push(s);
      const t = totals[name]!;
      t.requests += s.requests;
      t.cpuUs += s.cpuUs;
      t.wallMs += s.wallMs;
      for (const l of s.latencies) t.latencies.push(l);
    }
  }
  // The machine's load drifts between rounds; ratios of variants measured side by side in the
  // same round, then the median over rounds, are what the targets are checked against.
  const paired = (a: string, b: string, f: (s: Sample) => number) =>
    Number(median(perRound[a]!.map((s, i) => f(s) / f(perRound[b]![i]!))).toFixed(3));
  const rps = (s: Sample) => s.requests / s.wallMs;
  const cpu = (s: Sample) => s.cpuUs / s.requests;
  const lat = (s: Sample) => p50(s.latencies);

  const summary: Record<string, { rps: number; cpuUsPerReq: number; p50Ms: number }> = {};
  for (const [name, t] of Object.entries(totals)) {
    summary[name] = {
      rps: Math.round((t.requests / t.wallMs) * 1000),
      cpuUsPerReq: Number((t.cpuUs / t.requests).toFixed(2)),
      p50Ms: Number(p50(t.latencies).toFixed(3)),
    };
  }
  const r = summary.raw!;
  const p = summary.picket!;
  const h = summary.haproxy!;
  const result = {
    bench: 'http-steady',
    concurrency: CONCURRENCY,
    rounds: ROUNDS,
    roundMs: ROUND_MS,
    ...summary,
    throughputVsRaw: paired('picket', 'raw', rps),
    cpuPerReqVsRaw: paired('picket', 'raw', cpu),
    throughputVsHaproxy: paired('picket', 'haproxy', rps),
    // The ceiling for the line above: the floor itself against HAProxy on this machine.
    rawThroughputVsHaproxy: paired('raw', 'haproxy', rps),
    p50OverheadVsRaw: Number((paired('picket', 'raw', lat) - 1).toFixed(3)),
    pooled: {
      throughputVsRaw: Number((p.rps / r.rps).toFixed(3)),
      cpuPerReqVsRaw: Number((p.cpuUsPerReq / r.cpuUsPerReq).toFixed(3)),
      throughputVsHaproxy: Number((p.rps / h.rps).toFixed(3)),
      p50OverheadVsRaw: Number((p.p50Ms / r.p50Ms - 1).toFixed(3)),
    },
    targets: { throughputVsRaw: 0.97, cpuPerReqVsRaw: 1.1, throughputVsHaproxy: 1.4, p50OverheadVsRaw: 0.05 },
  };
  for (const [name, v] of Object.entries(summary)) {
    if (name.startsWith('picket-'))
      console.log(`${name} ${v.rps} req/s  ${v.cpuUsPerReq} µs CPU/req  p50 ${v.p50Ms} ms`);
  }
  console.log(
    `raw     ${r.rps} req/s  ${r.cpuUsPerReq} µs CPU/req  p50 ${r.p50Ms} ms\n` +
      `picket  ${p.rps} req/s  ${p.cpuUsPerReq} µs CPU/req  p50 ${p.p50Ms} ms\n` +
      `haproxy ${h.rps} req/s  ${h.cpuUsPerReq} µs CPU/req  p50 ${h.p50Ms} ms`,
  );
  console.log(JSON.stringify(result));

  await client.close();
  await Promise.all(extra.map((c) => c.close()));
  await Promise.all([...pools.map((p) => p.close()), viaProxy.close()]);
  await haproxy.stop();
  await Promise.all(instances.map((i) => i.close()));
}

await main();
