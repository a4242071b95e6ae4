// etcd discovery and self-registration (@picket/discovery) through createClient, against a real
// etcd (Debian's etcd-server) on loopback ports and node:http instances: instances registered
// with registerEtcd get traffic, an instance whose lease lapses (its process killed) leaves, a new
// registration joins, and etcd going away leaves the client serving.

import { fileURLToPath } from 'node:url';
import { type Client, createClient, etcd, type Registrar, registerEtcd } from 'picket';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type ServerProcess, spawnServer } from '../servers/child.ts';
import { type EtcdServer, etcdTool, startEtcd } from '../servers/etcd.ts';
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

const tool = etcdTool();
const REGISTER_CHILD = fileURLToPath(
  new URL('../../packages/discovery/src/fixtures/register-child.ts', import.meta.url),
);
// The crashed instance's lease: etcd expires it this long after the last keep-alive (and checks
// leases every 500 ms); the deadline below is generous for a loaded machine.
const CHILD_TTL_MS = 2000;

let server: EtcdServer;
let backends: Backend[];
const closer = new Closer();
afterEach(() => closer.closeAll());

function register(prefix: string, backend: Backend, ttlMs = 10_000): Promise<Registrar> {
  const registrar = closer.track(
    registerEtcd({
      endpoints: [server.endpoint],
      key: `${prefix}${backend.name}`,
      instance: backend.url,
      ttlMs,
      revokeTimeoutMs: 500,
      backoff: { initialMs: 100, maxMs: 500 },
    }),
  );
  return registrar.start().then(() => registrar);
}

/** Registers `backend` from a child process that keeps its lease alive until it is killed. */
async function registerFromChild(prefix: string, backend: Backend): Promise<ServerProcess> {
  const child = spawnServer(
    process.execPath,
    ['--conditions=picket-source', REGISTER_CHILD],
    'register-child',
    {
      env: {
        PICKET_REGISTER_OPTIONS: JSON.stringify({
          endpoints: [server.endpoint],
          key: `${prefix}${backend.name}`,
          instance: backend.url,
          ttlMs: CHILD_TTL_MS,
        }),
      },
    },
  );
  closer.track({ close: () => child.stop('SIGKILL') });
  await child.waitForOutput(/registered/, { after: 0, timeoutMs: 30_000 });
  return child;
}

function clientFor(prefix: string): Client {
  return closer.track(
    createClient({
      service: 'inventory',
      discovery: etcd({ endpoints: [server.endpoint], prefix, backoff: { initialMs: 100, maxMs: 500 } }),
    }),
  );
}

function trafficOn(client: Client) {
  const traffic = startTraffic(client, { workers: 2 });
  closer.track({ close: () => traffic.stop() });
  return traffic;
}

const urlsOf = (list: readonly Backend[]) => list.map((b) => b.url).sort();

describe.skipIf(!tool.available)('etcd() discovery through createClient, against a real etcd', () => {
  beforeAll(async () => {
    server = await startEtcd();
    backends = await Promise.all(['a', 'b', 'c', 'd'].map((name) => startBackend({ name })));
  });
  afterAll(async () => {
    await server?.close();
    await Promise.all((backends ?? []).map((b) => b.close()));
  });

  it('client.ready() resolves on the first snapshot, which holds the registered instances', async () => {
    const [a, b] = backends as [Backend, Backend];
    await Promise.all([register('/ready/', a), register('/ready/', b)]);
    const client = clientFor('/ready/');
    // Listing is asynchronous: nothing has arrived yet.
    expect(client.snapshot().discovery.ready).toBe(false);
    let firstSnapshotAt: number | undefined;
    client.on('instances', () => {
      firstSnapshotAt ??= performance.now();
    });
    await client.ready({ timeoutMs: 15_000 });
    expect(firstSnapshotAt).toBeDefined();
    expect(client.snapshot().discovery).toMatchObject({ provider: 'etcd:/ready/', ready: true });
    expect(instanceUrls(client)).toEqual(urlsOf([a, b]));
    const res = await client.request({ path: '/ready' });
    await res.body.text();
    expect(res.statusCode).toBe(200);
  });

  it('registered instances get traffic; one whose lease lapses leaves; a new registration joins', async () => {
    const [a, b, c, d] = backends as [Backend, Backend, Backend, Backend];
    await Promise.all([register('/svc/', a), register('/svc/', b)]);
    const crashing = await registerFromChild('/svc/', c);
    const client = clientFor('/svc/');
    await client.ready({ timeoutMs: 15_000 });
    expect(instanceUrls(client)).toEqual(urlsOf([a, b, c]));
    const traffic = trafficOn(client);
    await traffic.more(150);
    await waitFor(() => [a, b, c].every((x) => x.requests > 0), {
      message: 'not every instance got traffic',
    });

    // The process holding c's lease dies; c's server itself keeps answering, so only discovery
    // can take it out of rotation.
    const left = nextClientEvent(
      client,
      'instances',
      (e) => e.removed.some((i) => i.url === c.url),
      CHILD_TTL_MS + 15_000,
    );
    await crashing.stop('SIGKILL');
    const killedAt = performance.now();
    const { at, instances } = await left;
    expect(at - killedAt).toBeGreaterThanOrEqual(CHILD_TTL_MS * 0.5);
    expect(instances.map((i) => i.url).sort()).toEqual(urlsOf([a, b]));
    const servedWhenGone = c.requests;
    await traffic.more(150);
    expect(c.requests - servedWhenGone).toBeLessThanOrEqual(2);

    const joined = nextClientEvent(client, 'instances', (e) => e.added.some((i) => i.url === d.url));
    await register('/svc/', d);
    await joined;
    expect(instanceUrls(client)).toEqual(urlsOf([a, b, d]));
    // Peak-EWMA starts a newcomer at a pessimistic latency, so its share grows over seconds.
    const servedBefore = d.requests;
    await waitFor(() => d.requests - servedBefore > 10, { message: 'the new instance to take traffic' });

    await traffic.stop();
    expect(traffic.failed, describeErrors(traffic.errors)).toBe(0);
  });

  // Last: it kills etcd. It is started again at the end, on the same data and port.
  it('keeps serving the last snapshot when etcd goes away, and resumes when it returns', async () => {
    const [a, b, c] = backends as [Backend, Backend, Backend];
    await Promise.all([register('/away/', a), register('/away/', b), register('/away/', c)]);
    const client = clientFor('/away/');
    await client.ready({ timeoutMs: 15_000 });
    expect(instanceUrls(client)).toEqual(urlsOf([a, b, c]));
    const traffic = trafficOn(client);
    await traffic.more(60);

    const failed = nextClientEvent(client, 'discovery-error');
    await server.stop('SIGKILL');
    const { error } = await failed;
    expect(error.code).toBe('PICKET_DISCOVERY_FAILED');
    expect(client.snapshot().discovery.lastError).toBeDefined();
    const before = [a, b, c].map((x) => x.requests);
    await traffic.more(300);
    [a, b, c].forEach((x, i) => {
      expect(x.requests - (before[i] as number), x.name).toBeGreaterThan(0);
    });
    expect(instanceUrls(client)).toEqual(urlsOf([a, b, c]));

    await server.start();
    await waitFor(() => client.snapshot().discovery.lastError === undefined, {
      message: 'the etcd provider did not recover after etcd returned',
    });
    expect(instanceUrls(client)).toEqual(urlsOf([a, b, c]));
    await traffic.stop();
    expect(traffic.failed, describeErrors(traffic.errors)).toBe(0);
  });
});
