import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rendezvousOrder } from 'picket';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../fixtures/http-servers.ts';
import { startDnsmasq } from '../servers/dnsmasq.ts';
import { startEtcd } from '../servers/etcd.ts';
import { freePort } from '../servers/ports.ts';
import { requireTool } from '../servers/require-tool.ts';
import { killStarted, runCli, startNode } from './node-process.ts';

let servers: TestServer[];
let dead: string;
let dir: string;

beforeAll(async () => {
  servers = await Promise.all(
    ['a', 'b'].map((name) =>
      startServer((req, res) => {
        res.writeHead(200, { 'content-type': 'application/json', 'x-instance': name });
        res.end(JSON.stringify({ name, url: req.url }));
      }),
    ),
  );
  dead = `http://127.0.0.1:${await freePort()}`;
  dir = await mkdtemp(join(tmpdir(), 'picket-watch-'));
});

afterAll(async () => {
  killStarted();
  await Promise.all(servers.map((s) => s.close()));
  await rm(dir, { recursive: true, force: true });
});

describe('picket watch --once', () => {
  it('prints the instances of a static list as JSON after their first check', async () => {
    const list = [...servers.map((s) => s.url), dead].join(',');
    const run = await runCli(['watch', '--service', 'inventory', '--discovery', list, '--once', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report).toMatchObject({
      service: 'inventory',
      discovery: 'static list of 3',
      ready: true,
      healthy: 2,
    });
    expect(report.discoveryError).toBeNull();
    const byUrl = new Map(report.instances.map((i: { url: string }) => [i.url, i]));
    for (const s of servers) {
      expect(byUrl.get(s.url)).toMatchObject({
        state: 'healthy',
        inFlight: 0,
        ejections: 0,
        check: { last: { ok: true, reason: expect.stringMatching(/^l7: status 200 from \/health/) } },
      });
    }
    expect(byUrl.get(dead)).toMatchObject({
      state: 'unhealthy',
      check: { last: { ok: false, reason: expect.stringContaining('connection refused') } },
    });
    expect(typeof (byUrl.get(dead) as { check: { p50Ms: unknown } }).check.p50Ms).toBe('number');
  });

  it('prints the table once for a file of instances, with an L4 check', async () => {
    const file = join(dir, 'inventory.json');
    await writeFile(
      file,
      JSON.stringify([
        { id: 'inventory-a', url: servers[0]!.url },
        { id: 'inventory-dead', url: dead },
      ]),
    );
    const run = await runCli([
      'watch',
      '--service',
      'inventory',
      '--discovery',
      `file:${file}`,
      '--check',
      'l4',
      '--once',
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^inventory — file .*inventory\.json — checks: TCP connect/);
    expect(run.stdout).toMatch(
      /INSTANCE\s+STATE\s+PRIO\s+REQ\/S\s+CHECK P50\s+CHECK P99\s+IN-FLIGHT\s+EJECTIONS\s+LAST CHECK/,
    );
    expect(run.stdout).toMatch(/inventory-a\s+healthy\s+0\s.*l4: connected to/);
    expect(run.stdout).toMatch(/inventory-dead\s+unhealthy\s.*l4: connection refused/);
    expect(run.stdout).toContain('1 of 2 healthy');
    expect(run.stdout).not.toContain('\x1b[');
  });

  it('exits 1 when no instance is healthy', async () => {
    const run = await runCli(['watch', '--service', 'inventory', '--discovery', dead, '--once', '--json']);
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout)).toMatchObject({ healthy: 0, instances: [{ state: 'unhealthy' }] });
  });

  it('exits 1 and reports the error when discovery fails', async () => {
    const port = await freePort();
    const run = await runCli([
      'watch',
      '--service',
      'inventory',
      '--discovery',
      `etcd:http://127.0.0.1:${port}/services/inventory/`,
      '--once',
      '--json',
    ]);
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout)).toMatchObject({
      ready: false,
      healthy: 0,
      instances: [],
      discoveryError: expect.stringContaining('ECONNREFUSED'),
    });
  });

  it('with --subset watches one caller’s subset, grows it past a dead member, and counts the rest as outside', async () => {
    const list = [dead, ...servers.map((s) => s.url)];
    // A caller whose subset of one is the dead instance: it grows by the next in its order.
    const callerId = ['w-0', 'w-1', 'w-2', 'w-3', 'w-4', 'w-5', 'w-6', 'w-7', 'w-8', 'w-9'].find(
      (id) => rendezvousOrder(id, list)[0] === dead,
    ) as string;
    const next = rendezvousOrder(callerId, list)[1];
    const args = ['watch', '--service', 'inventory', '--discovery', list.join(','), '--subset', '1'];
    const run = await runCli([...args, '--caller-id', callerId, '--once', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report.subset).toEqual({
      mode: 'random',
      size: 1,
      callerId,
      peers: null,
      member: 1,
      grown: 1,
      standby: 1,
    });
    expect(report.instances).toHaveLength(2);
    const byUrl = new Map(report.instances.map((i: { url: string }) => [i.url, i]));
    expect(byUrl.get(dead)).toMatchObject({ subset: 'member', state: 'unhealthy' });
    expect(byUrl.get(next)).toMatchObject({ subset: 'grown', state: 'healthy' });
  });

  it('with --subset and --peers prints a deterministic caller’s subset in the table', async () => {
    const list = servers.map((s) => s.url).join(',');
    const run = await runCli([
      'watch',
      '--service',
      'inventory',
      '--discovery',
      list,
      '--subset',
      '1',
      '--peers',
      '1/2',
      '--once',
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/INSTANCE\s+STATE\s+SUBSET\s+PRIO\s+REQ\/S/);
    expect(run.stdout).toMatch(/healthy\s+member\s+0\s/);
    expect(run.stdout).toContain(
      'subset: 1 of 2 in use (deterministic, caller 1 of 2, size 1): 1 member, 0 grown; 1 outside, not checked',
    );
  });

  it.each([
    [['watch', '--discovery', 'http://a:1'], /`--service` is required/],
    [
      ['watch', '--service', 'inv entory', '--discovery', 'http://a:1'],
      /`--service` must be a host-name-like name/,
    ],
    [['watch', '--service', 'inventory'], /`--discovery` is required/],
    [
      ['watch', '--service', 'inventory', '--discovery', 'dns:inventory'],
      /Invalid `--discovery` "dns:inventory": expected dns:NAME:PORT/,
    ],
    [
      ['watch', '--service', 'inventory', '--discovery', 'http://a:1', '--check', 'tcp'],
      /`--check` must be l7, l4, load or none, got "tcp"/,
    ],
    [
      ['watch', '--service', 'inventory', '--discovery', 'http://a:1', '--interval', '1s'],
      /`--interval` must be a whole number of milliseconds from 1 to 2147483647, got "1s"/,
    ],
    [
      ['watch', '--service', 'inventory', '--discovery', 'http://a:1', '--rate', '5'],
      /`--rate` needs `--request PATH`/,
    ],
    [
      ['watch', '--service', 'inventory', '--discovery', 'http://a:1', 'extra'],
      /takes no arguments besides options, got "extra"/,
    ],
    [
      ['watch', '--service', 'inventory', '--discovery', 'http://a:1', '--subset', '0'],
      /`--subset` must be a number of instances from 1 to 100000, got "0"/,
    ],
    [
      ['watch', '--service', 'inventory', '--discovery', 'http://a:1', '--subset', '2', '--peers', '2/2'],
      /`--peers` must be INDEX\/COUNT with 0 ≤ INDEX < COUNT .*got "2\/2"/,
    ],
    [
      ['watch', '--service', 'inventory', '--discovery', 'http://a:1', '--caller-id', 'x'],
      /`--caller-id` and `--peers` need `--subset N`/,
    ],
  ])('exits 2 and names the bad argument: %j', async (args, message) => {
    const run = await runCli(args);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
  });
});

describe('picket watch, live', () => {
  it('appends tables when not on a terminal, sends --request traffic, and exits 0 on Ctrl-C', async () => {
    const list = servers.map((s) => s.url).join(',');
    const watch = startNode([
      'src/cli.ts',
      'watch',
      '--service',
      'inventory',
      '--discovery',
      list,
      '--interval',
      '250',
      '--request',
      '/items/1',
      '--rate',
      '40',
    ]);
    await watch.waitForOutput(/requests through Picket: [1-9]\d* sent, [1-9]\d* ok, 0 failed/);
    await watch.waitForOutput(/2 of 2 healthy/);
    watch.child.kill('SIGINT');
    const run = await watch.exited(20_000);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).not.toContain('\x1b[');
    const last = run.stdout.trimEnd().split('\n').at(-1);
    expect(last).toMatch(/requests through Picket: (\d+) sent, \1 ok, 0 failed/);
    const finalTable = run.stdout.slice(run.stdout.lastIndexOf('INSTANCE'));
    for (const s of servers)
      expect(finalTable).toMatch(new RegExp(`${s.url.replace(/[.:/]/g, '\\$&')}\\s+healthy`));
  });
});

const dnsmasq = requireTool('dnsmasq', 'dnsmasq-base');
describe.skipIf(!dnsmasq.available)('picket watch with DNS discovery', () => {
  it('finds the instances of dns:NAME:PORT@SERVER and srv:NAME@SERVER', async () => {
    const dns = await startDnsmasq({
      hosts: { 'inventory.picket.test': ['127.0.0.1'] },
      srv: [
        { name: '_http._tcp.inventory.picket.test', target: 'inventory.picket.test', port: servers[0]!.port },
        { name: '_http._tcp.inventory.picket.test', target: 'inventory.picket.test', port: servers[1]!.port },
      ],
    });
    try {
      const byName = await runCli([
        'watch',
        '--service',
        'inventory',
        '--discovery',
        `dns:inventory.picket.test:${servers[0]!.port}@${dns.server}`,
        '--once',
        '--json',
      ]);
      expect(byName.code, byName.stderr).toBe(0);
      expect(JSON.parse(byName.stdout)).toMatchObject({
        discovery: `DNS inventory.picket.test port ${servers[0]!.port} via ${dns.server}`,
        instances: [{ url: servers[0]!.url, state: 'healthy' }],
      });
      const bySrv = await runCli([
        'watch',
        '--service',
        'inventory',
        '--discovery',
        `srv:_http._tcp.inventory.picket.test@${dns.server}`,
        '--once',
        '--json',
      ]);
      expect(bySrv.code, bySrv.stderr).toBe(0);
      const urls = JSON.parse(bySrv.stdout).instances.map((i: { url: string }) => i.url);
      expect(urls.sort()).toEqual(servers.map((s) => s.url).sort());
    } finally {
      await dns.close();
    }
  });
});

const etcdTool = requireTool('etcd', 'etcd-server');
describe.skipIf(!etcdTool.available)('picket watch with etcd discovery', () => {
  it('finds the instances under etcd:URL/PREFIX/', async () => {
    const etcd = await startEtcd();
    try {
      await etcd.put('/services/inventory/a', servers[0]!.url);
      await etcd.put(
        '/services/inventory/b',
        JSON.stringify({ url: servers[1]!.url, id: 'inventory-b', priority: 1 }),
      );
      await etcd.put('/services/other/c', dead);
      const run = await runCli([
        'watch',
        '--service',
        'inventory',
        '--discovery',
        `etcd:${etcd.endpoint}/services/inventory/`,
        '--once',
        '--json',
      ]);
      expect(run.code, run.stderr).toBe(0);
      const report = JSON.parse(run.stdout);
      expect(report.healthy).toBe(2);
      expect(
        report.instances.map((i: { id: string; priority: number }) => [i.id, i.priority]).sort(),
      ).toEqual([
        [servers[0]!.url, 0],
        ['inventory-b', 1],
      ]);
    } finally {
      await etcd.close();
    }
  });
});
