// Overload: offered load 1.5× what the instances can serve, open loop. Three instances, each with
// a fixed capacity (a concurrency cap and a service time, as a thread pool or a database behind
// it would have: requests beyond the cap queue inside the server). Two setups side by side:
//   unbounded  Picket's defaults, no shedding: every call is queued somewhere;
//   bounded    loadReporter({ shed }) on each instance (503 + picket-not-processed beyond its
//              cap plus a short queue) and the client's `limits` (a small pending queue per
//              instance): what cannot be served is refused at once.
// Reported per setup: goodput against capacity, latency of the calls answered, how refused calls
// end (how fast, with which code), and the longest any call waited.
// Run: node --conditions=picket-source bench/overload.ts [--quick]

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadReporter } from '@picket/health';
import { type Client, createClient } from '@picket/http';
import { openLoop } from './lib/load.ts';
import { percentileOf, round, sortedCopy } from './lib/stats.ts';

const quick = process.argv.includes('--quick');
const INSTANCES = 3;
const CONCURRENT = 8; // requests each instance works on at once
const SERVICE_MS = 20; // each one's service time
const CAPACITY = (INSTANCES * CONCURRENT * 1000) / SERVICE_MS; // requests per second, all instances
const RATE = Math.round(CAPACITY * 1.5);
const MS = quick ? 3000 : 8000;
/** A caller's patience: an answer later than this does not count as goodput. */
const PATIENCE_MS = 1000;

interface Instance {
  url: string;
  close(): Promise<void>;
}

/** An instance that works on CONCURRENT requests at once and queues the rest, in arrival order. */
async function start(shed: boolean): Promise<Instance> {
  const reporter = loadReporter(
    shed ? { shed: { maxInFlight: CONCURRENT * 2, retryAfterSeconds: 0 }, inBand: false } : { inBand: false },
  );
  let busy = 0;
  const queue: Array<() => void> = [];
  const next = () => {
    const run = queue.shift();
    if (run !== undefined) run();
  };
  const server: Server = createServer((req, res) =>
    reporter(req, res, () => {
      const work = () => {
        busy++;
        setTimeout(() => {
          busy--;
          res.end('ok');
          next();
        }, SERVICE_MS);
      };
      if (busy < CONCURRENT) work();
      else queue.push(work);
    }),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      reporter.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

async function run(name: string, shed: boolean, options: Record<string, unknown>) {
  const instances = await Promise.all(Array.from({ length: INSTANCES }, () => start(shed)));
  const client: Client = createClient({
    service: 'overload',
    discovery: instances.map((i) => i.url),
    // Calls that waited this long have failed their callers anyway.
    timeout: 10_000,
    ...options,
  });
  const arrivals = await openLoop(
    async () => {
      const res = await client.request({ path: '/work' });
      await res.body.dump();
      if (res.statusCode !== 200)
        throw Object.assign(new Error(`status ${res.statusCode}`), { code: `HTTP_${res.statusCode}` });
      return undefined;
    },
    { rate: RATE, ms: MS, maxInFlight: 100_000 },
  );
  await client.destroy();
  await Promise.all(instances.map((i) => i.close()));
  const ok = arrivals.filter((a) => a.ok);
  const inTime = ok.filter((a) => a.latencyMs <= PATIENCE_MS);
  const refused = arrivals.filter((a) => !a.ok);
  const okLatency = sortedCopy(Float64Array.from(ok.map((a) => a.latencyMs)));
  const refusedLatency = sortedCopy(Float64Array.from(refused.map((a) => a.latencyMs)));
  const codes: Record<string, number> = {};
  for (const a of refused) codes[a.code ?? 'unknown'] = (codes[a.code ?? 'unknown'] ?? 0) + 1;
  const seconds = MS / 1000;
  return {
    setup: name,
    offered: arrivals.length,
    goodputPerSecond: round(inTime.length / seconds, 0),
    goodputVsCapacity: round(inTime.length / seconds / CAPACITY, 3),
    answeredLate: ok.length - inTime.length,
    p50Ms: ok.length === 0 ? undefined : round(percentileOf(okLatency, 50), 1),
    p99Ms: ok.length === 0 ? undefined : round(percentileOf(okLatency, 99), 1),
    refused: refused.length,
    refusedP99Ms: refused.length === 0 ? undefined : round(percentileOf(refusedLatency, 99), 2),
    refusedCodes: codes,
    longestWaitMs: round(Math.max(0, ...arrivals.map((a) => a.latencyMs)), 0),
  };
}

const results = [
  await run('unbounded (defaults, no shedding)', false, {}),
  await run('bounded (shedding + limits)', true, {
    // Connections for what an instance works on and its short queue (its shed limit), and a
    // small queue in the client behind them: beyond that, the client refuses at once.
    pool: { connections: CONCURRENT * 2 },
    limits: { maxPendingPerInstance: CONCURRENT / 2 },
    retry: { retries: 1, budget: { percent: 20 } },
  }),
];
console.table(
  results.map(({ refusedCodes, ...r }) => ({ ...r, refusedCodes: JSON.stringify(refusedCodes) })),
);
console.log(
  JSON.stringify({
    bench: 'overload',
    capacityPerSecond: CAPACITY,
    offeredPerSecond: RATE,
    ms: MS,
    patienceMs: PATIENCE_MS,
    targets: { refusedP99Ms: 5, goodputVsCapacity: 0.9 },
    results,
  }),
);
