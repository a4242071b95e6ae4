import { describe, expect, it } from 'vitest';
import { echo, type Handler, testResources } from '../../../../test/fixtures/http-servers.ts';
import { waitFor } from '../../../../test/fixtures/instances.ts';
import { type Client, createClient } from '../index.ts';

const resources = testResources();
const server = resources.server;
const client = (options: Parameters<typeof createClient>[0]) => resources.track(createClient(options));

const failing: Handler = (_req, res) => {
  res.writeHead(500).end('boom');
};

async function send(c: Client, n: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < n; i++) {
    const res = await c.request({ path: '/' });
    statuses.push(res.statusCode);
    await res.body.text();
  }
  return statuses;
}

describe('circuit breakers', () => {
  it('opens on 5xx, takes the instance out of rotation, and closes after a good trial', async () => {
    let broken = true;
    const flaky = await server((req, res, body) =>
      broken ? failing(req, res, body) : echo('flaky')(req, res, body),
    );
    const good = await server(echo('good'));
    const c = client({
      service: 's',
      discovery: [flaky.url, good.url],
      strategy: 'round-robin',
      outlierDetection: false,
      breaker: { volumeThreshold: 4, resetTimeoutMs: 300 },
    });
    const states: string[] = [];
    c.on('breaker', (e) => states.push(`${e.instance.url === flaky.url ? 'flaky' : 'good'}:${e.state}`));
    await send(c, 20);
    expect(states).toEqual(['flaky:open']);
    const flakyView = () => c.snapshot().instances.find((i) => i.url === flaky.url)!;
    expect(flakyView()).toMatchObject({ state: 'unhealthy', breaker: { state: 'open' } });
    expect(flakyView().health.breaker).toEqual({ state: 'unhealthy', reason: 'breaker open' });
    const before = flaky.requests;
    const statuses = await send(c, 10);
    expect(flaky.requests).toBe(before);
    expect(statuses.every((s) => s === 200)).toBe(true);

    broken = false;
    await waitFor(() => states.includes('flaky:half-open'), 'the breaker to go half-open', {
      timeoutMs: 3000,
    });
    await waitFor(
      async () => {
        await send(c, 2);
        return states.includes('flaky:closed');
      },
      'a trial to close the breaker',
      { timeoutMs: 3000 },
    );
    expect(flakyView().state).toBe('healthy');
  });

  it('lets only one trial through while half-open', async () => {
    const slowFail: Handler = (_req, res) => {
      setTimeout(() => res.writeHead(500).end(), 100);
    };
    const bad = await server(failing);
    const good = await server(echo('good'));
    const c = client({
      service: 's',
      discovery: [bad.url, good.url],
      strategy: 'round-robin',
      outlierDetection: false,
      breaker: { volumeThreshold: 2, resetTimeoutMs: 200 },
    });
    const states: string[] = [];
    c.on('breaker', (e) => states.push(e.state));
    await send(c, 10);
    expect(states).toEqual(['open']);
    bad.handle(slowFail);
    await waitFor(() => states.includes('half-open'), 'half-open', { timeoutMs: 3000 });
    const before = bad.requests;
    await Promise.all(Array.from({ length: 10 }, () => send(c, 1)));
    expect(bad.requests - before).toBe(1);
    expect(states.at(-1)).toBe('open');
  });

  it('does not count 4xx as failures', async () => {
    const notFound = await server((_req, res) => {
      res.writeHead(404).end();
    });
    const c = client({ service: 's', discovery: [notFound.url], breaker: { volumeThreshold: 2 } });
    const statuses = await send(c, 20);
    expect(statuses.every((s) => s === 404)).toBe(true);
    expect(c.snapshot().instances[0]?.breaker).toMatchObject({ state: 'closed', failures: 0, fires: 20 });
  });

  it('can be turned off', async () => {
    const bad = await server(failing);
    const c = client({ service: 's', discovery: [bad.url], breaker: false, outlierDetection: false });
    const statuses = await send(c, 30);
    expect(statuses.every((s) => s === 500)).toBe(true);
    expect(c.snapshot().instances[0]?.breaker).toBeUndefined();
  });

  it('fails fast with PICKET_NO_AVAILABLE_INSTANCE when every breaker is open', async () => {
    const bad = await server(failing);
    const c = client({
      service: 's',
      discovery: [bad.url],
      outlierDetection: false,
      breaker: { volumeThreshold: 2, resetTimeoutMs: 60_000 },
    });
    const states: string[] = [];
    c.on('breaker', (e) => states.push(e.state));
    await send(c, 2);
    await waitFor(() => states.includes('open'), 'the breaker to open', { timeoutMs: 2000 });
    // The only instance is unhealthy, so panic routing picks it anyway; its breaker refuses.
    const started = performance.now();
    await expect(c.request({ path: '/' })).rejects.toMatchObject({ code: 'PICKET_NO_AVAILABLE_INSTANCE' });
    expect(performance.now() - started).toBeLessThan(200);
    expect(bad.requests).toBe(2);
  });

  it('shuts a breaker down when its instance leaves discovery', async () => {
    const bad = await server(failing);
    const listeners: Array<(p: { instances: readonly never[] }) => void> = [];
    const provider = {
      start() {},
      on(name: string, fn: never) {
        if (name === 'snapshot') listeners.push(fn);
        return () => {};
      },
      current: () => [bad.url] as never,
      lastError: () => undefined,
      close: async () => {},
    };
    const c = client({
      service: 's',
      discovery: provider,
      outlierDetection: false,
      breaker: { volumeThreshold: 2 },
    });
    const states: string[] = [];
    c.on('breaker', (e) => states.push(e.state));
    await send(c, 2);
    await waitFor(() => states.includes('open'), 'the breaker to open', { timeoutMs: 2000 });
    const { toInstances } = await import('@picket/core');
    for (const l of listeners) l({ instances: [] });
    for (const l of listeners) l({ instances: toInstances([bad.url]) as never });
    // Back with a fresh breaker: closed, and the instance pickable again.
    const res = await c.request({ path: '/' });
    expect(res.statusCode).toBe(500);
    await res.body.text();
    expect(c.snapshot().instances[0]?.breaker).toMatchObject({ state: 'closed', fires: 1 });
  });
});
