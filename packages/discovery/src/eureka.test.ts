import { isPicketError } from '@picket/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type EurekaServer, eurekaInstance, startEurekaServer } from '../../../test/servers/eureka.ts';
import type { RecordedRequest } from '../../../test/servers/registry-server.ts';
import { type EurekaOptions, eureka, reconcileHash } from './eureka.ts';
import type { Provider, ProviderEvents } from './provider.ts';
import { nextEvent, untilInstances, urls } from './testing.ts';

let server: EurekaServer;
const providers: Provider[] = [];

beforeEach(async () => {
  server = await startEurekaServer();
});

afterEach(async () => {
  await Promise.all(providers.splice(0).map((p) => p.close()));
  await server.close();
});

function start(options: Partial<EurekaOptions> = {}) {
  const provider = eureka({
    url: server.url,
    app: 'inventory',
    deltaIntervalMs: 100,
    backoff: { initialMs: 50, maxMs: 200 },
    ...options,
  });
  providers.push(provider);
  const errors: ProviderEvents['discovery-error'][] = [];
  const invalid: ProviderEvents['invalid-record'][] = [];
  provider.on('discovery-error', (e) => errors.push(e));
  provider.on('invalid-record', (e) => invalid.push(e));
  provider.start();
  return { provider, errors, invalid };
}

const isFull = (r: RecordedRequest) => r.method === 'GET' && r.path === '/eureka/apps';
const isDelta = (r: RecordedRequest) => r.method === 'GET' && r.path === '/eureka/apps/delta';
const fullFetches = () => server.http.requests.filter(isFull).length;
const up = (id: string, host: string, extra: Partial<Parameters<typeof eurekaInstance>[0]> = {}) =>
  eurekaInstance({ app: 'inventory', instanceId: id, hostName: host, ipAddr: host, ...extra });

/** Resolves after `n` more delta fetches have been answered. */
async function deltas(n: number) {
  for (let i = 0; i < n; i++) await server.http.waitForRequest(isDelta);
}

describe('eureka', () => {
  it('fetches the registry as JSON and keeps this app’s UP instances, preferring the secure port', async () => {
    server.put(up('a', '10.0.0.1', { metadata: { zone: 'eu-1a' } }));
    server.put(up('b', '10.0.0.2', { secure: true, securePort: 8443 }));
    server.put(up('c', '10.0.0.3', { status: 'DOWN' }));
    server.put(up('d', '10.0.0.4', { status: 'STARTING' }));
    server.put(eurekaInstance({ app: 'billing', instanceId: 'x', hostName: '10.9.9.9' }));
    const { provider } = start();
    const instances = await untilInstances(provider, (list) => list.length === 2);
    expect(instances.map((i) => [i.id, i.url, i.zone])).toEqual([
      ['a', 'http://10.0.0.1:8080', 'eu-1a'],
      ['b', 'https://10.0.0.2:8443', undefined],
    ]);
    expect(instances[0]?.metadata).toMatchObject({
      app: 'INVENTORY',
      instanceId: 'a',
      metadata: { zone: 'eu-1a' },
    });
    const first = server.http.requests[0];
    expect(first?.path).toBe('/eureka/apps');
    expect(first?.headers.accept).toContain('application/json');
  });

  it('applies ADDED, MODIFIED and DELETED deltas locally without fetching everything again', async () => {
    server.put(up('a', '10.0.0.1'));
    server.put(up('b', '10.0.0.2'));
    const { provider } = start();
    await untilInstances(provider, (list) => list.length === 2);
    await deltas(1);
    server.expireDeltas(); // the first delta would otherwise replay the initial registrations
    server.put(up('c', '10.0.0.3'));
    server.setStatus('inventory', 'a', 'OUT_OF_SERVICE');
    server.remove('inventory', 'b');
    await untilInstances(provider, (list) => urls(list).join() === 'http://10.0.0.3:8080');
    server.setStatus('inventory', 'a', 'UP');
    await untilInstances(provider, (list) => list.length === 2);
    expect(fullFetches()).toBe(1);
  });

  it('fetches the whole registry again when the local hash disagrees with apps__hashcode', async () => {
    server.put(up('a', '10.0.0.1'));
    const { provider, errors } = start();
    await untilInstances(provider, (list) => list.length === 1);
    await deltas(1);
    // A change whose delta the client never sees (the queue rolled over while it was away).
    server.expireDeltas();
    server.putSilently(up('b', '10.0.0.2'));
    await untilInstances(provider, (list) => list.length === 2);
    expect(fullFetches()).toBe(2);
    expect(errors).toEqual([]);
  });

  it('falls back to full fetches when the server has deltas disabled (403)', async () => {
    server.disableDelta = true;
    server.put(up('a', '10.0.0.1'));
    const { provider, errors } = start();
    await untilInstances(provider, (list) => list.length === 1);
    server.put(up('b', '10.0.0.2'));
    await untilInstances(provider, (list) => list.length === 2);
    const from = server.http.requests.length;
    await server.http.waitForRequest(isFull, { from });
    await server.http.waitForRequest(isFull, { from: server.http.requests.length });
    expect(server.http.requests.slice(from).filter(isDelta)).toHaveLength(0);
    expect(errors).toEqual([]);
  });

  it('reads the older codec that writes a one-instance list as the instance itself', async () => {
    server.singleAsObject = true;
    server.put(up('a', '10.0.0.1'));
    const { provider } = start();
    await untilInstances(provider, (list) => list.length === 1);
    server.put(up('b', '10.0.0.2'));
    await untilInstances(provider, (list) => list.length === 2);
  });

  it('skips and reports instances that cannot be dialled, once while they stay', async () => {
    server.put(up('ok', '10.0.0.1'));
    server.put({ ...up('no-port', '10.0.0.2'), port: { $: 8080, '@enabled': 'false' } });
    server.put(up('bad-host', 'bad host name'));
    const { provider, invalid } = start();
    await untilInstances(provider, (list) => list.length === 1);
    await deltas(3);
    expect(invalid.map((e) => e.reason).sort()).toEqual([
      '`host` must be a host name or IP address, got "bad host name"',
      'neither `port` nor `securePort` is enabled',
    ]);
  });

  it('keeps the last snapshot while Eureka is down, then fetches everything again', async () => {
    server.put(up('a', '10.0.0.1'));
    const { provider } = start();
    await untilInstances(provider, (list) => list.length === 1);
    await server.http.stop();
    const { error } = await nextEvent(provider, 'discovery-error');
    expect(error.code).toBe('PICKET_DISCOVERY_FAILED');
    expect(urls(provider.current())).toEqual(['http://10.0.0.1:8080']);
    server.put(up('b', '10.0.0.2'));
    const before = fullFetches();
    await server.http.start();
    await untilInstances(provider, (list) => list.length === 2);
    expect(fullFetches()).toBe(before + 1);
    expect(provider.lastError()).toBeUndefined();
  });

  it('moves to the next of several servers when one fails, within the same fetch, and stays there', async () => {
    const peer = await startEurekaServer();
    try {
      for (const s of [server, peer]) s.put(up('a', '10.0.0.1'));
      const { provider, errors } = start({ url: [server.url, peer.url] });
      await untilInstances(provider, (list) => list.length === 1);
      expect(peer.http.requests.length).toBe(0);
      await server.http.stop();
      // Replicated to the peer only: seen through it, with no error on the way.
      peer.put(up('b', '10.0.0.2'));
      await untilInstances(provider, (list) => list.length === 2);
      expect(errors).toEqual([]);
      // After the switch, a full fetch from the peer (deltas do not carry over between servers);
      // then the peer serves the deltas.
      const fullAt = peer.http.requests.indexOf(await peer.http.waitForRequest(isFull, { from: 0 }));
      await peer.http.waitForRequest(isDelta, { from: fullAt + 1 });
      // Back up, the first server is not asked again while the peer answers.
      await server.http.start();
      const asked = server.http.requests.length;
      await peer.http.waitForRequest(isDelta);
      await peer.http.waitForRequest(isDelta);
      expect(server.http.requests.length).toBe(asked);
      // With every server down, the fetch fails with the last one's error; the snapshot stays.
      await Promise.all([server.http.stop(), peer.http.stop()]);
      const { error } = await nextEvent(provider, 'discovery-error');
      expect(error.code).toBe('PICKET_DISCOVERY_FAILED');
      expect(urls(provider.current())).toEqual(['http://10.0.0.1:8080', 'http://10.0.0.2:8080']);
    } finally {
      await peer.close();
    }
  });

  it('closes without leaving a socket or a timer that fetches again', async () => {
    server.put(up('a', '10.0.0.1'));
    const { provider } = start({ deltaIntervalMs: 200 });
    await untilInstances(provider, (list) => list.length === 1);
    await Promise.all([provider.close(), provider.close()]);
    await server.http.waitForNoConnections();
    const count = server.http.requests.length;
    await expect(server.http.waitForRequest(() => true, { timeoutMs: 600 })).rejects.toThrow(
      'no matching request',
    );
    expect(server.http.requests.length).toBe(count);
  });

  it('computes Eureka’s reconcile hash', () => {
    expect(reconcileHash(['UP', 'DOWN', 'UP', 'OUT_OF_SERVICE', 'UP'])).toBe('DOWN_1_OUT_OF_SERVICE_1_UP_3_');
    expect(reconcileHash([])).toBe('');
  });

  it('rejects invalid options naming the option and the value', () => {
    const attempt = (options: Record<string, unknown>) => {
      try {
        eureka({ url: 'http://127.0.0.1:8761/eureka', app: 'inventory', ...options } as EurekaOptions);
      } catch (error) {
        expect(isPicketError(error, 'PICKET_INVALID_OPTIONS')).toBe(true);
        return (error as Error).message;
      }
      throw new Error('expected eureka() to throw');
    };
    expect(attempt({ app: 'a/b' })).toMatch(/`app`.*"a\/b"/);
    expect(attempt({ deltaIntervalMs: -1 })).toContain('`deltaIntervalMs`');
    expect(attempt({ url: 'eureka:8761' })).toContain('`url`');
    expect(attempt({ url: [] })).toMatch(/`url` must list at least one URL/);
    expect(attempt({ url: ['http://127.0.0.1:8761/eureka', 'eureka:8762'] })).toContain('`url[1]`');
  });
});
