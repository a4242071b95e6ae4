// `npm start`: the scripted failure scenario ends with zero failed requests, and no process of
// the demo outlives it, whether it ends by itself or on Ctrl-C.

import { afterAll, describe, expect, it } from 'vitest';
import { killStarted, processesMentioning, runNode, startNode } from '../cli/node-process.ts';
import { requireTool } from '../servers/require-tool.ts';
import { waitFor } from '../servers/wait.ts';

const SCRIPT = 'examples/microservices/run.ts';

afterAll(() => killStarted());

/** The demo's children are gone (killed processes may take a moment to be reaped). */
async function noChildrenLeft(): Promise<void> {
  await waitFor(
    () =>
      processesMentioning('examples/microservices/inventory.ts').length === 0 &&
      processesMentioning('examples/microservices/orders.ts').length === 0,
    { timeoutMs: 10_000, message: 'inventory or orders processes outlived the demo' },
  );
}

function expectScenario(stdout: string): void {
  expect(stdout).toMatch(/total requests: [1-9]\d* \(\d+ through fetch, \d+ through axios\)/);
  expect(stdout).toMatch(/^ {2}failed: 0$/m);
  expect(stdout).toMatch(/retries: \d+/);
  expect(stdout).toMatch(
    /inventory-1 +killed \(SIGKILL\) +out of rotation after [\d.]+ s \(\w+\); healthy [\d.]+ s after the restart/,
  );
  expect(stdout).toMatch(
    /inventory-2 +hung \(SIGSTOP for [\d.]+ s\) +(out of rotation after .*after the SIGCONT|over before)/,
  );
  expect(stdout).toMatch(
    /inventory-3 +drained \(SIGTERM\) +out of rotation after [\d.]+ s \(\w+\); healthy [\d.]+ s after the restart/,
  );
  expect(stdout).toContain('Zero failed requests');
}

describe('npm start (examples/microservices)', () => {
  it('survives a kill, a hang and a drain with zero failed requests (file registry)', async () => {
    const run = await runNode([SCRIPT, '--fast'], { timeoutMs: 90_000 });
    expect(run.code, `${run.stdout.slice(-5000)}\n${run.stderr}`).toBe(0);
    expectScenario(run.stdout);
    // Not a terminal: plain appended lines, no cursor movement.
    expect(run.stdout).not.toContain('\x1b[');
    expect(run.stdout).toMatch(
      /INSTANCE +PORT +PROCESS +PICKET SEES +REQ\/S +P50 +P99 +IN-FLIGHT +EJECTIONS +RETRIED/,
    );
    expect(run.stdout).toContain('Discovery: file ');
    await noChildrenLeft();
  }, 120_000);

  const etcd = requireTool('etcd', 'etcd-server');
  it.skipIf(!etcd.available)(
    'does the same with instances registering themselves in a real etcd',
    async () => {
      const run = await runNode([SCRIPT, '--fast', '--registry', 'etcd'], { timeoutMs: 90_000 });
      expect(run.code, `${run.stdout.slice(-5000)}\n${run.stderr}`).toBe(0);
      expect(run.stdout).toMatch(/Discovery: etcd http:\/\/127\.0\.0\.1:\d+ \/services\/inventory\//);
      expectScenario(run.stdout);
      await noChildrenLeft();
    },
    120_000,
  );

  it('stops every process it started on Ctrl-C, and still prints the summary', async () => {
    const demo = startNode([SCRIPT]);
    await demo.waitForOutput(/── warm-up/, 60_000);
    demo.child.kill('SIGINT');
    const run = await demo.exited(30_000);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^ {2}failed: 0$/m);
    expect(run.stdout).toContain('(interrupted before the scenario finished)');
    await noChildrenLeft();
  }, 120_000);

  it('rejects a bad option with exit code 2', async () => {
    const run = await runNode([SCRIPT, '--registry', 'consul']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--registry must be file or etcd, got "consul"');
  });
});
