import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { STRATEGY_NAMES } from './strategies/index.ts';

const run = promisify(execFile);
const probe = fileURLToPath(new URL('./pick-gc-probe.ts', import.meta.url));

async function scavenges(strategy: string, keyed: boolean, flags: readonly string[]): Promise<number> {
  const args = [...flags, '--conditions=picket-source', probe, strategy, '100', '1000000'];
  const { stdout } = await run(process.execPath, keyed ? [...args, 'key'] : args, { timeout: 60_000 });
  return (JSON.parse(stdout.trim().split('\n').at(-1)!) as { scavenges: number }).scavenges;
}

// A fixed workload in a fresh process collects about the same garbage every run, so the counts
// can be asserted. With V8's default young generation (16 MB semi-spaces) the target is at most
// one scavenge per million pairs; it would hide a boxed double per pick (16 bytes) in one or two.
// With 1 MB semi-spaces a scavenge stands for about a byte per pair: such a box shows as ~16,
// while the loop's own event-loop turns (~0.25 bytes per pair) and the JIT settling on a loaded
// machine account for at most one or two.
describe('the hot path', () => {
  const cases: [string, boolean][] = [
    ...STRATEGY_NAMES.map((s): [string, boolean] => [s, false]),
    ['ring-hash', true],
    ['maglev', true],
  ];
  it.each(cases)(
    'allocates nothing in 1,000,000 pick + release pairs on 100 instances: %s (with a key: %s)',
    async (strategy, keyed) => {
      expect(await scavenges(strategy, keyed, [])).toBeLessThanOrEqual(1);
      expect(await scavenges(strategy, keyed, ['--max-semi-space-size=1'])).toBeLessThanOrEqual(4);
    },
    120_000,
  );
});
