// What the retry loop costs a retried request: Picket's own loop (dispatcher/retry-loop.ts: the
// first retry at once, later ones after one abortable sleep) against the p-retry loop it
// replaced, driven as it was (each round a promise p-retry awaits, rejected with a sentinel to
// ask for the next). Rounds are run by a stand-in request that answers synchronously, so only
// the loop is measured: no sockets, no picks.
//  1. CPU ns per retried request, retried once (at once) and twice (the second after a backoff
//     of 1 ms), 1,000 requests in flight, interleaved rounds, median of rounds.
//  2. Bytes allocated per retried request: heap growth over 20,000 requests, all in flight at
//     once, with a young generation large enough that no GC runs meanwhile (checked: a GC voids
//     the figure). It includes the stand-in request's own promise and closures, the same for both.
// p-retry is no longer a dependency; to compare, install it beside the tree first:
//   npm install --no-save p-retry@9.0.0
// Run: node --expose-gc --max-semi-space-size=256 --conditions=picket-source bench/retry-loop-cost.ts [--rounds=N]

import { PerformanceObserver } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Instance } from '@picket/core';
import { parseClientOptions } from '../packages/http/src/config.ts';
import { Retries, type RoundRunner } from '../packages/http/src/dispatcher/retry-loop.ts';
import { median } from './lib/stats.ts';

const rounds = Number(process.argv.find((a) => a.startsWith('--rounds='))?.split('=')[1] ?? 11);
const IN_FLIGHT = 1000;
const PER_ROUND = 20_000;

const config = parseClientOptions({
  service: 'bench',
  discovery: [],
  retry: { retries: 2, backoff: { baseMs: 1, maxMs: 1 } },
}).retry;
const instance = { id: 'a' } as Instance;

interface Loop {
  schedule(failed: Instance, retryAfterMs: number): void;
  stop(): void;
}
type LoopFactory = (runner: RoundRunner) => Loop;

type PRetry = (input: () => Promise<void>, options: Record<string, unknown>) => Promise<void>;
async function loadPRetry(): Promise<PRetry | undefined> {
  const name = 'p-retry';
  try {
    return ((await import(name)) as { default: PRetry }).default;
  } catch {
    return undefined;
  }
}

/** The loop as the previous commit drove p-retry (dispatcher/retry-loop.ts before). */
function pRetryLoop(pRetry: PRetry): LoopFactory {
  const RETRY = new Error('retry');
  const ignore = () => {};
  return (runner) => {
    let abort: AbortController | null = null;
    let round: PromiseWithResolvers<void> | null = null;
    let stopped = false;
    let retryAfterMs = 0;
    let waitedMs = 0;
    const next = async (): Promise<void> => {
      const extra = retryAfterMs - waitedMs;
      retryAfterMs = 0;
      waitedMs = 0;
      if (extra > 0) await sleep(extra, undefined, { signal: abort!.signal, ref: false });
      if (stopped) return;
      round = Promise.withResolvers<void>();
      const current = round;
      runner.runRound();
      return current.promise;
    };
    return {
      schedule(_failed, after) {
        retryAfterMs = after;
        if (abort === null) {
          abort = new AbortController();
          pRetry(next, {
            retries: 1000,
            minTimeout: config.backoff.baseMs,
            maxTimeout: config.backoff.maxMs,
            factor: 2,
            randomize: true,
            unref: true,
            signal: abort.signal,
            onFailedAttempt: (context: { retryDelay: number }) => {
              waitedMs = context.retryDelay;
            },
            shouldRetry: (context: { error: Error }) => context.error === RETRY,
          }).then(ignore, ignore);
        } else {
          const r = round;
          round = null;
          r?.reject(RETRY);
        }
      },
      stop() {
        if (stopped) return;
        stopped = true;
        const r = round;
        round = null;
        r?.resolve();
        abort?.abort();
      },
    };
  };
}

const ownLoop: LoopFactory = (runner) => new Retries(runner, config);

/** A request whose first `failures` rounds fail (the first attempt among them); resolves when answered. */
function retried(make: LoopFactory, failures: number): Promise<void> {
  const { promise, resolve } = Promise.withResolvers<void>();
  let failed = 1;
  const runner: RoundRunner = {
    runRound() {
      if (failed < failures) {
        failed++;
        // The round failed: the next one is scheduled from within, as the request does.
        queueMicrotask(() => loop.schedule(instance, 0));
        return;
      }
      queueMicrotask(() => {
        loop.stop();
        resolve();
      });
    },
  };
  const loop = make(runner);
  loop.schedule(instance, 0);
  return promise;
}

async function cpuNs(make: LoopFactory, failures: number): Promise<number> {
  let left = PER_ROUND;
  const cpu0 = process.cpuUsage();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (left-- > 0) await retried(make, failures);
    }),
  );
  const cpu = process.cpuUsage(cpu0);
  return ((cpu.user + cpu.system) / PER_ROUND) * 1000;
}

let gcs = 0;
new PerformanceObserver((list) => {
  gcs += list.getEntries().length;
}).observe({ entryTypes: ['gc'] });

/** Bytes allocated per retried request, or NaN when a GC ran while measuring. */
async function bytesPer(make: LoopFactory, failures: number): Promise<number> {
  (globalThis as { gc?: () => void }).gc?.();
  await sleep(10);
  const before = process.memoryUsage().heapUsed;
  const gcBefore = gcs;
  const all: Promise<void>[] = [];
  for (let i = 0; i < PER_ROUND; i++) all.push(retried(make, failures));
  await Promise.all(all);
  // Everything the requests allocated is still on the heap: no GC ran (checked below).
  const grown = process.memoryUsage().heapUsed - before;
  return gcs === gcBefore ? grown / PER_ROUND : Number.NaN;
}

// The loops' timers are unref'd (a client holds the process while a request is in flight).
const hold = setInterval(() => {}, 1000);
const pRetry = await loadPRetry();
const loops: Record<string, LoopFactory> = { 'own loop': ownLoop };
if (pRetry !== undefined) loops['p-retry (previous)'] = pRetryLoop(pRetry);
else
  console.log(
    'p-retry is not installed: only the own loop is measured (npm install --no-save p-retry@9.0.0)',
  );

const cases = [
  { name: 'retried once (at once)', failures: 1 },
  { name: 'retried twice (then a 1 ms backoff)', failures: 2 },
];
const rows = [];
for (const c of cases) {
  const samples = new Map<string, number[]>(Object.keys(loops).map((n) => [n, []]));
  for (const make of Object.values(loops)) await cpuNs(make, c.failures);
  for (let r = 0; r < rounds; r++) {
    const names = r % 2 === 0 ? Object.keys(loops) : Object.keys(loops).reverse();
    for (const n of names) samples.get(n)!.push(await cpuNs(loops[n]!, c.failures));
  }
  for (const [n, s] of samples) {
    const bytes = await bytesPer(loops[n]!, c.failures);
    rows.push({
      case: c.name,
      loop: n,
      'CPU ns/request': Math.round(median(s)),
      'bytes/request': Math.round(bytes),
    });
  }
}
clearInterval(hold);
console.table(rows);
console.log(JSON.stringify({ bench: 'retry-loop-cost', rounds, perRound: PER_ROUND, rows }));
