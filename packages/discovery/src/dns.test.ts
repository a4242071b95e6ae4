import { isPicketError } from '@picket/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type DnsmasqServer, dnsmasqTool, startDnsmasq } from '../../../test/servers/dnsmasq.ts';
import { dns, refreshDelay } from './dns.ts';
import { srvLevels, srvWeights } from './dns-srv.ts';
import type { Provider } from './provider.ts';
import { activeHandles, nextEvent, untilInstances, urls } from './testing.ts';

const tool = dnsmasqTool();
const open: Provider[] = [];
const track = <P extends Provider>(p: P): P => {
  open.push(p);
  return p;
};
afterEach(async () => {
  await Promise.all(open.splice(0).map((p) => p.close()));
});

describe('dns options', () => {
  it('rejects a missing port, naming the field', () => {
    expect(() => dns({ hostname: 'a.example' })).toThrow(/`port` is required/);
  });

  it('rejects both hostname and srv, and a bad server address', () => {
    expect(() => dns({ hostname: 'a.example', port: 80, srv: '_x._tcp.a' })).toThrow(
      /`srv` replaces `hostname` and `port`/,
    );
    try {
      dns({ hostname: 'a.example', port: 80, servers: ['dns.example:53'] });
      expect.unreachable();
    } catch (error) {
      expect(isPicketError(error, 'PICKET_INVALID_OPTIONS')).toBe(true);
      expect((error as Error).message).toContain('`servers[0]`');
      expect((error as Error).message).toContain('"dns.example:53"');
    }
  });

  it('refreshes at the shortest TTL, held between minTtlMs and maxTtlMs', () => {
    const opts = { refreshMs: undefined, minTtlMs: 1000, maxTtlMs: 60_000 };
    const at = (...ttls: number[]) => ttls.map((ttl) => ({ address: '10.0.0.1', ttl, family: 4 as const }));
    expect(refreshDelay(at(30, 5, 300), opts)).toBe(5000);
    expect(refreshDelay(at(0), opts)).toBe(1000);
    expect(refreshDelay(at(86_400), opts)).toBe(60_000);
    expect(refreshDelay(at(30), { ...opts, refreshMs: 250 })).toBe(250);
  });

  it('maps SRV priorities to levels 0..n and weight 0 to a small share', () => {
    const answers = [
      { name: 'a', port: 1, priority: 10, weight: 60 },
      { name: 'b', port: 1, priority: 10, weight: 0 },
      { name: 'c', port: 1, priority: 20, weight: 0 },
      { name: 'd', port: 1, priority: 20, weight: 0 },
      { name: 'e', port: 1, priority: 5, weight: 7 },
    ];
    expect([...srvLevels(answers)]).toEqual([
      [5, 0],
      [10, 1],
      [20, 2],
    ]);
    expect(srvWeights(answers)).toEqual([60, 0.6, 1, 1, 7]);
  });
});

describe.skipIf(!tool.available)('dns against dnsmasq', () => {
  let server: DnsmasqServer;
  beforeAll(async () => {
    server = await startDnsmasq({
      hosts: {
        'inventory.picket.test': ['127.0.0.11', '127.0.0.12'],
        'dual.picket.test': ['127.0.0.21', '::1'],
        'many.picket.test': ['127.0.1.1', '127.0.1.2', '127.0.1.3', '127.0.1.4'],
        't1.picket.test': ['127.0.2.1'],
        't2.picket.test': ['127.0.2.2', '127.0.2.3'],
        't3.picket.test': ['127.0.2.4'],
      },
      srv: [
        {
          name: '_http._tcp.svc.picket.test',
          target: 't1.picket.test',
          port: 8001,
          priority: 10,
          weight: 30,
        },
        { name: '_http._tcp.svc.picket.test', target: 't2.picket.test', port: 8002, priority: 10, weight: 0 },
        { name: '_http._tcp.svc.picket.test', target: 't3.picket.test', port: 8003, priority: 20, weight: 5 },
        {
          name: '_http._tcp.svc.picket.test',
          target: 'gone.picket.test',
          port: 8004,
          priority: 20,
          weight: 5,
        },
      ],
    });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('turns every A record into an instance with an address:port id', async () => {
    const p = track(dns({ hostname: 'inventory.picket.test', port: 8080, servers: [server.server] }));
    p.start();
    const instances = await untilInstances(p, (list) => list.length > 0);
    expect(urls(instances)).toEqual(['http://127.0.0.11:8080', 'http://127.0.0.12:8080']);
    expect(instances.map((i) => i.id).sort()).toEqual(['127.0.0.11:8080', '127.0.0.12:8080']);
    expect(instances[0]?.metadata).toEqual({ hostname: 'inventory.picket.test' });
    expect(p.name).toBe('dns:inventory.picket.test:8080');
  });

  it('resolves AAAA too, or only the family asked for', async () => {
    const both = track(
      dns({ hostname: 'dual.picket.test', port: 80, servers: [server.server], secure: true }),
    );
    const v4 = track(dns({ hostname: 'dual.picket.test', port: 80, servers: [server.server], family: 4 }));
    both.start();
    v4.start();
    expect(urls(await untilInstances(both, (l) => l.length > 0))).toEqual([
      'https://127.0.0.21:80',
      'https://[::1]:80',
    ]);
    expect(urls(await untilInstances(v4, (l) => l.length > 0))).toEqual(['http://127.0.0.21:80']);
  });

  it('reports a name with no records and publishes nothing', async () => {
    const p = track(dns({ hostname: 'missing.picket.test', port: 80, servers: [server.server] }));
    const error = nextEvent(p, 'discovery-error');
    p.start();
    const { error: e } = await error;
    expect(e.code).toBe('PICKET_DISCOVERY_FAILED');
    expect(e.message).toContain('missing.picket.test has no A or AAAA records');
    expect(p.current()).toBeUndefined();
  });

  it('refuses an answer over maxRecords', async () => {
    const p = track(dns({ hostname: 'many.picket.test', port: 80, servers: [server.server], maxRecords: 3 }));
    const error = nextEvent(p, 'discovery-error');
    p.start();
    expect((await error).error.message).toContain('maxRecords');
    expect(p.current()).toBeUndefined();
  });

  it('maps SRV records: priority groups, weights, targets resolved, unresolvable targets reported', async () => {
    const p = track(dns({ srv: '_http._tcp.svc.picket.test', servers: [server.server] }));
    const invalid = nextEvent(p, 'invalid-record');
    p.start();
    const instances = await untilInstances(p, (l) => l.length > 0);
    const view = instances
      .map((i) => ({ id: i.id, priority: i.priority, weight: i.weight }))
      .sort((a, b) => a.id.localeCompare(b.id));
    expect(view).toEqual([
      { id: '127.0.2.1:8001', priority: 0, weight: 30 },
      { id: '127.0.2.2:8002', priority: 0, weight: 0.15 },
      { id: '127.0.2.3:8002', priority: 0, weight: 0.15 },
      { id: '127.0.2.4:8003', priority: 1, weight: 5 },
    ]);
    expect((await invalid).reason).toContain('SRV target gone.picket.test did not resolve');
    expect(p.name).toBe('dns-srv:_http._tcp.svc.picket.test');
  });
});

describe.skipIf(!tool.available)('dns following changes and failures', () => {
  let server: DnsmasqServer;
  beforeAll(async () => {
    server = await startDnsmasq({ hosts: { 'web.picket.test': ['127.0.0.31', '127.0.0.32'] } });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('follows a changed record set within TTL plus a refresh, keeping ids of addresses that stay', async () => {
    const p = track(dns({ hostname: 'web.picket.test', port: 80, servers: [server.server] }));
    p.start();
    const before = await untilInstances(p, (l) => l.length === 2);
    await server.setHosts({ 'web.picket.test': ['127.0.0.32', '127.0.0.33'] });
    const changedAt = Date.now();
    const after = await untilInstances(p, (l) => urls(l).includes('http://127.0.0.33:80'));
    // TTL 1 s plus refresh (minTtlMs 1 s); generous for a loaded machine, still far below maxTtlMs.
    expect(Date.now() - changedAt).toBeLessThan(10_000);
    expect(urls(after)).toEqual(['http://127.0.0.32:80', 'http://127.0.0.33:80']);
    const kept = before.find((i) => i.id === '127.0.0.32:80');
    expect(after.find((i) => i.id === '127.0.0.32:80')).toEqual(kept);
  });

  it('keeps the last answer while the DNS server is away, and recovers when it returns', async () => {
    await server.setHosts({ 'web.picket.test': ['127.0.0.41'] });
    const p = track(
      dns({
        hostname: 'web.picket.test',
        port: 80,
        servers: [server.server],
        backoff: { initialMs: 100, maxMs: 500 },
      }),
    );
    p.start();
    await untilInstances(p, (l) => urls(l).join() === 'http://127.0.0.41:80');
    const failed = nextEvent(p, 'discovery-error');
    await server.stop();
    const { error } = await failed;
    expect(error.code).toBe('PICKET_DISCOVERY_FAILED');
    expect(urls(p.current())).toEqual(['http://127.0.0.41:80']);
    expect(p.lastError()).toBe(error);
    await server.setHosts({ 'web.picket.test': ['127.0.0.42'] });
    await server.start();
    await untilInstances(p, (l) => urls(l).join() === 'http://127.0.0.42:80');
    expect(p.lastError()).toBeUndefined();
  });

  it('close() leaves no timer, query or socket behind', async () => {
    await server.setHosts({ 'web.picket.test': ['127.0.0.51'] });
    const before = activeHandles();
    const p = dns({ hostname: 'web.picket.test', port: 80, servers: [server.server] });
    p.start();
    await untilInstances(p, (l) => l.length === 1);
    await p.close();
    await p.close();
    const after = activeHandles();
    for (const kind of ['Timeout', 'QueryReqWrap', 'UDPWrap', 'TCPSocketWrap']) {
      expect(after[kind] ?? 0, kind).toBeLessThanOrEqual(before[kind] ?? 0);
    }
  });
});

describe.skipIf(!tool.available)('dns SRV following changes', () => {
  let server: DnsmasqServer;
  beforeAll(async () => {
    server = await startDnsmasq({
      hosts: { 'a.picket.test': ['127.0.3.1'], 'b.picket.test': ['127.0.3.2'] },
      srv: [
        {
          name: '_http._tcp.moving.picket.test',
          target: 'a.picket.test',
          port: 9001,
          priority: 0,
          weight: 1,
        },
        {
          name: '_http._tcp.moving.picket.test',
          target: 'b.picket.test',
          port: 9002,
          priority: 0,
          weight: 1,
        },
      ],
    });
  });
  afterAll(async () => {
    await server?.close();
  });

  it("follows a target's changed addresses at the next refresh; a target that stops resolving leaves", async () => {
    // SRV answers carry no TTL through Node's resolver: the provider refreshes every refreshMs.
    const p = track(dns({ srv: '_http._tcp.moving.picket.test', servers: [server.server], refreshMs: 500 }));
    p.start();
    const before = await untilInstances(p, (l) => l.length === 2);
    expect(urls(before)).toEqual(['http://127.0.3.1:9001', 'http://127.0.3.2:9002']);
    await server.setHosts({ 'a.picket.test': ['127.0.3.1', '127.0.3.3'], 'b.picket.test': [] });
    const changedAt = Date.now();
    const after = await untilInstances(
      p,
      (l) => urls(l).join() === 'http://127.0.3.1:9001,http://127.0.3.3:9001',
    );
    expect(Date.now() - changedAt).toBeLessThan(10_000);
    // A target's SRV weight is shared by its addresses: now two, each with half.
    expect(after.map((i) => [i.id, i.weight]).sort()).toEqual([
      ['127.0.3.1:9001', 0.5],
      ['127.0.3.3:9001', 0.5],
    ]);
  });
});
