// Subsetting for real, on loopback: 12 caller processes (lib/subset-caller.ts), each a Picket client
// that health-checks what it uses every 500 ms and sends 40 requests a second in turn, over 40
// instance servers (lib/fleet-server.ts, 10 ports in each of 4 processes) that count the sockets
// they accept, the callers behind them (`x-caller`) and the health checks they answer. Three runs,
// each with fresh callers: deterministic subsets of 10 (caller k is `peers: { index: k, count: 12 }`),
// random subsets of 10, and no subsetting. Target (issue 19): with deterministic subsets every
// instance has 12 × 10 / 40 = 3 callers (± 1), and the health checks it answers per interval are
// bounded by its callers; without, 12 callers and 12 checks per interval on every instance.
//
//   node --conditions=picket-source bench/subsetting-loopback.ts [--save]
//
// About a minute; not in `npm run bench`'s list. Prints a Markdown table and one JSON line; with
// --save, also writes the result to bench/results/by-hand/, from which `npm run bench` renders its
// section of RESULTS.md. Exits 1 when the deterministic run misses the target.

import { type ChildProcess, fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { SubsetOptions } from 'picket';
import { type InstanceCounts, killAll, startFleet } from './lib/fleet.ts';
import { type LoopbackResult, loopbackTable } from './lib/report-subsetting.ts';
import { spread } from './lib/stats.ts';

const CALLERS = 12;
const INSTANCES = 40;
const SIZE = 10;
const CHECK_MS = 500;
/** Health checks are counted over this window, once every caller is up and checked. */
const WINDOW_MS = 4000;
const RATE = 40;
const CALLER = fileURLToPath(new URL('./lib/subset-caller.ts', import.meta.url));

interface Run {
  name: string;
  subset: (caller: number) => SubsetOptions | null;
}

const RUNS: Run[] = [
  {
    name: `deterministic, size ${SIZE}`,
    subset: (k) => ({ size: SIZE, mode: 'deterministic', peers: { index: k, count: CALLERS } }),
  },
  { name: `random, size ${SIZE}`, subset: (k) => ({ size: SIZE, callerId: `orders-${k}` }) },
  { name: 'none', subset: () => null },
];

function startCaller(k: number, urls: string[], subset: SubsetOptions | null): ChildProcess {
  const config = { caller: `c${k}`, urls, subset, checkMs: CHECK_MS, rate: RATE };
  return fork(CALLER, [], {
    env: { ...process.env, SUBSET_CALLER: JSON.stringify(config) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}

function message<T>(child: ChildProcess, type: string, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no '${type}' from a caller in ${timeoutMs} ms`)),
      timeoutMs,
    );
    const onMessage = (m: { type?: string }) => {
      if (m.type !== type) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve(m as T);
    };
    child.on('message', onMessage);
  });
}

async function measure(run: Run, fleet: Awaited<ReturnType<typeof startFleet>>) {
  const urls = fleet.instances.map((i) => i.url);
  await fleet.reset();
  const callers = Array.from({ length: CALLERS }, (_, k) => startCaller(k, urls, run.subset(k)));
  try {
    await Promise.all(callers.map((c) => message(c, 'ready', 120_000)));
    // Every caller's pools are open by now; checks are counted over whole intervals from here.
    await sleep(CHECK_MS);
    const before = await fleet.counts();
    await sleep(WINDOW_MS);
    const after = await fleet.counts();
    const stopped = await Promise.all(
      callers.map((c) => {
        const done = message<{ used: string[]; sent: number; failed: number }>(c, 'stopped', 30_000);
        c.send({ cmd: 'stop' });
        return done;
      }),
    );
    return summarize(run, fleet.instances, before, after, stopped);
  } finally {
    await killAll(callers);
  }
}

function summarize(
  run: Run,
  instances: readonly { id: string; url: string }[],
  before: Map<string, InstanceCounts>,
  after: Map<string, InstanceCounts>,
  stopped: { used: string[]; sent: number; failed: number }[],
) {
  const intervals = WINDOW_MS / CHECK_MS;
  const usedBy = new Map<string, number>();
  for (const s of stopped) for (const url of s.used) usedBy.set(url, (usedBy.get(url) ?? 0) + 1);
  const rows = instances.map((i) => {
    const a = after.get(i.id) as InstanceCounts;
    const b = before.get(i.id) as InstanceCounts;
    const checks = (a.checks - b.checks) / intervals;
    return {
      id: i.id,
      callers: a.callers.length,
      usedBy: usedBy.get(i.url) ?? 0,
      sockets: a.accepted,
      open: a.open,
      checksPerInterval: checks,
      // Each caller checks each instance it uses once an interval; a window's edges may catch one more.
      checksPerCaller: a.callers.length === 0 ? 0 : checks / a.callers.length,
    };
  });
  const callers = spread(rows.map((r) => r.callers));
  const expected = (CALLERS * (run.subset(0)?.size ?? INSTANCES)) / INSTANCES;
  return {
    run: run.name,
    expectedCallers: expected,
    callers,
    // Callers that reported using the instance agree with the callers it saw.
    agree: rows.every((r) => r.callers === r.usedBy),
    sockets: spread(rows.map((r) => r.sockets)),
    open: spread(rows.map((r) => r.open)),
    checksPerInterval: spread(rows.map((r) => r.checksPerInterval)),
    checksPerCaller: spread(rows.map((r) => r.checksPerCaller)),
    withinOne: rows.every((r) => Math.abs(r.callers - expected) <= 1),
    sent: stopped.reduce((n, s) => n + s.sent, 0),
    failed: stopped.reduce((n, s) => n + s.failed, 0),
    perInstance: rows,
  };
}

const started = performance.now();
const fleet = await startFleet(INSTANCES, 4);
const results: Awaited<ReturnType<typeof measure>>[] = [];
try {
  for (const run of RUNS) results.push(await measure(run, fleet));
} finally {
  await fleet.close();
}

const seconds = (performance.now() - started) / 1000;
console.log(loopbackTable(results));
console.log(
  `\n${CALLERS} caller processes × ${INSTANCES} instances, checks every ${CHECK_MS} ms counted over ${WINDOW_MS} ms, ${RATE} requests/s per caller; ${seconds.toFixed(0)} s.`,
);
const result: LoopbackResult & { bench: string } = {
  bench: 'subsetting-loopback',
  callers: CALLERS,
  instances: INSTANCES,
  checkMs: CHECK_MS,
  windowMs: WINDOW_MS,
  rate: RATE,
  seconds,
  date: new Date().toISOString(),
  results: results.map(({ perInstance, ...r }) => r),
};
console.log(JSON.stringify(result));
if (process.argv.includes('--save')) {
  const dir = fileURLToPath(new URL('./results/by-hand/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}subsetting-loopback.json`, `${JSON.stringify(result, null, 2)}\n`);
}
const deterministic = results[0];
const bounded = (r: (typeof results)[number]) => r.checksPerCaller.max <= 1 + CHECK_MS / WINDOW_MS;
if (
  deterministic === undefined ||
  !deterministic.withinOne ||
  !deterministic.agree ||
  !bounded(deterministic)
) {
  console.error('The deterministic run missed its target: see the table.');
  process.exitCode = 1;
}
