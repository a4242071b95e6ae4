// `npm start`: the example microservices under a scripted failure scenario. Three inventory
// processes, an orders process calling them through Picket, and a load generator calling orders.
// One inventory instance is killed, one hung, one drained, then they come back — while a live
// table shows what orders' Picket client sees. Ends with a summary; exit 1 if any request failed.
//
//   node --conditions=picket-source examples/microservices/run.ts [--registry file|etcd] [--forever] [--fast]

import { enableCompileCache } from 'node:module';
import { parseArgs } from 'node:util';
import { type Column, createScreen, formatMs, renderTable, stateColor } from '../../src/cli/table.ts';
import { findBinary, freePort } from '../shared/system.ts';
import { etcdRegistry, fileRegistry, Instance, killAll, Orders, type Registry } from './fleet.ts';
import { LoadGenerator } from './load.ts';
import type { InstanceRow } from './protocol.ts';
import { describeIncident, FAST, type Incident, NORMAL, runScenario, View } from './scenario.ts';

const USAGE = `Usage: npm start -- [--registry file|etcd] [--rate N] [--forever] [--fast]

  --registry file   instances listed in a JSON file that orders watches (default)
  --registry etcd   a real etcd on loopback ports; instances register themselves (needs etcd)
  --rate N          requests per second from the load generator to orders (default 80)
  --forever         repeat the scenario, rotating the roles, until Ctrl-C
  --fast            shorter phases (the test suite uses it)`;

function usageError(message: string): never {
  console.error(`${message}\n\n${USAGE}`);
  process.exit(2);
}

function parseOptions() {
  let values: { registry: string; rate: string; forever: boolean; fast: boolean; help: boolean };
  try {
    ({ values } = parseArgs({
      options: {
        registry: { type: 'string', default: 'file' },
        rate: { type: 'string', default: '80' },
        forever: { type: 'boolean', default: false },
        fast: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (error) {
    return usageError((error as Error).message);
  }
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  if (values.registry !== 'file' && values.registry !== 'etcd') {
    usageError(`--registry must be file or etcd, got ${JSON.stringify(values.registry)}`);
  }
  const rate = Number(values.rate);
  if (!(rate >= 1 && rate <= 1000))
    usageError(`--rate must be a number from 1 to 1000, got ${JSON.stringify(values.rate)}`);
  return { registry: values.registry, rate, forever: values.forever, fast: values.fast };
}

const args = parseOptions();
const rate = args.rate;

// Restarted instances start in a fraction of the time when they reuse compiled code.
const cache = enableCompileCache();
if (cache.directory !== undefined) process.env.NODE_COMPILE_CACHE = cache.directory;

// Every child process dies with this one, however it ends.
process.on('exit', killAll);
const stop = new AbortController();
let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stop.signal.aborted) process.exit(130); // a second Ctrl-C: leave at once
    interrupted = !args.forever;
    stop.abort();
  });
}
process.on('uncaughtException', (error) => {
  console.error('The demo failed:', error);
  killAll();
  process.exit(1);
});
process.on('unhandledRejection', (error) => {
  console.error('The demo failed:', error);
  killAll();
  process.exit(1);
});

const started = Date.now();
const screen = createScreen(process.stdout, process.stdout.isTTY === true);
const color = screen.live && process.env.NO_COLOR === undefined;
const clock = (at = Date.now()) => `t+${((at - started) / 1000).toFixed(1).padStart(5)}s`;
let phase = 'starting';

const view = new View(({ id, from, to, reason }) => {
  // A new instance waits for its first check, which decides at once: not worth a line each.
  if ((from === 'unknown' && to === 'healthy') || to === 'unknown') return;
  screen.log(`${clock()}  ${id}: ${from} → ${to}${reason ? `  (${reason.slice(0, 120)})` : ''}`);
});

// ── Set-up ────────────────────────────────────────────────────────────────────────────────
const names = ['inventory-1', 'inventory-2', 'inventory-3'];
const instances = await Promise.all(names.map(async (name) => new Instance(name, await freePort())));
let registry: Registry;
if (args.registry === 'etcd' && findBinary('etcd') !== undefined) {
  screen.log('Starting etcd on loopback ports…');
  registry = await etcdRegistry();
} else {
  if (args.registry === 'etcd') {
    screen.log('etcd is not installed (Debian package etcd-server): using the file registry instead.');
  }
  registry = await fileRegistry(instances);
}
screen.log(`Discovery: ${registry.description}`);
await Promise.all(instances.map((i) => i.start(registry)));
const orders = await Orders.start(registry, (message) => view.onMessage(message));
const load = new LoadGenerator(`http://127.0.0.1:${orders.port}`, rate);
load.start();
screen.log(
  `${instances.length} inventory instances and orders (port ${orders.port}) are up; load: ${rate} req/s to orders, half through fetch, half through axios.`,
);

// ── The live table ────────────────────────────────────────────────────────────────────────
interface Row {
  instance: Instance;
  seen: InstanceRow | undefined;
}
const columns: Column<Row>[] = [
  { title: 'INSTANCE', value: (r) => r.instance.name },
  { title: 'PORT', value: (r) => String(r.instance.port) },
  { title: 'PROCESS', value: (r) => r.instance.state },
  {
    title: 'PICKET SEES',
    value: (r) => view.state(r.instance.name) ?? 'left',
    color: (r) => stateColor(view.state(r.instance.name) ?? 'left'),
  },
  { title: 'REQ/S', align: 'right', value: (r) => (r.seen === undefined ? '-' : r.seen.rps.toFixed(0)) },
  { title: 'P50', align: 'right', value: (r) => formatMs(r.seen?.p50) },
  { title: 'P99', align: 'right', value: (r) => formatMs(r.seen?.p99) },
  { title: 'IN-FLIGHT', align: 'right', value: (r) => String(r.seen?.inFlight ?? '-') },
  { title: 'EJECTIONS', align: 'right', value: (r) => String(r.seen?.ejections ?? '-') },
  { title: 'RETRIED', align: 'right', value: (r) => String(r.seen?.retried ?? '-') },
  { title: 'WHY', value: (r) => (r.seen?.reason ?? '').slice(0, 60) },
];

function table(): string[] {
  const rows = instances.map((instance) => ({
    instance,
    seen: view.rows.find((r) => r.id === instance.name),
  }));
  const { p50, p99 } = load.takeLatency();
  const t = load.totals;
  return [
    `Picket demo: orders → inventory ×3   discovery: ${registry.description}   ${clock()}`,
    `phase: ${phase}`,
    ...renderTable(columns, rows, color),
    `load → orders: ${t.sent} sent, ${t.ok} ok, failed: ${t.failed}, in flight ${load.inFlight}   ` +
      `end-to-end p50 ${formatMs(p50)} p99 ${formatMs(p99)}   retries: ${view.retries}`,
  ];
}

let lastDraw = 0;
const redraw = setInterval(
  () => {
    if (screen.live || Date.now() - lastDraw >= 2000) {
      lastDraw = Date.now();
      screen.draw(table());
    }
  },
  screen.live ? 250 : 500,
);

// ── The scenario ──────────────────────────────────────────────────────────────────────────
const incidents: Incident[] = [];
const timings = args.fast ? FAST : NORMAL;
for (let round = 0; !stop.signal.aborted && (round === 0 || args.forever); round++) {
  incidents.push(
    ...(await runScenario({
      instances,
      registry,
      view,
      timings,
      round,
      signal: stop.signal,
      phase: (text) => {
        phase = round > 0 ? `round ${round + 1}: ${text}` : text;
        screen.log(`${clock()}  ── ${text}`);
        lastDraw = 0;
      },
      log: (text) => screen.log(`${clock()}  ${text}`),
    })),
  );
}

// ── Summary and clean-up ──────────────────────────────────────────────────────────────────
phase = 'stopping the load';
await load.stop();
clearInterval(redraw);
screen.draw(table());
screen.close();
await orders.stop();
killAll();
await registry.close();

const t = load.totals;
const lost = incidents.filter((i) => i.clearedAt !== undefined && i.backAt === undefined);
const lines = [
  '',
  'Summary',
  `  total requests: ${t.sent} (${t.byRoute.fetch} through fetch, ${t.byRoute.axios} through axios)`,
  `  failed: ${t.failed}`,
  `  retries: ${view.retries} (attempts that failed and were sent again to another instance)`,
  `  took ${((Date.now() - started) / 1000).toFixed(1)} s; failover and recovery, as orders' Picket client saw them:`,
  ...incidents.map((i) => `    ${describeIncident(i)}`),
];
if (t.failures.length > 0) lines.push('  first failures:', ...t.failures.map((f) => `    ${f}`));
if (interrupted) lines.push('  (interrupted before the scenario finished)');
const ok = t.failed === 0 && lost.length === 0;
lines.push(
  '',
  ok
    ? 'Zero failed requests: every failure was absorbed by health checks, outlier detection and retries.'
    : `${t.failed} failed request(s)${lost.length > 0 ? `, ${lost.length} instance(s) not back` : ''}.`,
);
console.log(lines.join('\n'));
process.exit(ok ? 0 : 1);
