import { EventEmitter } from 'node:events';
import { type Instance, PicketError } from '@picket/core';
import { Emitter, toInstances } from '@picket/core/internal';
import { describe, expect, it, vi } from 'vitest';
import { echo, testResources } from '../../../test/fixtures/http-servers.ts';
import { freePort, waitFor } from '../../../test/fixtures/instances.ts';
import { createClient } from './index.ts';

const resources = testResources();
const server = resources.server;
const client = (options: Parameters<typeof createClient>[0]) => resources.track(createClient(options));

// A provider shaped like @picket/discovery's, driven by the test.
function fakeProvider() {
  const events = new EventEmitter();
  let current: readonly Instance[] | undefined;
  let lastError: PicketError | undefined;
  let started = 0;
  let closed = 0;
  return {
    name: 'fake',
    start() {
      started++;
    },
    on(name: string, fn: (payload: never) => void) {
      const listener = fn as (payload: unknown) => void;
      events.on(name, listener);
      return () => {
        events.off(name, listener);
      };
    },
    current: () => current,
    lastError: () => lastError,
    async close() {
      closed++;
    },
    // Test controls:
    snapshot(records: Parameters<typeof toInstances>[0]) {
      current = toInstances(records);
      lastError = undefined;
      events.emit('snapshot', { instances: current });
    },
    fail(message: string) {
      lastError = new PicketError('PICKET_DISCOVERY_FAILED', message);
      events.emit('discovery-error', { error: lastError, provider: 'fake' });
    },
    get started() {
      return started;
    },
    get closed() {
      return closed;
    },
  };
}

describe('createClient lifecycle', () => {
  it('lets in-flight requests finish on close, then refuses new ones', async () => {
    const a = await server((req, res, body) => setTimeout(() => echo('a')(req, res, body), 200));
    const c = client({ service: 's', discovery: [a.url] });
    const inFlight = c.request({ path: '/' });
    await waitFor(() => a.requests === 1, 'the request to arrive');
    const closing = c.close();
    expect(c.close()).toBe(closing);
    await expect(c.request({ path: '/' })).rejects.toMatchObject({ code: 'PICKET_CLIENT_CLOSED' });
    const res = await inFlight;
    expect(res.statusCode).toBe(200);
    await res.body.text();
    await closing;
    await expect(c.fetch('/')).rejects.toMatchObject({ cause: { code: 'PICKET_CLIENT_CLOSED' } });
  });

  it('fails at once with PICKET_NO_INSTANCES, caused by the provider’s error, before any snapshot', async () => {
    const provider = fakeProvider();
    const c = client({ service: 's', discovery: provider });
    expect(provider.started).toBe(1);
    const relayed: string[] = [];
    c.on('discovery-error', (e) => relayed.push(e.error.message));
    provider.fail('registry unreachable');
    expect(relayed).toEqual(['registry unreachable']);
    const error = await c.request({ path: '/' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'PICKET_NO_INSTANCES', cause: { code: 'PICKET_DISCOVERY_FAILED' } });
  });

  it('resolves ready() on the first snapshot, and then routes to it', async () => {
    const a = await server(echo('a'));
    const provider = fakeProvider();
    const c = client({ service: 's', discovery: provider });
    const ready = c.ready({ timeoutMs: 5000 });
    provider.snapshot([a.url]);
    await ready;
    const res = await c.request({ path: '/' });
    expect(res.statusCode).toBe(200);
    await res.body.text();
    await c.close();
    expect(provider.closed).toBe(1);
  });

  it('rejects ready() with PICKET_TIMEOUT when no snapshot comes', async () => {
    const c = client({ service: 's', discovery: fakeProvider() });
    await expect(c.ready({ timeoutMs: 50 })).rejects.toMatchObject({ code: 'PICKET_TIMEOUT' });
  });

  it('holds nothing after a constructor that throws on a balancer option (its hold timer kept the process alive)', () => {
    const held = process.getActiveResourcesInfo().length;
    expect(() =>
      createClient({ service: 's', discovery: ['http://127.0.0.1:1'], panicThreshold: 200 }),
    ).toThrow(/`panicThreshold`/);
    expect(process.getActiveResourcesInfo().length).toBe(held);
  });

  it('rejects ready() with a timeoutMs a timer cannot hold at once, typed, instead of timing out after 1 ms', async () => {
    const c = client({ service: 's', discovery: fakeProvider() });
    for (const [timeoutMs, shown] of [
      [3e9, '3000000000'],
      [Number.NaN, 'NaN'],
      ['5000', '"5000"'],
    ] as const) {
      await expect(c.ready({ timeoutMs: timeoutMs as number })).rejects.toMatchObject({
        code: 'PICKET_INVALID_OPTIONS',
        message: `Invalid ready() options: \`timeoutMs\` must be a number of milliseconds from 1 to 2147483647, got ${shown}`,
      });
    }
  });

  it('turns a provider whose start() throws into PICKET_DISCOVERY_FAILED, the cause of later failures', async () => {
    const a = await server(echo('a'));
    const boom = new Error('registry address missing');
    const provider = fakeProvider();
    provider.start = () => {
      throw boom;
    };
    const c = client({ service: 's', discovery: provider });
    const expected = {
      code: 'PICKET_DISCOVERY_FAILED',
      message: 'Discovery provider "fake" failed to start: registry address missing',
      cause: boom,
    };
    await expect(c.request({ path: '/' })).rejects.toMatchObject({
      code: 'PICKET_NO_INSTANCES',
      cause: expected,
    });
    await expect(c.ready({ timeoutMs: 5000 })).rejects.toMatchObject(expected);
    expect(c.snapshot().discovery).toMatchObject({ ready: false, lastError: expected.message });
    // A snapshot that comes after all ends the failure.
    provider.snapshot([a.url]);
    await c.ready({ timeoutMs: 50 });
    expect((await c.request({ path: '/' })).statusCode).toBe(200);
    expect(c.snapshot().discovery.lastError).toBeUndefined();
  });

  it('emits a failed start() as a discovery-error event', () => {
    // The event is emitted inside createClient, before anyone can subscribe: watch the emitter.
    const emit = vi.spyOn(Emitter.prototype, 'emit');
    try {
      const provider = fakeProvider();
      provider.start = () => {
        throw 'not an Error';
      };
      client({ service: 's', discovery: provider });
      expect(emit.mock.calls.filter(([name]) => name === 'discovery-error')).toEqual([
        [
          'discovery-error',
          {
            provider: 'fake',
            error: expect.objectContaining({
              code: 'PICKET_DISCOVERY_FAILED',
              message: 'Discovery provider "fake" failed to start: not an Error',
            }),
          },
        ],
      ]);
    } finally {
      emit.mockRestore();
    }
  });

  it('starts and closes the health checker it is given', async () => {
    const a = await server(echo('a'));
    const calls: string[] = [];
    const c = client({
      service: 's',
      discovery: [a.url],
      health: (balancer) => {
        calls.push(`made with ${balancer.instances().length}`);
        return {
          start: () => calls.push('start'),
          close: async () => {
            calls.push('close');
          },
          snapshot: () => ({ checks: 1 }),
        };
      },
    });
    expect(c.snapshot().health).toEqual({ checks: 1 });
    await c.close();
    expect(calls).toEqual(['made with 1', 'start', 'close']);
  });

  it('describes instances with balancer state, breaker and pool', async () => {
    const a = await server(echo('a'));
    const c = client({ service: 's', discovery: [a.url] });
    await (await c.request({ path: '/' })).body.text();
    const snap = c.snapshot();
    expect(snap).toMatchObject({
      service: 's',
      strategy: 'peak-ewma',
      closed: false,
      discovery: { ready: true },
    });
    expect(snap.instances[0]).toMatchObject({
      url: a.url,
      state: 'healthy',
      requests: 1,
      breaker: { state: 'closed', fires: 1 },
      pool: { connected: 1 },
    });
  });

  it('relays balancer events to listeners', async () => {
    const provider = fakeProvider();
    const c = client({ service: 's', discovery: provider });
    const seen: number[] = [];
    c.on('instances', (e) => seen.push(e.instances.length));
    provider.snapshot(['http://127.0.0.1:1', 'http://127.0.0.1:2']);
    expect(seen).toEqual([2]);
  });

  it('keeps credentials out of errors and events', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const c = client({ service: 's', discovery: [dead], breaker: false });
    const events: unknown[] = [];
    c.on('retry', (e) => events.push(e));
    const error = await c
      .request({
        path: '/x?access_token=TOPSECRET1&page=2',
        headers: { authorization: 'Bearer TOPSECRET2', cookie: 'sid=TOPSECRET3', 'x-api-key': 'TOPSECRET4' },
      })
      .then(
        () => new Error('expected a failure'),
        (e: unknown) => e as Error,
      );
    const text = [
      error.message,
      JSON.stringify(error),
      JSON.stringify((error as { details?: unknown }).details),
      String((error as { cause?: unknown }).cause),
      JSON.stringify(events),
    ].join('\n');
    expect(text).not.toMatch(/TOPSECRET/);
    expect(error.message).toContain('access_token=[REDACTED]');
  });

  it('destroy() fails in-flight requests and refuses new ones at once', async () => {
    const a = await server(() => {});
    const c = client({ service: 's', discovery: [a.url], breaker: false });
    const pending = c.request({ path: '/' }).then(
      () => 'answered',
      (e: unknown) => e,
    );
    await waitFor(() => a.requests === 1, 'the request to arrive');
    await c.destroy();
    expect(await pending).toBeInstanceOf(Error);
    await expect(c.request({ path: '/' })).rejects.toMatchObject({ code: 'PICKET_CLIENT_CLOSED' });
  });

  it('validates balancer layers at construction, and takes a strategy factory', async () => {
    expect(() => createClient({ service: 's', discovery: [], panicThreshold: 200 })).toThrow(
      /`panicThreshold`.*200/,
    );
    const { roundRobin } = await import('@picket/core');
    const c = client({ service: 's', discovery: ['http://127.0.0.1:1'], strategy: roundRobin() });
    expect(c.snapshot().strategy).toBe('round-robin');
  });
});

describe('instances that discovery reports as terminating', () => {
  it('get no new requests while they stay listed, and serve again when the flag clears', async () => {
    const a = await resources.server(echo('a'));
    const b = await resources.server(echo('b'));
    const provider = fakeProvider();
    const c = client({ service: 'svc', discovery: provider, strategy: 'round-robin' });
    provider.snapshot([{ url: a.url, metadata: { terminating: true } }, { url: b.url }]);
    for (let i = 0; i < 6; i++) {
      const res = await c.request({ path: '/' });
      expect(res.headers['x-server']).toBe('b');
      await res.body.dump();
    }
    expect(c.snapshot().instances.find((s) => s.url === a.url)?.state).toBe('unhealthy');
    provider.snapshot([{ url: a.url }, { url: b.url }]);
    const seen = new Set<unknown>();
    for (let i = 0; i < 6; i++) {
      const res = await c.request({ path: '/' });
      seen.add(res.headers['x-server']);
      await res.body.dump();
    }
    expect(seen).toEqual(new Set(['a', 'b']));
  });
});
