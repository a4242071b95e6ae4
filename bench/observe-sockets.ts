// What observing costs a client beside real sockets: three local instance processes, 32 callers,
// mirrored rounds of the same client with `metrics: false` (the baseline, and again as an A/A
// control that shows this run's noise), with the default (no OpenTelemetry SDK registered: the
// API's no-op meter), with the SDK's MeterProvider (in-memory reader), reading in-band load
// reports (from instances that answer the ask as loadReporter does by default, and from ones
// that send a report on every answer, unasked), and with Picket's diagnostics channels
// subscribed. Client CPU per request, paired ratio to the baseline (median over rounds).
// One more row is the SDK's own floor: the baseline client, with the bench itself making the same
// two record() calls Picket makes (the same histograms, the same attribute sets) on a second
// MeterProvider. The SDK hashes each call's attributes (sorted keys, JSON.stringify): what is left
// between Picket's SDK row and this one is Picket's part.
// bench/observe-cost.ts measures the same without sockets, where Picket's own work is all there
// is to see.
// Run: node --conditions=picket-source bench/observe-sockets.ts [--quick]

import diagnostics from 'node:diagnostics_channel';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { spawnInstances } from '../test/fixtures/instances.ts';
import { type Contender, picket } from './lib/contenders.ts';
import { cpuPerRequest, runRounds } from './lib/rounds.ts';
import { pairedRatio } from './lib/stats.ts';

const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 4 : 20;
const ROUND_MS = quick ? 600 : 800;
const PATH = '/fast';
const noop = () => {};

// /fast answers carry an in-band load report when the request asks for one (loadReporter's
// default: a client with loadReports asks each instance once per second), /fast-reported's every
// answer carries one (whose header the baseline, on /fast, does not receive or parse).
process.env.INSTANCE_LOAD_REPORT = '1';
const instances = await spawnInstances(3);
const urls = instances.map((i) => i.url);
const meterProvider = new MeterProvider({
  readers: [
    new PeriodicExportingMetricReader({
      exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE),
      exportIntervalMillis: 60_000,
    }),
  ],
});
const tracing = diagnostics.tracingChannel('picket:request');
const subscribers = { start: noop, end: noop, asyncStart: noop, asyncEnd: noop, error: noop };
let subscribed = false;
const channels = (on: boolean) => {
  if (on === subscribed) return;
  subscribed = on;
  if (on) {
    tracing.subscribe(subscribers);
    diagnostics.subscribe('picket:attempt:start', noop);
    diagnostics.subscribe('picket:attempt:end', noop);
  } else {
    tracing.unsubscribe(subscribers);
    diagnostics.unsubscribe('picket:attempt:start', noop);
    diagnostics.unsubscribe('picket:attempt:end', noop);
  }
};

// The HTTP client conventions' buckets, as Picket advises them.
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
const byId = new Map(instances.map((i) => [i.id, i.port]));
/** The baseline client, and after each call the two records Picket would make, made here. */
function sdkFloor(label: string): Contender {
  const inner = picket('peak-ewma', urls, PATH, { metrics: false }, label);
  const meter = new MeterProvider({
    readers: [
      new PeriodicExportingMetricReader({
        exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE),
        exportIntervalMillis: 60_000,
      }),
    ],
  }).getMeter('floor');
  const advice = { explicitBucketBoundaries: DURATION_BUCKETS };
  const attempts = meter.createHistogram('http.client.request.duration', { unit: 's', advice });
  const calls = meter.createHistogram('picket.client.request.duration', { unit: 's', advice });
  return {
    ...inner,
    async send(n) {
      const started = performance.now();
      const id = await inner.send(n);
      const seconds = (performance.now() - started) / 1000;
      const service = 'bench';
      attempts.record(seconds, {
        'picket.service': service,
        'http.request.method': 'GET',
        'server.address': '127.0.0.1',
        'server.port': byId.get(id ?? '') ?? 0,
        'http.response.status_code': 200,
      });
      calls.record(seconds, {
        'picket.service': service,
        'http.request.method': 'GET',
        'picket.attempts': 1,
        'http.response.status_code': 200,
      });
      return id;
    },
  };
}
const variants: Array<{ contender: Contender; target?: number }> = [
  { contender: picket('peak-ewma', urls, PATH, { metrics: false }, 'metrics: false (baseline)') },
  { contender: picket('peak-ewma', urls, PATH, { metrics: false }, 'metrics: false again (A/A control)') },
  { contender: picket('peak-ewma', urls, PATH, {}, 'default, no SDK registered'), target: 1.01 },
  {
    contender: picket(
      'peak-ewma',
      urls,
      PATH,
      { metrics: { meterProvider } },
      'OpenTelemetry SDK MeterProvider',
    ),
    target: 1.05,
  },
  { contender: sdkFloor("the SDK's floor: baseline + the same two record() calls, made by the bench") },
  {
    contender: picket(
      'peak-ewma',
      urls,
      PATH,
      { metrics: { meterProvider, attemptDuration: false } },
      'OpenTelemetry SDK MeterProvider, attemptDuration: false (one record per call)',
    ),
  },
  {
    contender: picket(
      'peak-ewma',
      urls,
      PATH,
      { metrics: false, loadReports: {} },
      'in-band load reports read (loadReports: {})',
    ),
    target: 1.02,
  },
  {
    contender: picket(
      'peak-ewma',
      urls,
      '/fast-reported',
      { metrics: false, loadReports: {} },
      'in-band load reports read, one on every answer (unasked)',
    ),
  },
  { contender: picket('peak-ewma', urls, PATH, { metrics: false }, 'diagnostics channels subscribed') },
];
const contenders = variants.map((v) => v.contender);
const samples = await runRounds(contenders, {
  rounds: ROUNDS,
  roundMs: ROUND_MS,
  warmupMs: quick ? 300 : 1000,
  concurrency: 32,
  mirrored: true,
  before: async (c) => channels(c.name === 'diagnostics channels subscribed'),
});
channels(false);
const base = samples.get(contenders[0]!.name)!;
const rows = variants.map(({ contender, target }) => {
  const s = samples.get(contender.name)!;
  const ratio = pairedRatio(s, base, cpuPerRequest);
  return {
    setup: contender.name,
    nsPerRequest: Math.round((s.reduce((a, x) => a + cpuPerRequest(x), 0) / s.length) * 1000),
    ratio,
    target,
    withinTarget: target === undefined ? undefined : ratio <= target,
  };
});
console.table(rows);
const sdk = samples.get('OpenTelemetry SDK MeterProvider')!;
const floor = samples.get(contenders.find((c) => c.name.startsWith("the SDK's floor"))!.name)!;
const beyondFloor = pairedRatio(sdk, floor, cpuPerRequest);
console.log(`Picket with the SDK against the SDK's floor: ${beyondFloor}`);
await Promise.all(contenders.map((c) => c.close()));
await meterProvider.shutdown();
await Promise.all(instances.map((i) => i.close()));
console.log(
  JSON.stringify({ bench: 'observe-sockets', rounds: ROUNDS, perRound: ROUND_MS, rows, beyondFloor }),
);
