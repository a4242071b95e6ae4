import { fileURLToPath } from 'node:url';
import { isPicketError } from '@picket/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spawnServer } from '../../../test/servers/child.ts';
import { type EtcdServer, etcdTool, startEtcd } from '../../../test/servers/etcd.ts';
import { startTcpProxy } from '../../../test/servers/tcp-proxy.ts';
import { etcd } from './etcd.ts';
import type { Provider } from './provider.ts';
import { registerEtcd } from './register-etcd.ts';
import type { Registrar, RegistrarEvents } from './registrar.ts';
import { activeHandles, untilInstances, urls } from './testing.ts';

const tool = etcdTool();
const closers: (Provider | Registrar)[] = [];
const track = <T extends Provider | Registrar>(x: T): T => {
  closers.push(x);
  return x;
};
afterEach(async () => {
  await Promise.all(closers.splice(0).map((x) => x.close()));
});

function next<K extends keyof RegistrarEvents>(
  r: Registrar,
  name: K,
  timeoutMs = 20_000,
): Promise<RegistrarEvents[K]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${name} within ${timeoutMs} ms`)), timeoutMs);
    const off = r.on(name, (payload) => {
      clearTimeout(timer);
      off();
      resolve(payload);
    });
  });
}

describe('registerEtcd options', () => {
  it('rejects an invalid instance record', () => {
    try {
      registerEtcd({ endpoints: ['http://127.0.0.1:2379'], key: '/k', instance: 'ftp://10.0.0.1' });
      expect.unreachable();
    } catch (error) {
      expect(isPicketError(error, 'PICKET_INVALID_OPTIONS')).toBe(true);
      expect((error as Error).message).toContain('`instance`');
    }
  });

  it('rejects a TTL under a second', () => {
    expect(() =>
      registerEtcd({ endpoints: ['http://127.0.0.1:2379'], key: '/k', instance: 'http://a:1', ttlMs: 10 }),
    ).toThrow(/`ttlMs`/);
  });
});

describe.skipIf(!tool.available)('registerEtcd against a real etcd', () => {
  let server: EtcdServer;
  beforeAll(async () => {
    server = await startEtcd();
  });
  afterAll(async () => {
    await server?.close();
  });

  const watch = (prefix: string) => {
    const p = track(etcd({ endpoints: [server.endpoint], prefix, backoff: { initialMs: 50, maxMs: 300 } }));
    p.start();
    return p;
  };

  it('joins: the instance appears to a watcher, record fields intact', async () => {
    const p = watch('/r1/');
    const r = track(
      registerEtcd({
        endpoints: [server.endpoint],
        key: '/r1/a',
        instance: { url: 'http://127.0.0.1:8001', zone: 'z1', weight: 2, metadata: { version: '1.2.3' } },
      }),
    );
    const registered = next(r, 'registered');
    await r.start();
    await registered;
    expect(r.registered()).toBe(true);
    const [instance] = await untilInstances(p, (l) => l.length === 1);
    expect(instance).toMatchObject({
      url: 'http://127.0.0.1:8001',
      zone: 'z1',
      weight: 2,
      metadata: { version: '1.2.3' },
    });
  });

  it('stays while kept alive past its TTL; an unkept lease of the same TTL lapses and leaves', async () => {
    const p = watch('/r2/');
    const r = track(
      registerEtcd({
        endpoints: [server.endpoint],
        key: '/r2/kept',
        instance: 'http://127.0.0.1:8001',
        ttlMs: 2000,
      }),
    );
    await r.start();
    await untilInstances(p, (l) => l.length === 1);
    let lostKept = false;
    p.on('snapshot', (e) => {
      if (!urls(e.instances).includes('http://127.0.0.1:8001')) lostKept = true;
    });
    // Two lapsed leases in a row: the kept one outlives both, more than twice its TTL.
    for (const port of [8002, 8003]) {
      const lease = await server.grantLease(2);
      await server.put(`/r2/unkept-${port}`, `http://127.0.0.1:${port}`, lease);
      await untilInstances(p, (l) => urls(l).includes(`http://127.0.0.1:${port}`));
      await untilInstances(p, (l) => !urls(l).includes(`http://127.0.0.1:${port}`));
    }
    expect(lostKept).toBe(false);
    expect(urls(p.current())).toEqual(['http://127.0.0.1:8001']);
  });

  it('close() revokes the lease: the key goes at once, not at the TTL', async () => {
    const p = watch('/r3/');
    const r = registerEtcd({
      endpoints: [server.endpoint],
      key: '/r3/a',
      instance: 'http://127.0.0.1:8001',
      ttlMs: 120_000,
    });
    await r.start();
    await untilInstances(p, (l) => l.length === 1);
    const closedAt = Date.now();
    await r.close();
    await r.close();
    expect(r.registered()).toBe(false);
    await untilInstances(p, (l) => l.length === 0);
    expect(Date.now() - closedAt).toBeLessThan(20_000);
  });

  it('a crashed process leaves when its lease expires', async () => {
    const p = watch('/r4/');
    const child = spawnServer(
      process.execPath,
      ['--conditions=picket-source', fileURLToPath(new URL('./fixtures/register-child.ts', import.meta.url))],
      'register-child',
      {
        env: {
          PICKET_REGISTER_OPTIONS: JSON.stringify({
            endpoints: [server.endpoint],
            key: '/r4/crashing',
            instance: 'http://127.0.0.1:8101',
            ttlMs: 2000,
          }),
        },
      },
    );
    try {
      await child.waitForOutput(/registered/, { after: 0, timeoutMs: 30_000 });
    } catch (error) {
      await child.stop('SIGKILL');
      throw error;
    }
    await untilInstances(p, (l) => urls(l).includes('http://127.0.0.1:8101'));
    await child.stop('SIGKILL');
    await untilInstances(p, (l) => l.length === 0);
  });

  it('registers again when the lease is lost behind its back', async () => {
    const p = watch('/r5/');
    const r = track(
      registerEtcd({
        endpoints: [server.endpoint],
        key: '/r5/a',
        instance: 'http://127.0.0.1:8001',
        ttlMs: 3000,
      }),
    );
    await r.start();
    await untilInstances(p, (l) => l.length === 1);
    const range = await server.call('/v3/kv/range', { key: Buffer.from('/r5/a').toString('base64') });
    const lease = (range.kvs as { lease: string }[])[0]!.lease;
    const lapsed = next(r, 'registration-error');
    const again = next(r, 'registered');
    const gone = untilInstances(p, (l) => l.length === 0);
    await server.call('/v3/lease/revoke', { ID: lease });
    await gone;
    expect((await lapsed).error.message).toContain('the lease expired');
    await again;
    await untilInstances(p, (l) => l.length === 1);
  });

  it('keeps trying while etcd is unreachable, and start() resolves once registered', async () => {
    const proxy = await startTcpProxy(server.clientPort);
    try {
      proxy.block(true);
      const r = track(
        registerEtcd({
          endpoints: [proxy.endpoint],
          key: '/r6/a',
          instance: 'http://127.0.0.1:8001',
          backoff: { initialMs: 50, maxMs: 200 },
        }),
      );
      const failed = next(r, 'registration-error');
      const started = r.start();
      expect((await failed).error.code).toBe('PICKET_DISCOVERY_FAILED');
      expect(r.registered()).toBe(false);
      proxy.block(false);
      await started;
      expect(r.registered()).toBe(true);
    } finally {
      await Promise.all(closers.splice(0).map((x) => x.close()));
      await proxy.close();
    }
  });

  it('start() rejects when closed before registering, and nothing is left unhandled', async () => {
    const proxy = await startTcpProxy(server.clientPort);
    proxy.block(true);
    const r = registerEtcd({ endpoints: [proxy.endpoint], key: '/r7/a', instance: 'http://127.0.0.1:8001' });
    const started = r.start();
    await r.close();
    await expect(started).rejects.toMatchObject({ code: 'PICKET_CLIENT_CLOSED' });
    await proxy.close();
  });

  it('close() leaves no timer or socket behind', async () => {
    const before = activeHandles();
    const r = registerEtcd({
      endpoints: [server.endpoint],
      key: '/r8/a',
      instance: 'http://127.0.0.1:8001',
      ttlMs: 3000,
    });
    await r.start();
    await r.close();
    const after = activeHandles();
    for (const kind of ['Timeout', 'TCPSocketWrap', 'TCPWrap']) {
      expect(after[kind] ?? 0, kind).toBeLessThanOrEqual(before[kind] ?? 0);
    }
  });
});
