// Young-generation GCs (scavenges) caused by one million pick() + release() pairs, for every
// strategy (and the hashing ones with a key) at 100 and 10,000 instances, with the balancer's
// default options and preallocated outcomes. Each case runs in a process of its own
// (packages/core/src/pick-gc-probe.ts), so one cannot grow or pollute another's heap. Two young
// generations: V8's default (16 MB semi-spaces here), the issue's measure, whose target is ≤ 1
// per million; and 1 MB semi-spaces, where a scavenge per million means about a byte per pair,
// so that a single boxed double per pick (16 bytes) shows as ~16 instead of hiding in the first.
// Run: node --conditions=picket-source bench/pick-gc.ts [--quick]

import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { STRATEGY_NAMES } from '@picket/core/internal';

const run = promisify(execFile);
const quick = process.argv.includes('--quick');
const probe = fileURLToPath(new URL('../packages/core/src/pick-gc-probe.ts', import.meta.url));
const SIZES = [100, 10_000];
const PAIRS = 1_000_000;
const TARGET = 1;

export interface PickGcRow {
  strategy: string;
  keyed: boolean;
  instances: number;
  /** Scavenges per million pairs with V8's default young generation. */
  scavenges: number;
  /** The same with 1 MB semi-spaces: roughly the bytes each pair allocates. */
  scavengesSmallYoung: number;
}

async function scavenges(args: string[], flags: string[]): Promise<number> {
  const { stdout } = await run(process.execPath, [...flags, '--conditions=picket-source', probe, ...args], {
    timeout: 120_000,
  });
  return (JSON.parse(stdout.trim().split('\n').at(-1)!) as { scavenges: number }).scavenges;
}

async function measure(strategy: string, instances: number, keyed: boolean): Promise<PickGcRow> {
  const args = [strategy, String(instances), String(PAIRS), ...(keyed ? ['key'] : [])];
  return {
    strategy,
    keyed,
    instances,
    scavenges: await scavenges(args, []),
    scavengesSmallYoung: await scavenges(args, ['--max-semi-space-size=1']),
  };
}

const cases: [string, boolean][] = [
  ...STRATEGY_NAMES.map((s): [string, boolean] => [s, false]),
  ['ring-hash', true],
  ['maglev', true],
];
const rows: PickGcRow[] = [];
// Quick runs measure 100 instances only; the 10,000-instance balancers take longer to build.
for (const instances of quick ? SIZES.slice(0, 1) : SIZES) {
  for (const [strategy, keyed] of cases) rows.push(await measure(strategy, instances, keyed));
}
console.table(
  rows.map((r) => ({
    strategy: r.keyed ? `${r.strategy} (key)` : r.strategy,
    instances: r.instances,
    scavenges: r.scavenges,
    'scavenges, 1 MB young gen': r.scavengesSmallYoung,
    'within target': r.scavenges <= TARGET,
  })),
);
console.log(JSON.stringify({ bench: 'pick-gc', node: process.version, pairs: PAIRS, target: TARGET, rows }));
