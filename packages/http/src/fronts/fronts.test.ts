import {
  Agent,
  getGlobalDispatcher,
  request,
  setGlobalDispatcher,
  Response as UndiciResponse,
  fetch as undiciFetch,
} from 'undici';
import { describe, expect, it } from 'vitest';
import { echo, testResources } from '../../../../test/fixtures/http-servers.ts';
import { waitFor } from '../../../../test/fixtures/instances.ts';
import { createAgent, createClient } from '../index.ts';

const resources = testResources();
const server = (name: string) => resources.server(echo(name));
const client = (options: Parameters<typeof createClient>[0]) => resources.track(createClient(options));

interface Echo {
  server: string;
  method: string;
  url: string;
  body: string;
}

describe('client.fetch', () => {
  it('resolves "/path" and http://<service>/path to the service', async () => {
    const a = await server('a');
    const c = client({ service: 'inventory', discovery: [a.url] });
    const r1 = await c.fetch('/items/1?q=2');
    // A WHATWG Response, from undici's own fetch.
    expect(r1).toBeInstanceOf(UndiciResponse);
    expect(r1.headers.get('x-server')).toBe('a');
    expect(((await r1.json()) as Echo).url).toBe('/items/1?q=2');
    const r2 = await c.fetch('http://inventory/items/2', { method: 'POST', body: 'hello' });
    expect((await r2.json()) as Echo).toMatchObject({ url: '/items/2', method: 'POST', body: 'hello' });
    const r3 = await c.fetch(new URL('http://INVENTORY/items/3'));
    expect(((await r3.json()) as Echo).url).toBe('/items/3');
    const r4 = await c.fetch(new Request('http://inventory/items/4', { method: 'PUT', body: 'four' }));
    expect((await r4.json()) as Echo).toMatchObject({ url: '/items/4', method: 'PUT', body: 'four' });
  });

  it('passes per-request options (idempotent) through to the dispatcher', async () => {
    let n = 0;
    const flaky = await resources.server((req, res, body) => {
      if (n++ === 0) res.writeHead(503).end();
      else echo('flaky')(req, res, body);
    });
    const c = client({ service: 'inventory', discovery: [flaky.url], breaker: false });
    const plain = await c.fetch('/', { method: 'POST', body: 'x' });
    expect(plain.status).toBe(503);
    await plain.text();
    n = 0;
    const retried = await c.fetch('/', { method: 'POST', body: 'x', idempotent: true });
    expect(retried.status).toBe(200);
    await retried.text();
  });
});

describe('client.fetch and redirects', () => {
  it('follows a redirect within the service through the balancer, and refuses one to another host', async () => {
    const a = await resources.server((req, res, body) => {
      if (req.url === '/moved') res.writeHead(302, { location: '/here' }).end();
      else if (req.url === '/away')
        res.writeHead(302, { location: 'http://elsewhere.example/x?token=S3CRET' }).end();
      else echo('a')(req, res, body);
    });
    const c = client({ service: 'inventory', discovery: [a.url] });
    const moved = await c.fetch('/moved');
    expect(moved.status).toBe(200);
    expect(moved.url).toBe('http://inventory/here');
    expect(((await moved.json()) as Echo).url).toBe('/here');
    // Another host is not this service: its request must not reach the service's instances.
    const error = (await c.fetch('/away').catch((e: unknown) => e)) as Error & { cause?: unknown };
    expect(error).toBeInstanceOf(TypeError);
    expect(error.cause).toMatchObject({ code: 'PICKET_INVALID_OPTIONS' });
    expect(String((error.cause as Error).message)).toContain('elsewhere.example');
    expect(String((error.cause as Error).message)).not.toContain('S3CRET');
    expect(a.requests).toBe(3);
  });
});

describe('client.request and client.dispatcher', () => {
  it('answers { statusCode, headers, body }', async () => {
    const a = await server('a');
    const c = client({ service: 'inventory', discovery: [a.url] });
    const res = await c.request('/items/9', { method: 'DELETE' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-server']).toBe('a');
    expect((await res.body.json()) as Echo).toMatchObject({ method: 'DELETE', url: '/items/9' });
  });

  it("leaves the caller's options as they were, whether they go through as they are or are completed", async () => {
    const a = await server('a');
    const c = client({ service: 'inventory', discovery: [a.url] });
    // Complete (path and method given): passed through. Frozen: any write would throw.
    const full = Object.freeze({
      path: '/items/1',
      method: 'PUT' as const,
      body: 'x',
      headers: { 'x-a': '1' },
    });
    const r1 = await c.request(full);
    expect((await r1.body.json()) as Echo).toMatchObject({ method: 'PUT', url: '/items/1', body: 'x' });
    expect(full).toEqual({ path: '/items/1', method: 'PUT', body: 'x', headers: { 'x-a': '1' } });
    // No method, or a service URL for a path: completed on a copy.
    const partial = Object.freeze({ path: 'http://inventory/items/2' });
    const r2 = await c.request(partial);
    expect((await r2.body.json()) as Echo).toMatchObject({ method: 'GET', url: '/items/2' });
    expect(partial).toEqual({ path: 'http://inventory/items/2' });
  });

  it("works with undici's own request and fetch", async () => {
    const a = await server('a');
    const c = client({ service: 'inventory', discovery: [a.url] });
    const r1 = await request('http://inventory/one', { dispatcher: c.dispatcher });
    expect(((await r1.body.json()) as Echo).url).toBe('/one');
    const r2 = await undiciFetch('http://inventory/two', { dispatcher: c.dispatcher });
    expect(((await r2.json()) as Echo).url).toBe('/two');
  });

  it("works with Node's built-in fetch given the dispatcher", async () => {
    const a = await server('a');
    const c = client({ service: 'inventory', discovery: [a.url] });
    const res = await globalThis.fetch('http://inventory/builtin?x=1', {
      dispatcher: c.dispatcher,
    } as RequestInit);
    expect(res.status).toBe(200);
    expect(((await res.json()) as Echo).url).toBe('/builtin?x=1');
  });

  it('streams a large body with backpressure intact: a reader that stops, stops the server', async () => {
    const CHUNK = 64 * 1024;
    const TOTAL = 1024 * CHUNK; // 64 MB: more than the socket buffers on both sides can hold
    let written = 0;
    let blocked = false;
    let ended = false;
    const big = await resources.server((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const chunk = Buffer.alloc(CHUNK, 7);
      const write = () => {
        blocked = false;
        while (written < TOTAL) {
          written += CHUNK;
          if (!res.write(chunk)) {
            blocked = true;
            res.once('drain', write);
            return;
          }
        }
        ended = true;
        res.end();
      };
      write();
    });
    const c = client({ service: 'inventory', discovery: [big.url] });
    const res = await c.request({ path: '/big' });
    const reader = res.body[Symbol.asyncIterator]();
    let total = ((await reader.next()).value as Buffer).length;
    // The reader stops: undici must pause the socket, so the server comes to a stop as well, far
    // from the end (without backpressure the client would take all 64 MB into memory).
    await waitFor(() => blocked, 'the server to block on a full socket', { timeoutMs: 10_000 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(blocked).toBe(true);
    expect(ended).toBe(false);
    expect(written).toBeLessThan(TOTAL / 2);
    for (let next = await reader.next(); !next.done; next = await reader.next())
      total += (next.value as Buffer).length;
    expect(total).toBe(TOTAL);
    expect(ended).toBe(true);
  });
});

describe('createAgent', () => {
  it('routes http://<service>/… by host to that client and the rest to a plain agent', async () => {
    const inv = await server('inventory');
    const pay = await server('payments');
    const other = await server('other');
    const inventory = client({ service: 'inventory', discovery: [inv.url] });
    const payments = client({ service: 'payments', discovery: [pay.url] });
    const agent = createAgent({ services: [inventory, payments] });
    try {
      const r1 = await request('http://inventory/a', { dispatcher: agent });
      expect(((await r1.body.json()) as Echo).server).toBe('inventory');
      const r2 = await undiciFetch('http://payments:80/b', { dispatcher: agent });
      expect(((await r2.json()) as Echo).server).toBe('payments');
      const r3 = await request(`${other.url}/c`, { dispatcher: agent });
      expect(((await r3.body.json()) as Echo).server).toBe('other');
    } finally {
      await agent.close();
    }
  });

  it("makes Node's built-in fetch load-balanced through setGlobalDispatcher", async () => {
    const a = await server('a');
    const b = await server('b');
    const inventory = client({ service: 'inventory', discovery: [a.url, b.url], strategy: 'round-robin' });
    const agent = createAgent({ services: { inventory } });
    const previous = getGlobalDispatcher();
    setGlobalDispatcher(agent);
    try {
      const seen = new Set<string>();
      for (let i = 0; i < 6; i++) {
        const res = await globalThis.fetch(`http://inventory/items/${i}`);
        const body = (await res.json()) as Echo;
        expect(body.url).toBe(`/items/${i}`);
        seen.add(body.server);
      }
      expect([...seen].sort()).toEqual(['a', 'b']);
      // Anything else still works through the fallback agent.
      const direct = await globalThis.fetch(`${a.url}/direct`);
      expect(((await direct.json()) as Echo).url).toBe('/direct');
    } finally {
      setGlobalDispatcher(previous);
      await agent.close();
    }
  });

  it('rejects a services entry that is not a client', () => {
    expect(() => createAgent({ services: { inventory: {} as never } })).toThrow(/services\.inventory/);
    expect(() => createAgent({ services: {}, fallback: new Agent() })).not.toThrow();
  });

  it('rejects services that are neither an object nor a list, typed (null threw a TypeError)', () => {
    expect(() => createAgent({ services: null as never })).toThrow(
      'Invalid agent options: `services` must be an object of clients by host name or a list of clients, got null',
    );
  });
});
