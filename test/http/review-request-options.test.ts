// Valid but unusual request options still work on every front now that invalid ones fail typed:
// a method in lower case or of an extension (PURGE) is sent as undici and Node's fetch send it,
// `idempotent: false` keeps a GET from being sent twice, and `hashKey` as a string or any finite
// number (0, negative, fractional) sticks to one instance with ring-hash and Maglev.

import { Pool, request as undiciRequest } from 'undici';
import { describe, expect, it } from 'vitest';
import { testClients } from '../fixtures/clients.ts';
import { drop, echo, type Handler, serverOf, testResources } from '../fixtures/http-servers.ts';

const resources = testResources({ destroy: true });
const { client, inOrder } = testClients(resources);

/** The status and, when the server's parser took it, the method that arrived. */
const methodOf: Handler = (req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain' }).end(req.method);
};

async function arrival(
  send: () => Promise<{ status: number; text: () => Promise<string> }>,
): Promise<string> {
  try {
    const res = await send();
    return `${res.status} ${await res.text()}`;
  } catch {
    return 'refused';
  }
}

describe('an unusual method', () => {
  for (const method of ['get', 'post', 'PURGE', 'Purge']) {
    it(`(${method}) is sent on request and the dispatcher as undici sends it, and on fetch as Node's fetch does`, async () => {
      const server = await resources.server(methodOf);
      const pool = resources.track(new Pool(server.url));
      const c = client({ service: 'inventory', discovery: [server.url] });
      const viaUndici = (dispatcher: Pool | typeof c.dispatcher, url: string) =>
        arrival(async () => {
          const res = await undiciRequest(url, { method: method as never, dispatcher });
          return { status: res.statusCode, text: () => res.body.text() };
        });
      const direct = await viaUndici(pool, `${server.url}/`);
      expect(await viaUndici(c.dispatcher, 'http://inventory/'), 'the dispatcher').toBe(direct);
      const onRequest = await arrival(async () => {
        const res = await c.request({ path: '/', method: method as never });
        return { status: res.statusCode, text: () => res.body.text() };
      });
      expect(onRequest, 'client.request').toBe(direct);
      const fetched = await arrival(() => fetch(`${server.url}/`, { method }));
      expect(await arrival(() => c.fetch('/', { method })), 'client.fetch').toBe(fetched);
    });
  }

  it('PURGE is not replayed unless the call says it is idempotent', async () => {
    const dropping = await resources.server(drop);
    const good = await resources.server(echo('good'));
    const c = inOrder(dropping, good);
    await expect(c.request({ path: '/', method: 'PURGE' })).rejects.toMatchObject({
      code: 'PICKET_ATTEMPTS_EXHAUSTED',
    });
    expect(good.requests).toBe(0);
    expect(await serverOf(await c.request({ path: '/', method: 'PURGE', idempotent: true }))).toBe('good');
  });
});

describe('idempotent: false on a GET', () => {
  it('is sent once, on every front: a dropped connection is not replayed elsewhere', async () => {
    const dropping = await resources.server(drop);
    const good = await resources.server(echo('good'));
    const c = inOrder(dropping, good);
    await expect(c.request({ path: '/', idempotent: false })).rejects.toMatchObject({
      code: 'PICKET_ATTEMPTS_EXHAUSTED',
    });
    await expect(
      undiciRequest('http://s/', { dispatcher: c.dispatcher, idempotent: false } as never),
    ).rejects.toMatchObject({ code: 'PICKET_ATTEMPTS_EXHAUSTED' });
    await expect(c.fetch('/', { idempotent: false })).rejects.toThrow();
    expect([dropping.requests, good.requests]).toEqual([3, 0]);
    // The same GET without the flag is replayed, as the default says.
    expect(await serverOf(await c.request({ path: '/' }))).toBe('good');
  });

  it('is never hedged', async () => {
    const slow = await resources.server((req, res, body) =>
      setTimeout(() => echo('slow')(req, res, body), 150),
    );
    const fast = await resources.server(echo('fast'));
    const c = inOrder(slow, fast, { hedge: { delayMs: 10 } });
    const hedges: unknown[] = [];
    c.on('hedge', (e) => hedges.push(e));
    expect(await serverOf(await c.request({ path: '/', idempotent: false }))).toBe('slow');
    expect(hedges).toEqual([]);
    expect(fast.requests).toBe(0);
  });
});

describe('hashKey as a string or any finite number', () => {
  for (const strategy of ['ring-hash', 'maglev'] as const) {
    it(`(${strategy}) sticks to one instance per key on every front`, async () => {
      const all = await Promise.all(['a', 'b', 'c'].map((name) => resources.server(echo(name))));
      const c = client({ service: 's', discovery: all.map((s) => s.url), strategy });
      for (const hashKey of ['user-42', '', 0, -1, 42, 3.5, Number.MAX_SAFE_INTEGER]) {
        const seen = new Set<string>();
        for (let i = 0; i < 4; i++) {
          seen.add(await serverOf(await c.request({ path: '/', hashKey })));
          const res = await undiciRequest('http://s/', { dispatcher: c.dispatcher, hashKey } as never);
          seen.add(await serverOf(res));
          const fetched = await c.fetch('/', { hashKey });
          seen.add(((await fetched.json()) as { server: string }).server);
        }
        expect(seen.size, `hashKey ${String(hashKey)}`).toBe(1);
      }
      const spread = new Set<string>();
      for (let i = 0; i < 60; i++)
        spread.add(await serverOf(await c.request({ path: '/', hashKey: i * 7919 })));
      expect(spread.size, 'numeric keys spread').toBe(3);
    });
  }
});
