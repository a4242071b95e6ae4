import { isPicketError } from '@picket/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type ConsulServer, consulEntry, startConsulServer } from '../../../test/servers/consul.ts';
import { type ConsulOptions, consul } from './consul.ts';
import type { Provider, ProviderEvents } from './provider.ts';
import { nextEvent, untilInstances } from './testing.ts';

let server: ConsulServer;
const providers: Provider[] = [];

beforeEach(async () => {
  server = await startConsulServer();
});

afterEach(async () => {
  await Promise.all(providers.splice(0).map((p) => p.close()));
  await server.close();
});

function start(options: Partial<ConsulOptions> = {}) {
  const provider = consul({
    url: server.url,
    service: 'inventory',
    waitMs: 20_000,
    backoff: { initialMs: 50, maxMs: 200 },
    minQueryIntervalMs: 0,
    ...options,
  });
  providers.push(provider);
  const errors: ProviderEvents['discovery-error'][] = [];
  const invalid: ProviderEvents['invalid-record'][] = [];
  const snapshots: ProviderEvents['snapshot'][] = [];
  provider.on('discovery-error', (e) => errors.push(e));
  provider.on('invalid-record', (e) => invalid.push(e));
  provider.on('snapshot', (e) => snapshots.push(e));
  provider.start();
  return { provider, errors, invalid, snapshots };
}

const healthQuery = (req: { method: string; path: string }) =>
  req.method === 'GET' && req.path === '/v1/health/service/inventory';

describe('consul', () => {
  it('maps health entries to instances: address fallback, per-node ids, zone, weights, metadata', async () => {
    server.setEntries('inventory', [
      consulEntry({
        id: 'a',
        address: '10.0.0.1',
        port: 8080,
        tags: ['zone=eu-1a', 'v2'],
        weights: { Passing: 3, Warning: 1 },
      }),
      consulEntry({
        id: 'a',
        node: 'node-2',
        nodeAddress: '10.0.0.2',
        port: 8080,
        nodeMeta: { zone: 'eu-1b' },
      }),
      consulEntry({ id: 'c', address: '10.0.0.3', port: 8443, meta: { scheme: 'https' } }),
    ]);
    const { provider } = start();
    const instances = await untilInstances(provider, (list) => list.length === 3);
    expect(instances.map((i) => [i.id, i.url, i.zone, i.weight])).toEqual([
      ['node-1/a', 'http://10.0.0.1:8080', 'eu-1a', 3],
      ['node-2/a', 'http://10.0.0.2:8080', 'eu-1b', 1],
      ['node-1/c', 'https://10.0.0.3:8443', undefined, 1],
    ]);
    expect(instances[0]?.metadata).toMatchObject({
      node: 'node-1',
      serviceId: 'a',
      tags: ['zone=eu-1a', 'v2'],
      health: 'passing',
    });
    const first = server.http.requests.find(healthQuery);
    expect(first?.query.get('passing')).toBe('1');
    expect(first?.query.has('index')).toBe(false);
  });

  it('follows changes with blocking queries on the returned X-Consul-Index', async () => {
    server.setEntries('inventory', [consulEntry({ id: 'a', address: '10.0.0.1', port: 80 })]);
    const { provider } = start();
    await untilInstances(provider, (list) => list.length === 1);
    const index = server.indexOf('inventory');
    const blocking = await server.http.waitForRequest(
      (r) => healthQuery(r) && r.query.get('index') === String(index),
      { from: 0 },
    );
    expect(blocking.query.get('wait')).toBe('20000ms');
    // The query is parked for up to 20 s: only the blocking query's wake-up can deliver this in time.
    server.setEntries('inventory', [
      consulEntry({ id: 'a', address: '10.0.0.1', port: 80 }),
      consulEntry({ id: 'b', address: '10.0.0.2', port: 80 }),
    ]);
    const started = Date.now();
    await untilInstances(provider, (list) => list.length === 2, 10_000);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('emits nothing when a blocking query returns without change, and blocks on the new index', async () => {
    server.setEntries('inventory', [consulEntry({ id: 'a', address: '10.0.0.1', port: 80 })]);
    const { provider, snapshots } = start();
    await untilInstances(provider, (list) => list.length === 1);
    await server.http.waitForRequest((r) => healthQuery(r) && r.query.has('index'), { from: 0 });
    server.touch('inventory');
    const touched = String(server.indexOf('inventory'));
    await server.http.waitForRequest((r) => healthQuery(r) && r.query.get('index') === touched, { from: 0 });
    expect(snapshots).toHaveLength(1);
  });

  it('resets the index to 0 when it goes backwards, then blocks again', async () => {
    server.setEntries('inventory', [consulEntry({ id: 'a', address: '10.0.0.1', port: 80 })]);
    const { provider } = start();
    await untilInstances(provider, (list) => list.length === 1);
    await server.http.waitForRequest((r) => healthQuery(r) && r.query.has('index'), { from: 0 });
    const mark = server.http.requests.length;
    server.setIndex('inventory', 3); // a snapshot restore: lower than anything seen so far
    const restart = await server.http.waitForRequest((r) => healthQuery(r) && !r.query.has('index'), {
      from: mark,
    });
    expect(restart.query.has('wait')).toBe(false);
    const after = await server.http.waitForRequest((r) => healthQuery(r) && r.query.get('index') === '3', {
      from: mark,
    });
    expect(after.query.get('wait')).toBe('20000ms');
  });

  it('blocks on index 1 when Consul answers with index 0', async () => {
    server.setIndex('inventory', 0);
    const { provider } = start();
    await untilInstances(provider, (list) => list.length === 0);
    const next = await server.http.waitForRequest((r) => healthQuery(r) && r.query.has('index'), { from: 0 });
    expect(next.query.get('index')).toBe('1');
  });

  it('gives up on a hung query after wait × 1.0625 plus a margin, keeps the snapshot, then recovers', async () => {
    server.setEntries('inventory', [consulEntry({ id: 'a', address: '10.0.0.1', port: 80 })]);
    const { provider, errors } = start({ waitMs: 400 });
    await untilInstances(provider, (list) => list.length === 1);
    server.hang = true;
    const mark = server.http.requests.length;
    await server.http.waitForRequest(healthQuery, { from: mark });
    const hungAt = Date.now();
    const error = await nextEvent(provider, 'discovery-error');
    // The limit is 400 × 1.0625 + 2000 = 2425 ms; undici's coarse timers may fire up to ~500 ms
    // early (and hungAt is taken a little after the query left), which still leaves it well past
    // the server's own limit of 425 ms.
    expect(Date.now() - hungAt).toBeGreaterThanOrEqual(1_500);
    expect(error.error.code).toBe('PICKET_DISCOVERY_FAILED');
    expect(provider.current()?.map((i) => i.url)).toEqual(['http://10.0.0.1:80']);
    server.hang = false;
    server.setEntries('inventory', [consulEntry({ id: 'b', address: '10.0.0.2', port: 80 })]);
    await untilInstances(provider, (list) => list[0]?.url === 'http://10.0.0.2:80');
    expect(provider.lastError()).toBeUndefined();
    expect(errors.length).toBeGreaterThanOrEqual(1);
  });

  it('keeps the last snapshot and reports while Consul is down, and recovers at once when it is back', async () => {
    server.setEntries('inventory', [consulEntry({ id: 'a', address: '10.0.0.1', port: 80 })]);
    const { provider } = start();
    await untilInstances(provider, (list) => list.length === 1);
    await server.http.stop();
    const down = await nextEvent(provider, 'discovery-error');
    expect(down.provider).toBe('consul:inventory');
    expect(provider.current()).toHaveLength(1);
    expect(provider.lastError()).toBe(down.error);
    await server.http.start();
    // Nothing changed meanwhile, so a blocking query would hold for the whole 20 s wait.
    const back = Date.now();
    const recovered = await nextEvent(provider, 'snapshot', () => true, 10_000);
    expect(Date.now() - back).toBeLessThan(10_000);
    expect(recovered.instances).toHaveLength(1);
    expect(provider.lastError()).toBeUndefined();
    server.setEntries('inventory', [
      consulEntry({ id: 'a', address: '10.0.0.1', port: 80 }),
      consulEntry({ id: 'b', address: '10.0.0.2', port: 80 }),
    ]);
    await untilInstances(provider, (list) => list.length === 2);
  });

  it('skips and reports invalid entries, once while they stay', async () => {
    const good = consulEntry({ id: 'ok', address: '10.0.0.1', port: 80 });
    const badPort = consulEntry({ id: 'bad-port', address: '10.0.0.2', port: 70_000 });
    const badHost = consulEntry({ id: 'bad-host', address: 'not a host', port: 80 });
    server.setEntries('inventory', [good, badPort, badHost, { Service: { ID: 'orphan' } }]);
    const { provider, invalid } = start();
    await untilInstances(provider, (list) => list.length === 1);
    expect(provider.current()?.[0]?.id).toBe('node-1/ok');
    expect(invalid.map((e) => e.reason)).toEqual([
      expect.stringContaining('`Node` and `Service`'),
      expect.stringContaining('`port`'),
      expect.stringContaining('`host`'),
    ]);
    server.touch('inventory');
    const touched = String(server.indexOf('inventory'));
    await server.http.waitForRequest((r) => healthQuery(r) && r.query.get('index') === touched, { from: 0 });
    expect(invalid).toHaveLength(3);
  });

  it('keeps warning instances at their warning weight and drops critical ones when passingOnly is false', async () => {
    server.setEntries('inventory', [
      consulEntry({ id: 'p', address: '10.0.0.1', port: 80, tags: ['v2'] }),
      consulEntry({
        id: 'w',
        address: '10.0.0.2',
        port: 80,
        tags: ['v2'],
        status: 'warning',
        weights: { Passing: 10, Warning: 2 },
      }),
      consulEntry({ id: 'c', address: '10.0.0.3', port: 80, tags: ['v2'], status: 'critical' }),
      consulEntry({ id: 'untagged', address: '10.0.0.4', port: 80 }),
    ]);
    const { provider } = start({ passingOnly: false, tag: 'v2', dc: 'dc1' });
    const instances = await untilInstances(provider, (list) => list.length === 2);
    expect(instances.map((i) => [i.id, i.weight, i.metadata.health])).toEqual([
      ['node-1/p', 1, 'passing'],
      ['node-1/w', 2, 'warning'],
    ]);
    const query = server.http.requests.find(healthQuery);
    expect(query?.query.has('passing')).toBe(false);
    expect(query?.query.get('tag')).toBe('v2');
    expect(query?.query.get('dc')).toBe('dc1');
  });

  it('sends the token only as X-Consul-Token and never puts it in errors', async () => {
    server.token = 'right-secret-token-1234';
    server.setEntries('inventory', [consulEntry({ id: 'a', address: '10.0.0.1', port: 80 })]);
    const { provider } = start({ token: 'wrong-secret-token-5678' });
    const { error } = await nextEvent(provider, 'discovery-error');
    const seen = server.http.requests.find(healthQuery);
    expect(seen?.headers['x-consul-token']).toBe('wrong-secret-token-5678');
    expect(seen?.query.toString()).not.toContain('secret');
    expect(error.message).toContain('403');
    expect(`${error.message} ${String(error.stack)} ${JSON.stringify(error.details)}`).not.toContain(
      'wrong-secret',
    );
    expect(provider.name).not.toContain('secret');
  });

  it('treats an answer emptied by ACL filtering as a failure, not as "no instances"', async () => {
    server.setEntries('inventory', [consulEntry({ id: 'a', address: '10.0.0.1', port: 80 })]);
    const { provider, snapshots } = start();
    await untilInstances(provider, (list) => list.length === 1);
    server.token = 'now-required-token'; // the anonymous token loses read access
    server.touch('inventory');
    const { error } = await nextEvent(provider, 'discovery-error');
    expect(error.message).toContain('filtered every entry of inventory by ACL');
    expect(snapshots).toHaveLength(1);
    expect(provider.current()).toHaveLength(1);
  });

  it('paces queries under sustained churn (token bucket of 2)', async () => {
    server.setEntries('inventory', [consulEntry({ id: 'a', address: '10.0.0.1', port: 80 })]);
    // Every answer carries a new index, so an unpaced client would query in a tight loop.
    const { provider } = start({ minQueryIntervalMs: 250 });
    await untilInstances(provider, (list) => list.length === 1);
    const churn = setInterval(() => server.touch('inventory'), 5);
    try {
      const from = server.http.requests.length;
      const first = await server.http.waitForRequest(healthQuery, { from });
      const firstAt = Date.now();
      let seen = server.http.requests.length;
      for (let n = 0; n < 5; n++) {
        await server.http.waitForRequest(healthQuery, { from: seen });
        seen = server.http.requests.length;
      }
      expect(first).toBeDefined();
      // Five more queries after the bucket is drained need at least ~4 × 250 ms.
      expect(Date.now() - firstAt).toBeGreaterThanOrEqual(900);
    } finally {
      clearInterval(churn);
    }
  });

  it('closes promptly with a blocking query in flight and leaves no socket', async () => {
    server.setEntries('inventory', [consulEntry({ id: 'a', address: '10.0.0.1', port: 80 })]);
    const { provider } = start();
    await untilInstances(provider, (list) => list.length === 1);
    await server.http.waitForRequest((r) => healthQuery(r) && r.query.has('index'), { from: 0 });
    const started = Date.now();
    await provider.close();
    await provider.close();
    expect(Date.now() - started).toBeLessThan(5_000);
    await server.http.waitForNoConnections();
    const count = server.http.requests.length;
    server.touch('inventory');
    expect(server.http.requests.length).toBe(count);
  });

  it('rejects invalid options naming the option and the value', () => {
    const attempt = (options: Record<string, unknown>) => {
      try {
        consul({ url: 'http://127.0.0.1:8500', service: 'inventory', ...options } as ConsulOptions);
      } catch (error) {
        expect(isPicketError(error, 'PICKET_INVALID_OPTIONS')).toBe(true);
        return (error as Error).message;
      }
      throw new Error('expected consul() to throw');
    };
    expect(attempt({ url: 'ftp://consul:8500' })).toMatch(/`url`.*"ftp:\/\/consul:8500"/);
    expect(attempt({ url: 'http://user:pw@consul:8500' })).toContain('without credentials');
    expect(attempt({ waitMs: 3_600_000 })).toContain('`waitMs`');
    expect(attempt({ service: '' })).toContain('`service`');
    expect(attempt({ passingOnly: 'yes' })).toContain('`passingOnly`');
  });
});
