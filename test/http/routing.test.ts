import { describe, expect, it } from 'vitest';
import { testClients } from '../fixtures/clients.ts';
import { echo, testResources } from '../fixtures/http-servers.ts';
import { waitFor } from '../fixtures/instances.ts';

const resources = testResources();
const server = (name: string) => resources.server(echo(name));
const { client } = testClients(resources);

interface Echo {
  server: string;
  method: string;
  url: string;
  host: string;
  body: string;
}

describe('dispatcher routing', () => {
  it("prefixes the instance's base path and sends the instance's own Host", async () => {
    const a = await server('a');
    const c = client({ service: 'inventory', discovery: [`${a.url}/api/v2`] });
    const res = await c.request({ path: '/items/42?x=1', headers: { host: 'evil.example' } });
    const body = (await res.body.json()) as Echo;
    expect(body.url).toBe('/api/v2/items/42?x=1');
    expect(body.host).toBe(`127.0.0.1:${a.port}`);
  });

  it('reuses keep-alive connections: many requests, few sockets per instance', async () => {
    const a = await server('a');
    const b = await server('b');
    const c = client({ service: 'inventory', discovery: [a.url, b.url] });
    const worker = async () => {
      for (let i = 0; i < 50; i++) {
        const res = await c.request({ path: `/r/${i}` });
        await res.body.text();
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    expect(a.requests + b.requests).toBe(200);
    // Four callers can hold at most four sockets per instance at once.
    expect(a.connections).toBeLessThanOrEqual(4);
    expect(b.connections).toBeLessThanOrEqual(4);
    expect(a.connections + b.connections).toBeGreaterThan(0);
  });

  it('spreads requests over every instance', async () => {
    const all = await Promise.all(['a', 'b', 'c'].map(server));
    const c = client({ service: 'inventory', discovery: all.map((s) => s.url), strategy: 'round-robin' });
    for (let i = 0; i < 30; i++) await (await c.request({ path: '/' })).body.text();
    for (const s of all) expect(s.requests).toBe(10);
  });

  it('never hands one request another request’s response', async () => {
    const all = await Promise.all(['a', 'b', 'c'].map(server));
    // One instance answers slowly and one fails half the time, so retries and races interleave.
    all[1]!.handle((req, res, body) => setTimeout(() => echo('b')(req, res, body), 5));
    let flip = 0;
    all[2]!.handle((req, res, body) => {
      if (flip++ % 2 === 0) {
        res.writeHead(503).end();
        return;
      }
      echo('c')(req, res, body);
    });
    const c = client({ service: 'inventory', discovery: all.map((s) => s.url), retry: { budget: false } });
    const results = await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        const res = await c.request({ path: `/id/${i}`, method: 'PUT', body: `payload-${i}` });
        return { i, status: res.statusCode, body: (await res.body.json()) as Echo };
      }),
    );
    for (const r of results) {
      expect(r.status).toBe(200);
      expect(r.body.url).toBe(`/id/${r.i}`);
      expect(r.body.body).toBe(`payload-${r.i}`);
    }
  });

  it('fails at once with PICKET_NO_INSTANCES when discovery gave none', async () => {
    const c = client({ service: 'inventory', discovery: [] });
    const started = performance.now();
    await expect(c.request({ path: '/' })).rejects.toMatchObject({ code: 'PICKET_NO_INSTANCES' });
    expect(performance.now() - started).toBeLessThan(500);
  });

  it('refuses URLs of other hosts instead of sending them to the service', async () => {
    const a = await server('a');
    const c = client({ service: 'inventory', discovery: [a.url] });
    await expect(c.fetch('http://elsewhere.example/x')).rejects.toMatchObject({
      code: 'PICKET_INVALID_OPTIONS',
    });
    const { request } = await import('undici');
    await expect(request('http://elsewhere.example/x', { dispatcher: c.dispatcher })).rejects.toMatchObject({
      code: 'PICKET_INVALID_OPTIONS',
    });
    expect(a.requests).toBe(0);
  });

  it('drains a removed instance: its in-flight request finishes, then its pool closes', async () => {
    const a = await server('a');
    a.handle((req, res, body) => setTimeout(() => echo('a')(req, res, body), 300));
    const listeners: Array<(p: { instances: readonly never[] }) => void> = [];
    let current: unknown[] | undefined = [a.url];
    const provider = {
      start() {},
      on(name: string, fn: never) {
        if (name === 'snapshot') listeners.push(fn);
        return () => {};
      },
      current: () => current as never,
      lastError: () => undefined,
      close: async () => {},
    };
    const c = client({ service: 'inventory', discovery: provider });
    const pending = c.request({ path: '/slow' });
    await waitFor(() => a.requests === 1, 'the request to reach the instance');
    // The instance leaves discovery while its request is in flight.
    current = [];
    for (const l of listeners) l({ instances: [] });
    const res = await pending;
    expect(res.statusCode).toBe(200);
    expect(((await res.body.json()) as Echo).server).toBe('a');
    await expect(c.request({ path: '/' })).rejects.toMatchObject({ code: 'PICKET_NO_INSTANCES' });
    // Drained, not kept: the pool closes its idle keep-alive socket once the request is done.
    await waitFor(
      () => new Promise<boolean>((resolve) => a.server.getConnections((_, n) => resolve(n === 0))),
      'the drained pool to close its socket',
      { timeoutMs: 5000 },
    );
    expect(c.snapshot().drainingPools).toBe(0);
  });
});
