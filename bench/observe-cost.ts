// What observing costs a client, in CPU per request, against the same client with
// `metrics: false`: the default with no OpenTelemetry SDK registered (the API's no-op meter), the
// SDK's MeterProvider with an in-memory reader, reading in-band load reports (every answer carries
// one), and Picket's diagnostics channels with subscribers. Sockets would bury a few hundred
// nanoseconds in ±5% machine noise, so every instance's pool is an in-process answerer replying
// on the next event-loop turn (as bench/dispatch-overhead.ts does). Each round runs the setups in
// a shuffled order and then backward, with a collection before each turn: a fixed order would
// hand each setup its predecessor's garbage (the SDK's most of all) every round. `metrics: false`
// runs twice, as an A/A control that shows the run's noise. Each figure is the median over rounds
// of the paired ratio to `metrics: false`.
// Run: node --conditions=picket-source --expose-gc bench/observe-cost.ts [--quick]

import diagnostics from 'node:diagnostics_channel';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { seededRandom } from '@picket/core';
import { type ClientOptions, createClient } from '@picket/http';
import { installAnswerers } from './lib/answerers.ts';
import { shuffled } from './lib/rounds.ts';
import { ratioRows } from './lib/stats.ts';

installAnswerers();
const noop = () => {};
const gc = (globalThis as { gc?: () => void }).gc;

const quick = process.argv.includes('--quick');
const rounds = quick ? 6 : 20;
const PER_ROUND = quick ? 10_000 : 30_000;
const CONCURRENCY = 32;
const urls = ['http://127.0.0.1:1', 'http://127.0.0.1:2', 'http://127.0.0.1:3'];
const client = (options: Partial<ClientOptions>) =>
  createClient({ service: 'bench', discovery: urls, ...options });

const reader = new PeriodicExportingMetricReader({
  exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE),
  exportIntervalMillis: 60_000,
});
const meterProvider = new MeterProvider({ readers: [reader] });

// Subscribers that do nothing: the cost of building and publishing the messages.
const tracing = diagnostics.tracingChannel('picket:request');
const subscribers = { start: noop, end: noop, asyncStart: noop, asyncEnd: noop, error: noop };

interface Variant {
  name: string;
  target: number | undefined;
  client: ReturnType<typeof createClient>;
  before?: () => void;
  after?: () => void;
}
const variants: Variant[] = [
  { name: 'metrics: false (baseline)', target: undefined, client: client({ metrics: false }) },
  { name: 'metrics: false again (A/A control)', target: undefined, client: client({ metrics: false }) },
  { name: 'default, no SDK registered (no-op meter)', target: 1.01, client: client({}) },
  {
    name: 'OpenTelemetry SDK MeterProvider, in-memory reader',
    target: 1.05,
    client: client({ metrics: { meterProvider } }),
  },
  {
    name: 'in-band load reports read (loadReports: {})',
    target: 1.02,
    client: client({ metrics: false, loadReports: {} }),
  },
  {
    name: 'diagnostics channels subscribed',
    target: undefined,
    client: client({ metrics: false }),
    before: () => {
      tracing.subscribe(subscribers);
      diagnostics.subscribe('picket:attempt:start', noop);
      diagnostics.subscribe('picket:attempt:end', noop);
    },
    after: () => {
      tracing.unsubscribe(subscribers);
      diagnostics.unsubscribe('picket:attempt:start', noop);
      diagnostics.unsubscribe('picket:attempt:end', noop);
    },
  },
];

/** CPU per request over one turn of `requests` requests. */
async function nsPerRequest(v: Variant, requests: number): Promise<number> {
  gc?.();
  v.before?.();
  let left = requests;
  const cpu0 = process.cpuUsage();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (left-- > 0) {
        const res = await v.client.request({ path: '/fast', method: 'GET' });
        await res.body.text();
      }
    }),
  );
  const cpu = process.cpuUsage(cpu0);
  v.after?.();
  return ((cpu.user + cpu.system) / requests) * 1000;
}

const samples = new Map<string, number[]>(variants.map((v) => [v.name, []]));
for (const v of variants) await nsPerRequest(v, PER_ROUND);
const random = seededRandom(0x5eed);
for (let r = 0; r < rounds; r++) {
  const order = shuffled(variants, random);
  const ns = new Map<string, number>();
  for (const v of [...order, ...[...order].reverse()])
    ns.set(v.name, (ns.get(v.name) ?? 0) + (await nsPerRequest(v, PER_ROUND / 2)) / 2);
  for (const v of variants) samples.get(v.name)!.push(ns.get(v.name)!);
}
const rows = ratioRows(variants, samples);
console.table(rows);
await Promise.all(variants.map((v) => v.client.close()));
await meterProvider.shutdown();
console.log(JSON.stringify({ bench: 'observe-cost', rounds, perRound: PER_ROUND, rows }));
