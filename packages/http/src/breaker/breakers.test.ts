import { createBalancer } from '@picket/core';
import { toInstances } from '@picket/core/internal';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { echo, type Handler, testResources } from '../../../../test/fixtures/http-servers.ts';
import { waitFor } from '../../../../test/fixtures/instances.ts';
import { parseClientOptions } from '../config.ts';
import { type Client, createClient } from '../index.ts';
import { BreakerRegistry } from './breakers.ts';

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
      // Long enough that the 30 requests below finish before a trial is let through.
      breaker: { volumeThreshold: 4, resetTimeoutMs: 1500 },
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
      timeoutMs: 6000,
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
      // Long enough that the failed trial's re-opened breaker is still open when it is looked at.
      breaker: { volumeThreshold: 2, resetTimeoutMs: 1000 },
    });
    const states: string[] = [];
    c.on('breaker', (e) => states.push(e.state));
    await send(c, 10);
    expect(states).toEqual(['open']);
    bad.handle(slowFail);
    await waitFor(() => states.includes('half-open'), 'half-open', { timeoutMs: 5000 });
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
    // At once: no connect, no timeout (a 2 s connect timeout and 30 s request timeout apply).
    expect(performance.now() - started).toBeLessThan(1000);
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
    for (const l of listeners) l({ instances: [] });
    for (const l of listeners) l({ instances: toInstances([bad.url]) as never });
    // Back with a fresh breaker: closed, and the instance pickable again.
    const res = await c.request({ path: '/' });
    expect(res.statusCode).toBe(500);
    await res.body.text();
    expect(c.snapshot().instances[0]?.breaker).toMatchObject({ state: 'closed', fires: 1 });
  });
});

describe('breaker windows', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  // A registry over a real balancer, driven by explicit clock readings; opossum's reset timer
  // runs on fake timers.
  function registry(breaker: Record<string, number>) {
    vi.useFakeTimers();
    const config = parseClientOptions({ service: 's', discovery: ['http://127.0.0.1:1'], breaker }).breaker;
    if (config === false) throw new Error('breakers are on');
    const balancer = createBalancer();
    const [instance] = toInstances(['http://127.0.0.1:1']);
    balancer.update([instance!]);
    const states: string[] = [];
    const breakers = new BreakerRegistry(config, balancer, (_i, state) => states.push(state));
    const attempt = (now: number, failed: boolean): boolean => {
      const entry = breakers.admit(instance!, now);
      if (entry === undefined) return false;
      entry.settle(failed, now, entry.isTrial());
      return true;
    };
    return { breakers, instance: instance!, states, attempt, balancer };
  }

  it('counts only the attempts inside the window', () => {
    const { breakers, instance, states, attempt, balancer } = registry({
      volumeThreshold: 4,
      windowMs: 1000,
      buckets: 10,
    });
    for (let i = 0; i < 3; i++) attempt(0, true);
    expect(breakers.snapshot(instance.id, 0)).toMatchObject({ fires: 3, failures: 3, state: 'closed' });
    // A second later those three failures have left the window: one more is not 4 in a row.
    attempt(1000, true);
    expect(breakers.snapshot(instance.id, 1000)).toMatchObject({ fires: 1, failures: 1, state: 'closed' });
    expect(states).toEqual([]);
    for (let i = 0; i < 3; i++) attempt(1100, true);
    expect(states).toEqual(['open']);
    expect(attempt(1100, false)).toBe(false);
    expect(breakers.snapshot(instance.id, 1100)).toMatchObject({ state: 'open', rejects: 1 });
    breakers.close();
    balancer.close();
  });

  it('starts a breaker that closed after a good trial with an empty window', () => {
    const { breakers, instance, states, attempt, balancer } = registry({
      volumeThreshold: 4,
      resetTimeoutMs: 500,
    });
    for (let i = 0; i < 4; i++) attempt(0, true);
    expect(states).toEqual(['open']);
    vi.advanceTimersByTime(500);
    expect(states).toEqual(['open', 'half-open']);
    expect(attempt(600, false)).toBe(true);
    expect(states).toEqual(['open', 'half-open', 'closed']);
    expect(breakers.snapshot(instance.id, 600)).toMatchObject({ fires: 0, failures: 0, state: 'closed' });
    // The four failures that opened it are forgotten: one new failure does not open it again.
    attempt(700, true);
    expect(states.at(-1)).toBe('closed');
    breakers.close();
    balancer.close();
  });

  it('is decided only by its half-open trial, not by an attempt admitted before it opened', () => {
    const { breakers, instance, states, attempt, balancer } = registry({
      volumeThreshold: 4,
      resetTimeoutMs: 500,
    });
    // Two slow attempts go out while the breaker is closed, then failures open it.
    const early = [breakers.admit(instance, 0)!, breakers.admit(instance, 0)!];
    expect(early.map((e) => e.isTrial())).toEqual([false, false]);
    for (let i = 0; i < 4; i++) attempt(0, true);
    expect(states).toEqual(['open']);
    vi.advanceTimersByTime(500);
    const trial = breakers.admit(instance, 600)!;
    expect(trial.isTrial()).toBe(true);
    // The early attempts end while the trial is out: one well, one badly. Neither decides.
    early[0]!.settle(false, 650, false);
    early[1]!.settle(true, 660, false);
    expect(states).toEqual(['open', 'half-open']);
    expect(breakers.state(instance.id)).toBe('half-open');
    // Still only the one trial: no other attempt is admitted meanwhile.
    expect(breakers.admit(instance, 670)).toBeUndefined();
    trial.settle(false, 700, true);
    expect(states).toEqual(['open', 'half-open', 'closed']);
    breakers.close();
    balancer.close();
  });

  it('reopens on its trial failing, whatever attempts admitted before it reported', () => {
    const { breakers, instance, states, attempt, balancer } = registry({
      volumeThreshold: 4,
      resetTimeoutMs: 500,
    });
    const early = breakers.admit(instance, 0)!;
    for (let i = 0; i < 4; i++) attempt(0, true);
    vi.advanceTimersByTime(500);
    const trial = breakers.admit(instance, 600)!;
    early.settle(false, 650, false);
    trial.settle(true, 700, true);
    expect(states).toEqual(['open', 'half-open', 'open']);
    breakers.close();
    balancer.close();
  });
});
