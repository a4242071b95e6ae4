import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { STRATEGY_NAMES } from './strategies/index.ts';

const run = promisify(execFile);
const probe = fileURLToPath(new URL('./pick-gc-probe.ts', import.meta.url));

// A fixed workload in a fresh process collects the same garbage every run, so the count is exact
// enough to assert. With 1 MB semi-spaces a scavenge stands for about a byte per pair: one boxed
// double per pick (16 bytes) shows as ~16, where V8's default young generation would hide it in
// the first one or two. The loop's own event-loop turns allocate ~0.25 bytes per pair.
async function scavenges(strategy: string, keyed: boolean, bounded: boolean): Promise<number> {
  const args = ['--max-semi-space-size=1', '--conditions=picket-source', probe, strategy, '100', '1000000'];
  if (keyed) args.push('key');
  if (bounded) args.push('bounded');
  const { stdout } = await run(process.execPath, args, { timeout: 60_000 });
  return (JSON.parse(stdout.trim().split('\n').at(-1)!) as { scavenges: number }).scavenges;
}

describe('the hot path', () => {
  const cases: [string, boolean, boolean][] = [
    ...STRATEGY_NAMES.map((s): [string, boolean, boolean] => [s, false, false]),
    ['ring-hash', true, false],
    ['maglev', true, false],
    ['ring-hash', true, true],
    ['maglev', true, true],
  ];
  it.each(cases)(
    'allocates nothing in 1,000,000 pick + release pairs on 100 instances: %s (with a key: %s, hashBalanceFactor: %s)',
    async (strategy, keyed, bounded) => {
      expect(await scavenges(strategy, keyed, bounded)).toBeLessThanOrEqual(1);
    },
    60_000,
  );
});
