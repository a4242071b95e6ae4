// Discovery failures as the client sees them: a provider that has never delivered a snapshot
// makes requests fail at once with PICKET_NO_INSTANCES carrying the discovery error as `cause`
// (no waiting for a timeout); invalid records are skipped and reported on the provider while the
// client serves the valid ones; a broken source later keeps the last good list in force.

import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Client,
  createClient,
  dns,
  etcd,
  fileList,
  isPicketError,
  type Provider,
  type ProviderEvents,
} from 'picket';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type EtcdServer, etcdTool, startEtcd } from '../servers/etcd.ts';
import { freePort } from '../servers/ports.ts';
import { waitFor } from '../servers/wait.ts';
import {
  type Backend,
  Closer,
  describeErrors,
  instanceUrls,
  nextClientEvent,
  startBackend,
  startTraffic,
} from './support.ts';

const closer = new Closer();
afterEach(() => closer.closeAll());

let dir: string;
let backends: Backend[];
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'picket-discovery-errors-'));
  backends = await Promise.all(['a', 'b', 'c'].map((name) => startBackend({ name })));
});
afterAll(async () => {
  await Promise.all((backends ?? []).map((b) => b.close()));
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

/** Writes beside the file and renames over it, as an editor or config tool does. */
async function replaceFile(path: string, text: string): Promise<void> {
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, text);
  await rename(temp, path);
}

// Round robin (smooth weighted): every valid instance takes its turn, whatever its estimates, so
// "the client serves the valid ones" is about discovery, not about a strategy's preferences.
function clientOn(provider: Provider): Client {
  return closer.track(createClient({ service: 'inventory', discovery: provider, strategy: 'round-robin' }));
}

function collectInvalid(provider: Provider): ProviderEvents['invalid-record'][] {
  const seen: ProviderEvents['invalid-record'][] = [];
  provider.on('invalid-record', (e) => seen.push(e));
  return seen;
}

describe('a provider that has never delivered a snapshot', () => {
  // Each fails without any server: nothing listens on the port, or the file does not exist.
  const cases: [string, () => Promise<Provider>][] = [
    [
      'etcd with nothing listening',
      async () => etcd({ endpoints: [`http://127.0.0.1:${await freePort()}`], prefix: '/x/' }),
    ],
    [
      'dns with no server answering',
      async () =>
        dns({
          hostname: 'inventory.picket.test',
          port: 80,
          servers: [`127.0.0.1:${await freePort(true)}`],
          timeoutMs: 300,
          tries: 1,
        }),
    ],
    ['fileList of a missing file', async () => fileList(join(dir, 'missing.json'))],
  ];

  it.each(cases)(
    '%s: requests fail at once with PICKET_NO_INSTANCES whose cause is the discovery error',
    async (_, make) => {
      const provider = await make();
      const client = clientOn(provider);
      // The first failure may already have been reported by the time we listen.
      const error = provider.lastError() ?? (await nextClientEvent(client, 'discovery-error')).error;
      expect(error.code).toBe('PICKET_DISCOVERY_FAILED');
      expect(provider.lastError()).toBe(error);
      expect(client.snapshot().discovery).toMatchObject({ ready: false, lastError: error.message });

      const started = performance.now();
      const failure = await client.request({ path: '/items/1' }).then(
        () => undefined,
        (e: unknown) => e,
      );
      // At once: not after the client's 30 s timeout, nor after a retry backoff.
      expect(performance.now() - started).toBeLessThan(1000);
      expect(isPicketError(failure, 'PICKET_NO_INSTANCES'), String(failure)).toBe(true);
      expect((failure as Error).cause).toBe(provider.lastError());
      expect((failure as Error).message).toContain('client.ready()');

      // fetch reports it the WHATWG way, with the same error as its cause.
      const fetched = await client.fetch('/items/1').then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(fetched).toBeInstanceOf(TypeError);
      const cause = (fetched as Error).cause;
      expect(isPicketError(cause, 'PICKET_NO_INSTANCES')).toBe(true);
      expect((cause as Error).cause).toBe(provider.lastError());

      // ready() gives up at its deadline, with the same cause.
      const notReady = await client.ready({ timeoutMs: 200 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isPicketError(notReady, 'PICKET_TIMEOUT')).toBe(true);
      expect((notReady as Error).cause).toBe(provider.lastError());
    },
  );
});

describe('invalid records', () => {
  it('are skipped and reported by fileList; the client serves the valid ones and keeps them through a broken file', async () => {
    const [a, b, c] = backends as [Backend, Backend, Backend];
    const path = join(dir, 'instances.json');
    await replaceFile(
      path,
      JSON.stringify([
        a.url,
        'ftp://127.0.0.1:21',
        { url: b.url, weight: 2, zone: 'z1' },
        { url: 'http://127.0.0.1:1', weight: -1 },
        { url: `http://user:secret@127.0.0.1:${c.port}` },
        42,
        { url: a.url },
      ]),
    );
    const provider = fileList(path, { debounceMs: 20 });
    const invalid = collectInvalid(provider);
    const client = clientOn(provider);
    await client.ready();
    expect(instanceUrls(client)).toEqual([a.url, b.url].sort());
    // Each bad record is named with its reason; the repeated id is caught as well.
    await waitFor(() => invalid.length >= 5, { message: `only ${invalid.length} invalid-record events` });
    expect(invalid).toHaveLength(5);
    expect(invalid.every((e) => e.provider === `file:${path}`)).toBe(true);
    const reasons = invalid.map((e) => e.reason).join('\n');
    expect(reasons).toMatch(/must use http: or https:, not ftp:/);
    expect(reasons).toMatch(/`weight` must be a positive number/);
    expect(reasons).toMatch(/`url` must not carry credentials/);
    expect(reasons).toMatch(/got 42/);
    expect(reasons).toMatch(/is used by an earlier record; skipped/);
    expect(reasons).not.toContain('secret');

    const traffic = startTraffic(client);
    closer.track({ close: () => traffic.stop() });
    await traffic.more(100);
    expect(traffic.byServer.get('a')).toBeGreaterThan(0);
    expect(traffic.byServer.get('b')).toBeGreaterThan(0);
    expect(traffic.byServer.has('c')).toBe(false);

    // A half-written file: reported, and the last good list stays in force.
    const failed = nextClientEvent(client, 'discovery-error');
    await writeFile(path, `[${JSON.stringify(a.url)}, {"url": "http://127.0.0`);
    const { error } = await failed;
    expect(error.message).toContain(path);
    expect(instanceUrls(client)).toEqual([a.url, b.url].sort());
    await traffic.more(100);

    // A good file again: followed, and the error clears.
    const changed = nextClientEvent(client, 'instances', (e) => e.added.some((i) => i.url === c.url));
    await replaceFile(path, JSON.stringify([a.url, c.url]));
    await changed;
    expect(instanceUrls(client)).toEqual([a.url, c.url].sort());
    expect(client.snapshot().discovery.lastError).toBeUndefined();
    await traffic.more(100);
    await traffic.stop();
    expect(traffic.failed, describeErrors(traffic.errors)).toBe(0);
  });

  it('never carry URL credentials in invalid-record events', async () => {
    const path = join(dir, 'credentials.json');
    await replaceFile(path, JSON.stringify([(backends[0] as Backend).url, 'http://user:secret@127.0.0.1:1']));
    const provider = fileList(path);
    const invalid = collectInvalid(provider);
    const client = clientOn(provider);
    await client.ready();
    await waitFor(() => invalid.length > 0, { message: 'no invalid-record event' });
    expect(invalid[0]?.reason).not.toContain('secret');
    expect(JSON.stringify(invalid)).not.toContain('secret');
  });

  const tool = etcdTool();
  describe.skipIf(!tool.available)('against a real etcd', () => {
    let server: EtcdServer;
    beforeAll(async () => {
      server = await startEtcd();
    });
    afterAll(async () => {
      await server?.close();
    });

    it('are skipped and reported by etcd(), by key; the client serves the valid ones and follows fixes', async () => {
      const [a, b, c] = backends as [Backend, Backend, Backend];
      await server.put('/bad/a', a.url);
      await server.put('/bad/b', JSON.stringify({ url: b.url, metadata: { version: '2' } }));
      await server.put('/bad/json', '{"url": ');
      await server.put('/bad/scheme', 'gopher://127.0.0.1:70');
      await server.put('/bad/c', JSON.stringify({ url: c.url, priority: -3 }));
      const provider = etcd({ endpoints: [server.endpoint], prefix: '/bad/' });
      const invalid = collectInvalid(provider);
      const client = clientOn(provider);
      await client.ready();
      expect(instanceUrls(client)).toEqual([a.url, b.url].sort());
      expect(invalid.map((e) => e.reason.split(':')[0]).sort()).toEqual([
        'key /bad/c',
        'key /bad/json',
        'key /bad/scheme',
      ]);

      const traffic = startTraffic(client);
      closer.track({ close: () => traffic.stop() });
      await traffic.more(100);
      expect(traffic.byServer.has('c')).toBe(false);

      // The bad record is fixed in place: c joins.
      const joined = nextClientEvent(client, 'instances', (e) => e.added.some((i) => i.url === c.url));
      await server.put('/bad/c', JSON.stringify({ url: c.url, priority: 0 }));
      await joined;
      await traffic.more(200);
      expect(traffic.byServer.get('c')).toBeGreaterThan(0);
      await traffic.stop();
      expect(traffic.failed, describeErrors(traffic.errors)).toBe(0);
    });
  });
});
