import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isPicketError } from '@picket/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type EtcdServer, etcdTool, postJson, startEtcd } from '../../../test/servers/etcd.ts';
import { freePort } from '../../../test/servers/ports.ts';
import { startTcpProxy, type TcpProxy } from '../../../test/servers/tcp-proxy.ts';
import { waitFor } from '../../../test/servers/wait.ts';
import { etcd, parseValue } from './etcd.ts';
import { b64, prefixEnd } from './etcd-client.ts';
import type { Provider } from './provider.ts';
import { activeHandles, nextEvent, untilInstances, urls } from './testing.ts';

const tool = etcdTool();
const open: Provider[] = [];
const track = (p: Provider) => {
  open.push(p);
  return p;
};
afterEach(async () => {
  await Promise.all(open.splice(0).map((p) => p.close()));
});
const fast = { backoff: { initialMs: 50, maxMs: 300 } };
const RANGE = 'POST /v3/kv/range ';
const WATCH = 'POST /v3/watch ';

describe('etcd helpers and options', () => {
  it('computes the end of a prefix range on bytes', () => {
    const dec = (s: string) => Buffer.from(s, 'base64');
    expect(dec(prefixEnd('/svc/')).toString()).toBe('/svc0');
    expect([...dec(prefixEnd('a\u00ff'))]).toEqual([0x61, 0xc3, 0xc0]);
    expect([...dec(prefixEnd(Buffer.from([0xff, 0xff]).toString('latin1')))]).toEqual([
      0xc3, 0xbf, 0xc3, 0xc0,
    ]);
  });

  it('reads JSON records and plain URLs, and explains bad JSON', () => {
    expect(parseValue(' http://10.0.0.1:80 ')).toEqual({ ok: true, record: 'http://10.0.0.1:80' });
    expect(parseValue('{"url":"http://a:1"}')).toEqual({ ok: true, record: { url: 'http://a:1' } });
    const bad = parseValue('{"url":');
    expect(bad.ok).toBe(false);
  });

  it('rejects a username without a password and an endpoint with credentials', () => {
    expect(() => etcd({ endpoints: ['http://127.0.0.1:2379'], prefix: '/a/', username: 'u' })).toThrow(
      /`username` and `password` go together/,
    );
    try {
      etcd({ endpoints: ['http://user:pw@127.0.0.1:2379'], prefix: '/a/' });
      expect.unreachable();
    } catch (error) {
      expect(isPicketError(error, 'PICKET_INVALID_OPTIONS')).toBe(true);
      expect((error as Error).message).toContain('`endpoints[0]`');
    }
  });
});

describe('etcd against a hostile gateway', () => {
  it('reports oversized responses, malformed answers and broken streams without crashing', async () => {
    let mode: 'huge' | 'garbage' | 'ok' = 'huge';
    let compacted = 0;
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        if (req.url === '/v3/kv/range') {
          if (mode === 'huge') res.end(JSON.stringify({ kvs: [{ key: 'eA==', value: 'x'.repeat(4096) }] }));
          else if (mode === 'garbage') res.end('{"kvs": "nope", "header": {"revision": {}}}');
          else {
            const kv = { key: b64('/h/a'), value: b64('http://127.0.0.1:8001') };
            res.end(JSON.stringify({ header: { revision: '5' }, kvs: [kv, { key: b64('/h/b'), value: 7 }] }));
          }
        } else if (mode !== 'ok') {
          res.write('{"result":{"created":true}}\n');
          res.end('this is not json\n');
        } else if (compacted++ < 3) {
          // A server that says "compacted" again and again must not drive a hot loop.
          res.end('{"result":{"created":true}}\n{"result":{"canceled":true,"compact_revision":"9"}}\n');
        } else {
          res.write('{"result":{"created":true}}\n');
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const p = track(etcd({ endpoints: [endpoint], prefix: '/h/', maxResponseBytes: 2048, ...fast }));
      const messages: string[] = [];
      p.on('discovery-error', (e) => messages.push(e.error.message));
      const invalid: string[] = [];
      p.on('invalid-record', (e) => invalid.push(e.reason));
      p.start();
      await waitFor(() => messages.some((m) => m.includes('larger than 2048')));
      mode = 'garbage';
      // A nonsensical list is taken as empty; the broken watch stream is reported.
      await waitFor(() => messages.some((m) => m.includes('watching') && m.includes('stream')));
      expect(p.current()).toEqual([]);
      mode = 'ok';
      await untilInstances(p, (l) => urls(l).join() === 'http://127.0.0.1:8001');
      await waitFor(() => compacted > 3);
      expect(invalid.length).toBeGreaterThan(0);
      for (const reason of invalid) expect(reason).toContain('key /h/b');
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe.skipIf(!tool.available)('etcd against a real etcd', () => {
  let server: EtcdServer;
  let proxy: TcpProxy;
  beforeAll(async () => {
    server = await startEtcd();
    proxy = await startTcpProxy(server.clientPort, [RANGE, WATCH]);
  });
  afterAll(async () => {
    await proxy?.close();
    await server?.close();
  });

  it('lists the prefix, then follows puts and deletes', async () => {
    await server.put('/t1/a', 'http://127.0.0.1:8001');
    await server.put(
      '/t1/b',
      JSON.stringify({ url: 'http://127.0.0.1:8002', zone: 'z1', metadata: { v: 1 } }),
    );
    await server.put('/t10/other', 'http://127.0.0.1:8999');
    const p = track(etcd({ endpoints: [server.endpoint], prefix: '/t1/' }));
    p.start();
    const first = await untilInstances(p, (l) => l.length > 0);
    expect(urls(first)).toEqual(['http://127.0.0.1:8001', 'http://127.0.0.1:8002']);
    expect(first.find((i) => i.zone === 'z1')?.metadata).toEqual({ v: 1 });
    await server.put('/t1/c', 'http://127.0.0.1:8003');
    await untilInstances(p, (l) => urls(l).includes('http://127.0.0.1:8003'));
    await server.del('/t1/a');
    await untilInstances(p, (l) => urls(l).join() === 'http://127.0.0.1:8002,http://127.0.0.1:8003');
    await server.put('/t1/b', 'http://127.0.0.1:8012');
    await untilInstances(p, (l) => urls(l).join() === 'http://127.0.0.1:8003,http://127.0.0.1:8012');
  });

  it('skips and reports invalid values, naming the key', async () => {
    await server.put('/t2/good', 'http://127.0.0.1:8001');
    await server.put('/t2/json', '{"url": ');
    const p = track(etcd({ endpoints: [server.endpoint], prefix: '/t2/' }));
    const reasons: string[] = [];
    p.on('invalid-record', (e) => reasons.push(e.reason));
    p.start();
    await untilInstances(p, (l) => l.length === 1);
    expect(reasons).toEqual([expect.stringMatching(/^key \/t2\/json: value is not valid JSON/)]);
    const next = nextEvent(p, 'invalid-record');
    await server.put('/t2/ftp', 'ftp://127.0.0.1:21');
    expect((await next).reason).toMatch(/^key \/t2\/ftp: .*ftp:/);
    await server.put('/t2/json', 'http://127.0.0.1:8002');
    await untilInstances(p, (l) => l.length === 2);
  });

  it('refuses more keys than maxRecords, keeping the last snapshot', async () => {
    for (let i = 0; i < 4; i++) await server.put(`/t3/${i}`, `http://127.0.0.1:${8000 + i}`);
    const p = track(etcd({ endpoints: [server.endpoint], prefix: '/t3/', maxRecords: 3, ...fast }));
    const failed = nextEvent(p, 'discovery-error');
    p.start();
    expect((await failed).error.message).toContain('more than `maxRecords` (3)');
    expect(p.current()).toBeUndefined();
  });

  it('tries the endpoints in turn', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    await server.put('/t4/a', 'http://127.0.0.1:8001');
    const p = track(etcd({ endpoints: [dead, server.endpoint], prefix: '/t4/' }));
    p.start();
    await untilInstances(p, (l) => l.length === 1);
  });

  it('resumes the watch from the last revision after a disconnect, without listing again', async () => {
    await server.put('/t5/a', 'http://127.0.0.1:8001');
    const ranges = proxy.count(RANGE);
    const watches = proxy.count(WATCH);
    const p = track(etcd({ endpoints: [proxy.endpoint], prefix: '/t5/', ...fast }));
    p.start();
    await untilInstances(p, (l) => l.length === 1);
    await waitFor(() => proxy.count(WATCH) > watches, { message: 'the watch did not start' });
    const failed = nextEvent(p, 'discovery-error');
    proxy.block(true);
    expect((await failed).error.message).toContain('etcd:/t5/: watching');
    // Changes the client cannot see while it is cut off.
    await server.put('/t5/b', 'http://127.0.0.1:8002');
    await server.del('/t5/a');
    expect(urls(p.current())).toEqual(['http://127.0.0.1:8001']);
    proxy.block(false);
    await untilInstances(p, (l) => urls(l).join() === 'http://127.0.0.1:8002');
    expect(p.lastError()).toBeUndefined();
    expect(proxy.count(RANGE) - ranges).toBe(1);
    expect(proxy.count(WATCH) - watches).toBeGreaterThanOrEqual(2);
  });

  it('lists again when the history to resume from was compacted', async () => {
    await server.put('/t6/a', 'http://127.0.0.1:8001');
    const ranges = proxy.count(RANGE);
    const watches = proxy.count(WATCH);
    const p = track(etcd({ endpoints: [proxy.endpoint], prefix: '/t6/', ...fast }));
    p.start();
    await untilInstances(p, (l) => l.length === 1);
    await waitFor(() => proxy.count(WATCH) > watches, { message: 'the watch did not start' });
    const failed = nextEvent(p, 'discovery-error');
    proxy.block(true);
    await failed;
    await server.put('/t6/b', 'http://127.0.0.1:8002');
    await server.del('/t6/a');
    await server.put('/unrelated', 'x');
    await server.compact(await server.revision());
    proxy.block(false);
    await untilInstances(p, (l) => urls(l).join() === 'http://127.0.0.1:8002');
    expect(proxy.count(RANGE) - ranges).toBe(2);
  });

  it('close() leaves no timer or socket behind', async () => {
    await server.put('/t7/a', 'http://127.0.0.1:8001');
    const before = activeHandles();
    const p = etcd({ endpoints: [server.endpoint], prefix: '/t7/' });
    p.start();
    await untilInstances(p, (l) => l.length === 1);
    await p.close();
    const after = activeHandles();
    for (const kind of ['Timeout', 'TCPSocketWrap', 'TCPWrap']) {
      expect(after[kind] ?? 0, kind).toBeLessThanOrEqual(before[kind] ?? 0);
    }
  });
});

describe.skipIf(!tool.available)('etcd going away', () => {
  let server: EtcdServer;
  beforeAll(async () => {
    server = await startEtcd();
  });
  afterAll(async () => {
    await server?.close();
  });

  it('keeps the last snapshot while etcd is down, and recovers when it returns', async () => {
    await server.put('/g/a', 'http://127.0.0.1:8001');
    const p = track(etcd({ endpoints: [server.endpoint], prefix: '/g/', ...fast }));
    p.start();
    await untilInstances(p, (l) => l.length === 1);
    const failed = nextEvent(p, 'discovery-error');
    await server.stop('SIGKILL');
    const { error } = await failed;
    expect(error.code).toBe('PICKET_DISCOVERY_FAILED');
    // Still failing a while later, and still serving the last snapshot.
    await nextEvent(p, 'discovery-error');
    expect(urls(p.current())).toEqual(['http://127.0.0.1:8001']);
    await server.start();
    await server.put('/g/b', 'http://127.0.0.1:8002');
    await untilInstances(p, (l) => l.length === 2);
    expect(p.lastError()).toBeUndefined();
  });

  it('authenticates, renews its token after etcd restarts, and never reveals the password', async () => {
    const password = 'pw-Very-Secret-42';
    await server.call('/v3/auth/user/add', { name: 'root', password });
    await server.call('/v3/auth/role/add', { name: 'root' });
    await server.call('/v3/auth/user/grant', { user: 'root', role: 'root' });
    await server.call('/v3/auth/enable', {});
    const messages: string[] = [];
    const wrong = track(
      etcd({
        endpoints: [server.endpoint],
        prefix: '/auth/',
        username: 'root',
        password: 'not-the-password',
        ...fast,
      }),
    );
    const denied = nextEvent(wrong, 'discovery-error');
    wrong.start();
    const { error } = await denied;
    expect(error.message).toContain('authentication failed');
    expect(JSON.stringify({ m: error.message, c: String(error.cause), s: error.stack })).not.toContain(
      'not-the-password',
    );

    const p = track(
      etcd({ endpoints: [server.endpoint], prefix: '/auth/', username: 'root', password, ...fast }),
    );
    p.on('discovery-error', (e) => messages.push(e.error.message, String((e.error.cause as Error)?.message)));
    p.start();
    const rootToken = await server.call('/v3/auth/authenticate', { name: 'root', password });
    const headers = { authorization: String(rootToken.token) };
    const put = (key: string, value: string) =>
      postJson(
        `${server.endpoint}/v3/kv/put`,
        { key: Buffer.from(key).toString('base64'), value: Buffer.from(value).toString('base64') },
        headers,
      );
    await put('/auth/a', 'http://127.0.0.1:8001');
    await untilInstances(p, (l) => l.length === 1);
    // Simple tokens live in the member's memory: after a restart the provider's token is stale.
    await server.stop();
    await server.start();
    const fresh = await server.call('/v3/auth/authenticate', { name: 'root', password });
    headers.authorization = String(fresh.token);
    await put('/auth/b', 'http://127.0.0.1:8002');
    await untilInstances(p, (l) => l.length === 2);
    for (const message of messages) expect(message).not.toContain(password);
  });
});
