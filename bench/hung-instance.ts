// A hung instance under closed-loop load: three instance processes, one SIGSTOPped for a while
// (it keeps its connections but answers nothing, as a deadlock, a GC spiral or a half-open path
// would) and then SIGCONTed. Counts the calls that waited for it: those in flight there when it
// stopped (nothing can save them without a timeout) and those a strategy sent it while it was
// frozen (what a strategy can avoid). A pick counted in flight at the stop may already have its
// answer in the client's socket buffer, so fewer than those may wait. Each setup runs as is and
// with the client's event loop stalled 20 ms in every 100 (a loaded machine: the answers that
// arrive meanwhile are measured slow, which the peak-EWMA believes at once and forgets over
// seconds). Every trial gets a fresh client; trials interleave the strategies.
// Then one legitimately long call (?delay=) on an otherwise healthy instance at light load: the
// share of the other calls that instance still gets meanwhile, against its share before.
// Run: node --conditions=picket-source bench/hung-instance.ts [--quick]

import type { StrategyName } from '@picket/core';
import { type Client, createClient } from 'picket';
import { spawnInstances } from '../test/fixtures/instances.ts';
import { median, round } from './lib/stats.ts';

const quick = process.argv.includes('--quick');
const TRIALS = quick ? 3 : 5;
const CALLERS = 12;
const WARMUP_MS = 1500;
const HANG_MS = quick ? 3000 : 8000;
const LONG_MS = quick ? 3000 : 10_000;
const LONG_CALLERS = 4;
const STALL_MS = 20;
const STALL_EVERY_MS = 100;
const PATH = '/work';
const STRATEGIES: StrategyName[] = ['peak-ewma', 'least-request', 'round-robin'];

const instances = await spawnInstances(3);
const urls = instances.map((i) => i.url);
const frozen = instances[1]!;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `concurrency` callers until `stop()`; `onAnswer` sees each call's instance and times. */
async function callers(
  client: Client,
  concurrency: number,
  stop: () => boolean,
  onAnswer: (id: string, sentAt: number, doneAt: number) => void,
): Promise<number> {
  let errors = 0;
  const worker = async () => {
    while (!stop()) {
      const sentAt = performance.now();
      try {
        const res = await client.request({ path: PATH, method: 'GET' });
        await res.body.text();
        onAnswer(String(res.headers['x-instance']), sentAt, performance.now());
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return errors;
}

interface HangTrial {
  inFlightAtStop: number;
  /** Calls that waited for the frozen instance: sent before it resumed, answered by it after. */
  waited: number;
  /** Of those, the ones sent to it after it froze. */
  sentWhileFrozen: number;
  /** ms after the freeze of the last call sent to the frozen instance. */
  lastSentMs: number;
  errors: number;
}

/**
 * Blocks the event loop for `STALL_MS` every `STALL_EVERY_MS`, as a loaded machine's scheduler
 * does: answers that arrive meanwhile are measured that much slower. Returns the stopper.
 */
function stalls(): () => void {
  const timer = setInterval(() => {
    const until = performance.now() + STALL_MS;
    while (performance.now() < until) {
      // busy: the process is descheduled, as far as its timers and sockets can tell
    }
  }, STALL_EVERY_MS);
  return () => clearInterval(timer);
}

async function hangTrial(strategy: StrategyName, concurrency: number, stalled: boolean): Promise<HangTrial> {
  const client = createClient({ service: 'bench', discovery: urls, strategy });
  const unstall = stalled ? stalls() : () => {};
  let stopAt = 0;
  let contAt = 0;
  let after = 0;
  let done = false;
  const waitedSentAt: number[] = [];
  const load = callers(
    client,
    concurrency,
    () => done,
    (id, sentAt, doneAt) => {
      if (contAt === 0) return;
      if (id === frozen.id && sentAt < contAt && doneAt >= contAt) waitedSentAt.push(sentAt - stopAt);
      if (sentAt >= contAt) after++;
    },
  );
  await pause(WARMUP_MS);
  const inFlightAtStop = client.snapshot().instances.find((i) => i.url === frozen.url)!.active;
  frozen.signal('SIGSTOP');
  stopAt = performance.now();
  await pause(HANG_MS);
  frozen.signal('SIGCONT');
  contAt = performance.now();
  const deadline = contAt + 5000;
  while (after < 300 && performance.now() < deadline) await pause(20);
  done = true;
  const errors = await load;
  unstall();
  await client.close();
  const sentWhileFrozen = waitedSentAt.filter((t) => t >= 0);
  return {
    inFlightAtStop,
    waited: waitedSentAt.length,
    sentWhileFrozen: sentWhileFrozen.length,
    lastSentMs: round(Math.max(0, ...sentWhileFrozen), 1),
    errors,
  };
}

interface LongTrial {
  /** The long call's instance's share of the other calls before it, and while it ran. */
  shareBefore: number;
  shareDuring: number;
  errors: number;
}

async function longTrial(strategy: StrategyName): Promise<LongTrial> {
  const client = createClient({ service: 'bench', discovery: urls, strategy });
  let phase: 'before' | 'during' | 'after' = 'before';
  const counts = { before: new Map<string, number>(), during: new Map<string, number>() };
  let done = false;
  const load = callers(
    client,
    LONG_CALLERS,
    () => done,
    (id) => {
      if (phase === 'after') return;
      const map = counts[phase];
      map.set(id, (map.get(id) ?? 0) + 1);
    },
  );
  await pause(WARMUP_MS);
  phase = 'during';
  const res = await client.request({ path: `${PATH}?delay=${LONG_MS}`, method: 'GET' });
  await res.body.text();
  phase = 'after';
  const owner = String(res.headers['x-instance']);
  done = true;
  const errors = await load;
  await client.close();
  const share = (m: Map<string, number>) => {
    let total = 0;
    for (const n of m.values()) total += n;
    return round((m.get(owner) ?? 0) / Math.max(1, total), 3);
  };
  return { shareBefore: share(counts.before), shareDuring: share(counts.during), errors };
}

const hang = [];
for (const stalled of [false, true]) {
  const trials = new Map<StrategyName, HangTrial[]>(STRATEGIES.map((s) => [s, []]));
  // Trials interleave the strategies, so a noisy spell of the machine is shared among them.
  for (let t = 0; t < TRIALS; t++)
    for (const s of STRATEGIES) trials.get(s)!.push(await hangTrial(s, CALLERS, stalled));
  const rows = STRATEGIES.map((strategy) => {
    const ts = trials.get(strategy)!;
    return {
      strategy,
      callers: CALLERS,
      stalls: stalled,
      inFlightAtStop: median(ts.map((x) => x.inFlightAtStop)),
      waited: median(ts.map((x) => x.waited)),
      sentWhileFrozen: median(ts.map((x) => x.sentWhileFrozen)),
      maxSentWhileFrozen: Math.max(...ts.map((x) => x.sentWhileFrozen)),
      lastSentMs: median(ts.map((x) => x.lastSentMs)),
      maxLastSentMs: Math.max(...ts.map((x) => x.lastSentMs)),
      errors: ts.reduce((a, x) => a + x.errors, 0),
      trials: ts,
    };
  });
  console.table(rows.map(({ trials: _, ...r }) => r));
  hang.push(...rows);
}

const long = [];
for (const strategy of STRATEGIES.slice(0, 1)) {
  const ts: LongTrial[] = [];
  for (let t = 0; t < (quick ? 1 : 3); t++) ts.push(await longTrial(strategy));
  const row = {
    strategy,
    callers: LONG_CALLERS,
    longMs: LONG_MS,
    shareBefore: median(ts.map((x) => x.shareBefore)),
    shareDuring: median(ts.map((x) => x.shareDuring)),
    errors: ts.reduce((a, x) => a + x.errors, 0),
    trials: ts,
  };
  console.table([{ ...row, trials: undefined }]);
  long.push(row);
}
await Promise.all(instances.map((i) => i.close()));

console.log(
  JSON.stringify({
    bench: 'hung-instance',
    instances: 3,
    callers: CALLERS,
    hangMs: HANG_MS,
    stallMs: STALL_MS,
    stallEveryMs: STALL_EVERY_MS,
    trials: TRIALS,
    hang,
    long,
  }),
);
