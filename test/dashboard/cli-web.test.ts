// `picket watch … --web`: the same page for any discovery spec, from the CLI as a process.

import type { SnapshotMessage } from 'picket/dashboard';
import { afterAll, describe, expect, it } from 'vitest';
import { killStarted, runCli, startNode } from '../cli/node-process.ts';
import { echo, startServer } from '../fixtures/http-servers.ts';
import { openStream } from './sse.ts';

afterAll(() => killStarted());

describe('picket watch --web', () => {
  it('serves the dashboard of the watched service, prints its URL, and ends on SIGINT with 0', async () => {
    const servers = await Promise.all([startServer(echo('a')), startServer(echo('b'))]);
    try {
      const list = servers.map((s) => s.url).join(',');
      const cli = startNode(['src/cli.ts', 'watch', '--service', 'inventory', '--discovery', list, '--web']);
      await cli.waitForOutput(/Dashboard of inventory: http:\/\/127\.0\.0\.1:\d+\/ /, 30_000);
      const url = /(http:\/\/127\.0\.0\.1:\d+\/)/.exec(cli.stdout())![1]!;
      const page = await fetch(url);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<title>Picket dashboard</title>');
      const stream = await openStream(new URL('/events', url).href);
      const message = await stream.next(
        (m) =>
          m.event === 'snapshot' &&
          (JSON.parse(m.data) as SnapshotMessage).services[0]!.instances.every(
            (i) => i.state === 'healthy',
          ) &&
          (JSON.parse(m.data) as SnapshotMessage).services[0]!.instances.length === 2,
        30_000,
      );
      const snapshot = JSON.parse(message.data) as SnapshotMessage;
      expect(snapshot.services[0]!.service).toBe('inventory');
      // The L7 checks of `picket watch` show as a health layer.
      expect(snapshot.services[0]!.instances[0]!.health).toContainEqual(
        expect.objectContaining({ layer: 'l7', state: 'healthy' }),
      );
      cli.child.kill('SIGINT');
      const done = await cli.exited(20_000);
      expect(done.code, done.stderr).toBe(0);
      await stream.ended;
    } finally {
      await Promise.all(servers.map((s) => s.close()));
    }
  });

  it.each([
    [
      ['--web', '--once'],
      '`--web` shows the page instead of the table: it takes neither `--once` nor `--json`',
    ],
    [['--web-port', '8080'], '`--web-port` and `--web-host` need `--web`'],
    [
      ['--web', '--web-port', '70000'],
      '`--web-port` must be a port number from 0 (any free port) to 65535, got "70000"',
    ],
  ])('refuses %j with exit code 2 naming the argument', async (args, message) => {
    const run = await runCli(['watch', '--service', 'x', '--discovery', 'http://127.0.0.1:1', ...args]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
  });
});
