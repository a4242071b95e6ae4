import { isPicketError } from '@picket/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type ConsulServer, startConsulServer } from '../../../test/servers/consul.ts';
import { whenEvent } from '../../../test/servers/registry-server.ts';
import { consul } from './consul.ts';
import { type RegisterConsulOptions, registerConsul } from './register-consul.ts';
import type { Registrar, RegistrarEvents } from './registrar.ts';
import { untilInstances } from './testing.ts';

let server: ConsulServer;
const closers: { close(): Promise<void> }[] = [];

beforeEach(async () => {
  server = await startConsulServer();
});

afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c.close()));
  await server.close();
});

function register(options: Partial<RegisterConsulOptions> = {}): Registrar {
  const registrar = registerConsul({
    url: server.url,
    service: { name: 'inventory', id: 'inventory-1', address: '10.1.0.1', port: 8080, tags: ['zone=eu-1a'] },
    ttlMs: 1_000,
    backoff: { initialMs: 50, maxMs: 200 },
    ...options,
  });
  closers.push(registrar);
  return registrar;
}

const isPass = (r: { method: string; path: string }) =>
  r.method === 'PUT' && decodeURIComponent(r.path) === '/v1/agent/check/pass/service:inventory-1';

describe('registerConsul', () => {
  it('registers with a TTL check, passes it at once and then every ttl/2', async () => {
    const registrar = register();
    await registrar.start();
    expect(registrar.registered()).toBe(true);
    const reg = server.http.requests.find((r) => r.path === '/v1/agent/service/register');
    expect(reg?.method).toBe('PUT');
    expect(JSON.parse(reg?.body ?? '{}')).toMatchObject({
      ID: 'inventory-1',
      Name: 'inventory',
      Address: '10.1.0.1',
      Port: 8080,
      Tags: ['zone=eu-1a'],
      Check: { TTL: '1000ms', DeregisterCriticalServiceAfter: '60000ms' },
    });
    expect(server.agentService('inventory-1')?.status).toBe('passing');
    const passes = () => server.http.requests.filter(isPass).length;
    const first = server.http.requests.findIndex(isPass);
    const firstAt = Date.now();
    await server.http.waitForRequest(isPass, { from: first + 1 });
    await server.http.waitForRequest(isPass, { from: server.http.requests.length });
    // Two renewals at 500 ms intervals; the TTL (1000 ms) would lapse without them.
    expect(Date.now() - firstAt).toBeGreaterThanOrEqual(900);
    expect(passes()).toBeGreaterThanOrEqual(3);
    expect(server.agentService('inventory-1')?.status).toBe('passing');
  });

  it('is discovered by consul() and leaves discovery when closed', async () => {
    const provider = consul({ url: server.url, service: 'inventory', waitMs: 20_000, minQueryIntervalMs: 0 });
    closers.push(provider);
    provider.start();
    const registrar = register();
    await registrar.start();
    const [instance] = await untilInstances(provider, (list) => list.length === 1);
    expect(instance?.url).toBe('http://10.1.0.1:8080');
    expect(instance?.zone).toBe('eu-1a');
    await registrar.close();
    expect(
      server.http.requests.some(
        (r) => r.method === 'PUT' && r.path === '/v1/agent/service/deregister/inventory-1',
      ),
    ).toBe(true);
    expect(server.agentService('inventory-1')).toBeUndefined();
    await untilInstances(provider, (list) => list.length === 0);
  });

  it('registers again when the agent has forgotten the service', async () => {
    const registrar = register();
    const registered: RegistrarEvents['registered'][] = [];
    registrar.on('registered', (e) => registered.push(e));
    await registrar.start();
    server.forgetAgentServices();
    await whenEvent<RegistrarEvents['registered']>((fn) => registrar.on('registered', fn));
    expect(registered).toHaveLength(2);
    expect(server.agentService('inventory-1')?.status).toBe('passing');
  });

  it('reports failures while the agent is down, registers once it is up, and start() waits for that', async () => {
    await server.http.stop();
    const registrar = register();
    const errors: RegistrarEvents['registration-error'][] = [];
    registrar.on('registration-error', (e) => errors.push(e));
    const started = registrar.start();
    await whenEvent<RegistrarEvents['registration-error']>((fn) => registrar.on('registration-error', fn));
    expect(registrar.registered()).toBe(false);
    await server.http.start();
    await started;
    expect(registrar.registered()).toBe(true);
    expect(errors[0]?.error.code).toBe('PICKET_DISCOVERY_FAILED');
    expect(errors[0]?.registrar).toBe('consul-register:inventory/inventory-1');
  });

  it('keeps the token out of errors and sends it as X-Consul-Token', async () => {
    server.token = 'correct-token-0000';
    const registrar = register({ token: 'wrong-token-9999' });
    void registrar.start();
    const { error } = await whenEvent<RegistrarEvents['registration-error']>((fn) =>
      registrar.on('registration-error', fn),
    );
    expect(error.message).toContain('403');
    expect(`${error.message} ${String(error.stack)}`).not.toContain('wrong-token-9999');
    expect(server.http.requests[0]?.headers['x-consul-token']).toBe('wrong-token-9999');
  });

  it('closes without leaving a socket, and close() is idempotent', async () => {
    const registrar = register();
    await registrar.start();
    await Promise.all([registrar.close(), registrar.close()]);
    const deregistrations = server.http.requests.filter((r) =>
      r.path.startsWith('/v1/agent/service/deregister/'),
    );
    expect(deregistrations).toHaveLength(1);
    await server.http.waitForNoConnections();
  });

  it('rejects invalid options naming the option and the value', () => {
    const attempt = () =>
      registerConsul({ url: server.url, service: { name: 'inventory', id: 'x', port: 0 }, ttlMs: 10 });
    expect(attempt).toThrowError(/`service\.port`.*got 0.*`ttlMs`.*got 10/);
    try {
      attempt();
    } catch (error) {
      expect(isPicketError(error, 'PICKET_INVALID_OPTIONS')).toBe(true);
    }
  });

  it('holds its durations to Picket’s rule: whole ms, at most 2147483647, named with the value', () => {
    const attempt = (options: Partial<RegisterConsulOptions>) => () =>
      registerConsul({
        url: server.url,
        service: { name: 'inventory', id: 'x', port: 8080 },
        ttlMs: 1_000,
        ...options,
      });
    expect(attempt({ deregisterCriticalAfterMs: 2 ** 31 })).toThrowError(
      'Invalid registerConsul options: `deregisterCriticalAfterMs` must be a whole number of milliseconds from 60000 to 2147483647, got 2147483648',
    );
    expect(attempt({ ttlMs: Number.NaN })).toThrowError(
      '`ttlMs` must be a whole number of milliseconds from 1000 to 86400000, got NaN',
    );
    expect(attempt({ deregisterTimeoutMs: '5000' as never })).toThrowError(
      '`deregisterTimeoutMs` must be a whole number of milliseconds from 1 to 600000, got "5000"',
    );
    closers.push(attempt({ deregisterCriticalAfterMs: 2147483647 })());
  });
});
