// What an open dashboard costs a client, in CPU per request: the same client with a dashboard
// serving it and one stream open, against it with no dashboard at all (the target: at
// most 1.02×). The stream is read by a child process, as a browser elsewhere would read it; the
// dashboard's own work (its attempt-channel subscriber, a snapshot and its JSON each second, the
// writes to the stream) is in this process, and counted. The dashboard is started before and
// closed after each of its turns, so that the other turns run with no subscriber on the attempt
// channel. Instances are in-process answerers (lib/answerers.ts): sockets would bury the
// difference in machine noise, and a cheaper request makes the ratio stricter, not looser.
// Mirrored rounds (A B C C B A) of fixed-length turns; each figure is the median over rounds of
// the paired ratio to the turn without a dashboard, beside an A/A control.
// Run: node --conditions=picket-source bench/dashboard-cost.ts [--quick]

import { spawn } from 'node:child_process';
import { createClient } from '@picket/http';
import { type Dashboard, dashboard } from '../src/dashboard.ts';
import { freePort } from '../test/servers/ports.ts';
import { installAnswerers } from './lib/answerers.ts';
import { median, ratioRows } from './lib/stats.ts';

installAnswerers();

const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 4 : 12;
// Long enough for two or three of the dashboard's ticks (one a second) in every turn.
const TURN_MS = quick ? 1500 : 2500;
const CONCURRENCY = 32;
const TARGET = 1.02;
const urls = ['http://127.0.0.1:1', 'http://127.0.0.1:2', 'http://127.0.0.1:3'];
const client = createClient({ service: 'bench', discovery: urls, metrics: false });

// The browser: holds /events open, reconnecting while no dashboard listens.
const port = await freePort();
const READER = `
const http = require('node:http');
let waiting = false;
const again = () => { if (waiting) return; waiting = true; setTimeout(() => { waiting = false; open(); }, 20); };
function open() {
  const req = http.get({ host: '127.0.0.1', port: Number(process.env.PORT), path: '/events', agent: false }, (res) => {
    res.on('data', () => {});
    res.once('end', again);
    res.once('close', again);
  });
  req.once('error', again);
}
open();
`;
const reader = spawn(process.execPath, ['-e', READER], {
  env: { ...process.env, PORT: String(port) },
  stdio: 'ignore',
});

const streamsOf = (board: Dashboard) => (board as unknown as { streams: number }).streams;

async function withStream(): Promise<Dashboard> {
  const board = await dashboard({ clients: [client], port });
  const deadline = performance.now() + 10_000;
  while (streamsOf(board) === 0) {
    if (performance.now() > deadline) throw new Error('the reader did not connect within 10 s');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return board;
}

interface Variant {
  name: string;
  dashboard: boolean;
}
const variants: Variant[] = [
  { name: 'no dashboard (baseline)', dashboard: false },
  { name: 'dashboard, one stream open', dashboard: true },
  { name: 'no dashboard again (A/A control)', dashboard: false },
];

/** CPU per request over one turn, ns. */
async function turn(v: Variant, ms = TURN_MS): Promise<number> {
  const board = v.dashboard ? await withStream() : undefined;
  let requests = 0;
  const end = performance.now() + ms;
  const cpu0 = process.cpuUsage();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < end) {
        const res = await client.request({ path: '/fast', method: 'GET' });
        await res.body.text();
        requests++;
      }
    }),
  );
  const cpu = process.cpuUsage(cpu0);
  await board?.close();
  return ((cpu.user + cpu.system) / requests) * 1000;
}

const samples = new Map<string, number[]>(variants.map((v) => [v.name, []]));
for (const v of variants) await turn(v, 1000);
for (let r = 0; r < ROUNDS; r++) {
  const got = new Map<string, number[]>();
  for (const v of [...variants, ...[...variants].reverse()]) {
    const ns = await turn(v, TURN_MS / 2);
    got.set(v.name, [...(got.get(v.name) ?? []), ns]);
  }
  for (const v of variants) samples.get(v.name)!.push(median(got.get(v.name)!));
}
reader.kill();
await client.close();

const rows = ratioRows(
  variants.map((v) => ({ name: v.name, target: v.dashboard ? TARGET : undefined })),
  samples,
);
console.table(rows);
console.log(JSON.stringify({ bench: 'dashboard-cost', rounds: ROUNDS, turnMs: TURN_MS, rows }));
