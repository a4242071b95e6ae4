// What a per-instance circuit breaker costs: Picket's own state machine (breaker/breaker.ts)
// against opossum with every attempt run through `fire()`, the only way its stats and events
// are true (what opossum-based tools such as opossum-prometheus read).
//  1. ns per attempt, all succeeding (the steady state), interleaved rounds, median of rounds.
//     An attempt is not a promise, so fire() needs one made for it: the "promise floor" variant
//     is that promise alone, to tell opossum's own share from the one it forces.
//  2. Heap and timers per instance with 10,000 breakers made (after a forced GC).
// opossum is no longer a dependency; to compare, install it beside the tree first:
//   npm install --no-save opossum@10.0.0
// Run: node --expose-gc --conditions=picket-source bench/breaker-cost.ts [--rounds=N]

import { EventEmitter } from 'node:events';
import type { Instance } from '@picket/core';
import { Breaker, type BreakerOwner } from '../packages/http/src/breaker/breaker.ts';
import { parseClientOptions } from '../packages/http/src/config.ts';
import { median } from './lib/stats.ts';

const rounds = Number(process.argv.find((a) => a.startsWith('--rounds='))?.split('=')[1] ?? 15);
const PER_ROUND = 200_000;
const BATCH = 1000;
const INSTANCES = 10_000;

const parsed = parseClientOptions({ service: 'bench', discovery: [] }).breaker;
if (parsed === false) throw new Error('breakers are on by default');
const config = parsed;
const owner: BreakerOwner = { changed() {}, trial() {} };
const instance = { id: 'a' } as Instance;
const now = () => performance.now();

// The slice of opossum's API used here.
interface OpossumBreaker {
  fire(...args: unknown[]): Promise<unknown>;
  shutdown(): void;
}
type OpossumClass = new (action: (p: Promise<void>) => Promise<void>, options: object) => OpossumBreaker;

async function loadOpossum(): Promise<OpossumClass | undefined> {
  // A specifier in a variable: the bench typechecks and runs without opossum installed.
  const name = 'opossum';
  try {
    return ((await import(name)) as { default: OpossumClass }).default;
  } catch {
    console.log('opossum is not installed (npm install --no-save opossum@10.0.0): its rows are left out');
    return undefined;
  }
}
const CircuitBreaker = await loadOpossum();

// opossum as a real per-instance breaker would be configured: Picket's window and thresholds.
function opossum(lean: { rotate: EventEmitter } | undefined): OpossumBreaker {
  if (CircuitBreaker === undefined) throw new Error('opossum is not installed');
  return new CircuitBreaker((p: Promise<void>) => p, {
    timeout: false,
    errorThresholdPercentage: config.errorThresholdPercentage,
    volumeThreshold: config.volumeThreshold,
    resetTimeout: config.resetTimeoutMs,
    rollingCountTimeout: config.windowMs,
    rollingCountBuckets: config.buckets,
    // Lean: one rotation timer for all, no snapshot timers, no latency percentiles.
    ...(lean === undefined
      ? {}
      : { rotateBucketController: lean.rotate, enableSnapshots: false, rollingPercentilesEnabled: false }),
  });
}

const rotate = new EventEmitter();
rotate.setMaxListeners(0);
const own = new Breaker(instance, config, now(), owner);

function ignore(): void {}

const variants: Record<string, () => Promise<void>> = {
  'Picket breaker: admit + settle': async () => {
    for (let i = 0; i < PER_ROUND; i++) {
      const t = now();
      if (own.admit(t)) own.settle(false, t, own.isTrial());
    }
  },
  'promise floor: a deferred per attempt, awaited': async () => {
    for (let i = 0; i < PER_ROUND; i += BATCH) {
      const all: Promise<void>[] = [];
      for (let j = 0; j < BATCH; j++) {
        const d = Promise.withResolvers<void>();
        all.push(d.promise.then(ignore, ignore));
        d.resolve();
      }
      await Promise.all(all);
    }
  },
};
if (CircuitBreaker !== undefined) {
  variants['opossum fire(), defaults'] = fired(opossum(undefined));
  variants['opossum fire(), lean options'] = fired(opossum({ rotate }));
}

function fired(breaker: OpossumBreaker): () => Promise<void> {
  return async () => {
    for (let i = 0; i < PER_ROUND; i += BATCH) {
      const all: Promise<void>[] = [];
      for (let j = 0; j < BATCH; j++) {
        const d = Promise.withResolvers<void>();
        all.push((breaker.fire(d.promise) as Promise<void>).then(ignore, ignore));
        d.resolve();
      }
      await Promise.all(all);
    }
  };
}

const samples: Record<string, number[]> = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
for (const run of Object.values(variants)) await run(); // warm-up
for (let r = 0; r < rounds; r++) {
  const names = Object.keys(variants);
  // Alternate the order so that no variant always runs first after a GC.
  if (r % 2 === 1) names.reverse();
  for (const name of names) {
    const started = process.hrtime.bigint();
    await variants[name]!();
    samples[name]!.push(Number(process.hrtime.bigint() - started) / PER_ROUND);
  }
}

console.log(
  `ns per attempt, median of ${rounds} interleaved rounds of ${PER_ROUND} (Node ${process.version})`,
);
for (const [name, values] of Object.entries(samples)) {
  const sorted = [...values].sort((a, b) => a - b);
  console.log(
    `  ${name.padEnd(50)} ${median(values).toFixed(1).padStart(8)}  (min ${sorted[0]!.toFixed(1)}, max ${sorted.at(-1)!.toFixed(1)})`,
  );
}

// 2. Memory and timers per instance.
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) {
  console.log('memory: run with --expose-gc');
} else {
  const measure = (name: string, make: (i: number) => { shutdown(): void }) => {
    gc();
    gc();
    // Timers are counted as they are made: unref'd ones are not among the active resources.
    let timers = 0;
    const { setInterval: realInterval, setTimeout: realTimeout } = globalThis;
    globalThis.setInterval = ((...args: Parameters<typeof setInterval>) => {
      timers++;
      return realInterval(...args);
    }) as typeof setInterval;
    globalThis.setTimeout = ((...args: Parameters<typeof setTimeout>) => {
      timers++;
      return realTimeout(...args);
    }) as typeof setTimeout;
    const before = process.memoryUsage().heapUsed;
    const made = Array.from({ length: INSTANCES }, (_, i) => make(i));
    gc();
    gc();
    const bytes = (process.memoryUsage().heapUsed - before) / INSTANCES;
    globalThis.setInterval = realInterval;
    globalThis.setTimeout = realTimeout;
    for (const m of made) m.shutdown();
    console.log(
      `  ${name.padEnd(50)} ${Math.round(bytes).toString().padStart(6)} B per instance, ${timers} timers for ${INSTANCES}`,
    );
  };
  console.log(`memory with ${INSTANCES} breakers (heap after GC, minus before)`);
  const t = now();
  measure('Picket breaker', (i) => new Breaker({ id: String(i) } as Instance, config, t, owner));
  if (CircuitBreaker !== undefined) {
    measure('opossum, defaults', () => opossum(undefined));
    measure('opossum, lean options', () => opossum({ rotate }));
  }
}
process.exit(0);
