import { isPicketError } from '@picket/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type EurekaServer, startEurekaServer } from '../../../test/servers/eureka.ts';
import { type RecordedRequest, whenEvent } from '../../../test/servers/registry-server.ts';
import { eureka } from './eureka.ts';
import { type RegisterEurekaOptions, registerEureka } from './register-eureka.ts';
import type { Registrar, RegistrarEvents } from './registrar.ts';
import { untilInstances } from './testing.ts';

let server: EurekaServer;
const closers: { close(): Promise<void> }[] = [];

beforeEach(async () => {
  server = await startEurekaServer();
});

afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c.close()));
  await server.close();
});

function register(options: Partial<RegisterEurekaOptions> = {}): Registrar {
  const registrar = registerEureka({
    url: server.url,
    app: 'inventory',
    instance: {
      instanceId: 'host-1:inventory:8080',
      hostName: '10.2.0.1',
      ipAddr: '10.2.0.1',
      port: 8080,
      metadata: { zone: 'eu-1b' },
    },
    heartbeatMs: 1_000,
    leaseDurationMs: 3_000,
    backoff: { initialMs: 50, maxMs: 200 },
    ...options,
  });
  closers.push(registrar);
  return registrar;
}

const instancePath = '/eureka/apps/INVENTORY/host-1%3Ainventory%3A8080';
const isHeartbeat = (r: RecordedRequest) => r.method === 'PUT' && r.path === instancePath;

describe('registerEureka', () => {
  it('registers an instance Eureka accepts and heartbeats every heartbeatMs', async () => {
    const registrar = register();
    await registrar.start();
    const post = server.http.requests.find((r) => r.method === 'POST');
    expect(post?.path).toBe('/eureka/apps/INVENTORY');
    expect(JSON.parse(post?.body ?? '{}').instance).toMatchObject({
      instanceId: 'host-1:inventory:8080',
      app: 'INVENTORY',
      status: 'UP',
      port: { $: 8080, '@enabled': 'true' },
      leaseInfo: { renewalIntervalInSecs: 1, durationInSecs: 3 },
    });
    expect(server.instance('inventory', 'host-1:inventory:8080')).toBeDefined();
    const startedAt = Date.now();
    const first = await server.http.waitForRequest(isHeartbeat);
    await server.http.waitForRequest(isHeartbeat);
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(1_800);
    expect(first.query.get('status')).toBe('UP');
    expect(Number(first.query.get('lastDirtyTimestamp'))).toBeGreaterThan(0);
  });

  it('registers again when a heartbeat gets 404, and is discovered by eureka() throughout', async () => {
    const provider = eureka({ url: server.url, app: 'inventory', deltaIntervalMs: 100 });
    closers.push(provider);
    const registrar = register();
    await registrar.start();
    provider.start();
    const [instance] = await untilInstances(provider, (list) => list.length === 1);
    expect(instance?.url).toBe('http://10.2.0.1:8080');
    expect(instance?.zone).toBe('eu-1b');
    server.forget('inventory', 'host-1:inventory:8080'); // evicted, as after a server restart
    await whenEvent<RegistrarEvents['registered']>((fn) => registrar.on('registered', fn));
    expect(server.instance('inventory', 'host-1:inventory:8080')).toBeDefined();
    const posts = server.http.requests.filter((r) => r.method === 'POST');
    expect(posts).toHaveLength(2);
  });

  it('cancels the lease on close(), once, and leaves no socket', async () => {
    const provider = eureka({ url: server.url, app: 'inventory', deltaIntervalMs: 100 });
    closers.push(provider);
    provider.start();
    const registrar = register();
    await registrar.start();
    await untilInstances(provider, (list) => list.length === 1);
    await Promise.all([registrar.close(), registrar.close()]);
    expect(server.http.requests.filter((r) => r.method === 'DELETE' && r.path === instancePath)).toHaveLength(
      1,
    );
    expect(server.instance('inventory', 'host-1:inventory:8080')).toBeUndefined();
    await untilInstances(provider, (list) => list.length === 0);
    await provider.close();
    await server.http.waitForNoConnections();
  });

  it('reports failures while Eureka is down and registers when it is back', async () => {
    await server.http.stop();
    const registrar = register();
    const started = registrar.start();
    const { error } = await whenEvent<RegistrarEvents['registration-error']>((fn) =>
      registrar.on('registration-error', fn),
    );
    expect(error.code).toBe('PICKET_DISCOVERY_FAILED');
    expect(error.message).toContain('eureka-register:INVENTORY/host-1:inventory:8080: registration failed');
    await server.http.start();
    await started;
    expect(registrar.registered()).toBe(true);
  });

  it('registers with the first of several peers that answers, stays with it, and moves on when it fails', async () => {
    const peer = await startEurekaServer();
    try {
      await server.http.stop();
      const registrar = register({ url: [server.url, peer.url] });
      const errors: unknown[] = [];
      registrar.on('registration-error', (e) => errors.push(e));
      await registrar.start();
      expect(peer.instance('inventory', 'host-1:inventory:8080')).toBeDefined();
      await peer.http.waitForRequest(isHeartbeat);
      // Back up, the first server is not asked while the peer answers.
      await server.http.start();
      await peer.http.waitForRequest(isHeartbeat);
      expect(server.http.requests).toHaveLength(0);
      // The peer goes away: the next heartbeat goes to the first server, which does not know the
      // lease (these test servers do not replicate), so the instance registers there.
      const registered = whenEvent<RegistrarEvents['registered']>((fn) => registrar.on('registered', fn));
      await peer.http.stop();
      await registered;
      expect(server.instance('inventory', 'host-1:inventory:8080')).toBeDefined();
      expect(server.http.requests.map((r) => r.method)).toEqual(['PUT', 'POST']);
      expect(errors).toEqual([]);
      await registrar.close();
      expect(
        server.http.requests.filter((r) => r.method === 'DELETE' && r.path === instancePath),
      ).toHaveLength(1);
    } finally {
      await peer.close();
    }
  });

  it('rejects invalid options naming the option and the value', () => {
    expect(() => register({ url: [] })).toThrowError(/`url` must list at least one URL/);
    const attempt = () => register({ heartbeatMs: 30_000, leaseDurationMs: 10_000 });
    expect(attempt).toThrowError(/`leaseDurationMs` must be longer than `heartbeatMs`/);
    try {
      attempt();
    } catch (error) {
      expect(isPicketError(error, 'PICKET_INVALID_OPTIONS')).toBe(true);
    }
  });
});
