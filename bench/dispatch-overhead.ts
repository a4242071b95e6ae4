// Picket's own CPU per request, without sockets: a diagnostic for work on the dispatcher's hot
// path, where the steady-state benchmarks (tens of µs per request, ±5% machine noise) cannot
// resolve a few hundred nanoseconds. Every instance's pool is replaced by an in-process
// answerer that replies on the next event-loop turn with a small 200 response, and the same
// answerers serve undici's `request` directly (the floor). Interleaved rounds; the figure is the
// median over rounds of the paired difference, ns per request.
// It patches PoolManager.prototype.slot (a benchmark's licence: `npm run bench` runs each file
// in a process of its own).
// Run: node --conditions=picket-source bench/dispatch-overhead.ts [--rounds=N]

import { type ClientOptions, createClient } from '@picket/http';
import { installAnswerers } from './lib/answerers.ts';
import { median } from './lib/stats.ts';

const answerers = installAnswerers();

const quick = process.argv.includes('--quick');
const rounds = Number(process.argv.find((a) => a.startsWith('--rounds='))?.split('=')[1] ?? (quick ? 5 : 15));
const PER_ROUND = 30_000;
const CONCURRENCY = 32;
const urls = ['http://127.0.0.1:1', 'http://127.0.0.1:2', 'http://127.0.0.1:3'];
const client = (options: Partial<ClientOptions>) =>
  createClient({ service: 'bench', discovery: urls, ...options });
const clients = {
  default: client({}),
  'round-robin, no breakers, retries or outlier detection': client({
    strategy: 'round-robin',
    breaker: false,
    retry: false,
    outlierDetection: false,
  }),
};

let next = 0;
const variants: Record<string, () => Promise<void>> = {
  'undici request (floor)': async () => {
    const res = await answerers[next++ % answerers.length]!.request({ path: '/fast', method: 'GET' });
    await res.body.text();
  },
};
for (const [name, c] of Object.entries(clients)) {
  variants[`picket ${name}`] = async () => {
    const res = await c.request({ path: '/fast', method: 'GET' });
    await res.body.text();
  };
}

async function nsPerRequest(send: () => Promise<void>): Promise<number> {
  let left = PER_ROUND;
  const cpu0 = process.cpuUsage();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (left-- > 0) await send();
    }),
  );
  const cpu = process.cpuUsage(cpu0);
  return ((cpu.user + cpu.system) / PER_ROUND) * 1000;
}

const names = Object.keys(variants);
const samples = new Map<string, number[]>(names.map((n) => [n, []]));
for (const n of names) await nsPerRequest(variants[n]!);
for (let r = 0; r < rounds; r++) {
  const order = r % 2 === 0 ? names : [...names].reverse();
  for (const n of order) samples.get(n)!.push(await nsPerRequest(variants[n]!));
}
const floor = samples.get(names[0]!)!;
const rows = names.map((n) => {
  const s = samples.get(n)!;
  return {
    setup: n,
    'ns/request': Math.round(median(s)),
    'over the floor, ns (paired median)': Math.round(median(s.map((v, i) => v - floor[i]!))),
  };
});
console.table(rows);
await Promise.all(Object.values(clients).map((c) => c.close()));
console.log(JSON.stringify({ bench: 'dispatch-overhead', rounds, perRound: PER_ROUND, rows }));
