// The @picket/http issue's own check: three local instance processes, 32 concurrent callers,
// interleaved rounds of
//   raw      undici Pools, one per instance, with a hand-written round robin (the floor);
//   picket   client.request() through Picket's dispatcher (default strategy, breakers, retries);
//   haproxy  one undici Pool to HAProxy on loopback, keep-alive on both sides, round robin.
// Run twice, in two CPU layouts (lib/pin.ts): `shared` (the scheduler puts client, instances and
// proxy on any core) and, where taskset and two cores exist, `pinned` (instances on their own
// core as on their own hosts; client and proxy on the client's core, as a local proxy runs).
// Reports throughput, client CPU per request and p50 latency per layout, ratios taken side by
// side within each round (median over rounds), and an A/A control (the floor against a second
// copy of itself) that shows how far this run's ratios move with nothing changed; then prints
// one JSON line.
// Run: node --conditions=picket-source bench/http-steady.ts [--quick] [--explore]
//      [--rounds=N] [--round-ms=M] [--layout=shared|pinned]
// (--explore adds Picket with round robin, bare, and the thinnest possible dispatcher layer
// over the same pools, to find costs.)

import { spawnInstances } from '../test/fixtures/instances.ts';
import { type Contender, passThrough, picket, rawRoundRobin, viaProxy } from './lib/contenders.ts';
import { canPin, type Layout, place } from './lib/pin.ts';
import { startHaproxy } from './lib/proxies.ts';
import { cpuPerRequest, figures, p50, rps, runRounds } from './lib/rounds.ts';
import { pairedRatio } from './lib/stats.ts';

const quick = process.argv.includes('--quick');
const explore = process.argv.includes('--explore');
const CONCURRENCY = 32;
const flag = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
// Many short mirrored rounds (lib/rounds.ts): the machine's drift is slow next to a 300 ms turn.
const ROUNDS = Number(flag('rounds') ?? (quick ? 3 : 30));
const ROUND_MS = Number(flag('round-ms') ?? (quick ? 800 : 600));
const WARMUP_MS = quick ? 500 : 1500;
const PATH = '/fast';
const TARGETS = {
  throughputVsRaw: 0.97,
  cpuPerReqVsRaw: 1.1,
  throughputVsHaproxy: 1.4,
  p50OverheadVsRaw: 0.05,
};

const instances = await spawnInstances(3);
const urls = instances.map((i) => i.url);
const haproxy = await startHaproxy(
  instances.map((i) => i.port),
  { probePath: PATH },
);
const raw = rawRoundRobin(urls, PATH);
const pk = picket('peak-ewma', urls, PATH, {}, 'picket');
const proxied = viaProxy(haproxy, PATH, 'haproxy');
// The floor again, under another name: its ratio to the floor is the measurement's own noise.
const control = { ...rawRoundRobin(urls, PATH), name: 'raw again (A/A control)' };
const contenders: Contender[] = [raw, pk, proxied, control];
if (explore) {
  contenders.push(
    picket('round-robin', urls, PATH, {}, 'picket round-robin'),
    passThrough(urls, PATH),
    picket(
      'round-robin',
      urls,
      PATH,
      { breaker: false, retry: false, outlierDetection: false },
      'picket round-robin bare',
    ),
  );
}

interface LayoutResult {
  layout: Layout;
  rows: Record<string, { rps: number; cpuUsPerReq: number; p50Ms: number }>;
  throughputVsRaw: number;
  cpuPerReqVsRaw: number;
  throughputVsHaproxy: number;
  /** The ceiling of the line above: the floor itself against HAProxy in the same layout. */
  rawThroughputVsHaproxy: number;
  p50OverheadVsRaw: number;
  /** The floor against itself: how far this run's ratios move with nothing changed. */
  controlThroughputVsRaw: number;
  controlCpuPerReqVsRaw: number;
}

async function measure(layout: Layout): Promise<LayoutResult> {
  place(layout, { client: process.pid, instances: instances.map((i) => i.pid), proxies: [haproxy.pid] });
  const samples = await runRounds(contenders, {
    rounds: ROUNDS,
    roundMs: ROUND_MS,
    warmupMs: WARMUP_MS,
    concurrency: CONCURRENCY,
    mirrored: true,
  });
  const rows: LayoutResult['rows'] = {};
  for (const f of figures(contenders, samples, raw.name))
    rows[f.name] = { rps: f.rps, cpuUsPerReq: f.cpuUsPerReq, p50Ms: f.p50Ms };
  const s = (c: Contender) => samples.get(c.name)!;
  return {
    layout,
    rows,
    throughputVsRaw: pairedRatio(s(pk), s(raw), rps),
    cpuPerReqVsRaw: pairedRatio(s(pk), s(raw), cpuPerRequest),
    throughputVsHaproxy: pairedRatio(s(pk), s(proxied), rps),
    rawThroughputVsHaproxy: pairedRatio(s(raw), s(proxied), rps),
    p50OverheadVsRaw: Number((pairedRatio(s(pk), s(raw), p50) - 1).toFixed(3)),
    controlThroughputVsRaw: pairedRatio(s(control), s(raw), rps),
    controlCpuPerReqVsRaw: pairedRatio(s(control), s(raw), cpuPerRequest),
  };
}

const only = flag('layout');
const layouts: LayoutResult[] = [];
if (only !== 'pinned') layouts.push(await measure('shared'));
if (only !== 'shared') {
  if (canPin()) layouts.push(await measure('pinned'));
  else console.error('pinned layout skipped: needs taskset (util-linux) and two cores');
}

for (const c of contenders) await c.close();
await Promise.all(instances.map((i) => i.close()));

for (const l of layouts) {
  console.log(`\n${l.layout} layout`);
  console.table(l.rows);
  console.log(
    `picket vs raw: throughput ${l.throughputVsRaw}× (≥ ${TARGETS.throughputVsRaw}), CPU/req ${l.cpuPerReqVsRaw}× (≤ ${TARGETS.cpuPerReqVsRaw}), p50 ${(l.p50OverheadVsRaw * 100).toFixed(1)}% (≤ ${TARGETS.p50OverheadVsRaw * 100}%)\n` +
      `picket vs haproxy: ${l.throughputVsHaproxy}× (≥ ${TARGETS.throughputVsHaproxy}); raw vs haproxy ${l.rawThroughputVsHaproxy}×\n` +
      `A/A control (raw vs raw): throughput ${l.controlThroughputVsRaw}×, CPU/req ${l.controlCpuPerReqVsRaw}×`,
  );
}
console.log(
  JSON.stringify({
    bench: 'http-steady',
    instances: instances.length,
    concurrency: CONCURRENCY,
    rounds: ROUNDS,
    roundMs: ROUND_MS,
    layouts,
    targets: TARGETS,
  }),
);
