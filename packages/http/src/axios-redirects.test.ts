// Redirects through axiosAdapter follow axios's rules (follow-redirects', as axios uses it):
// within the service each hop is balanced and retried; to another origin the hop is sent as
// axios sends it, without credentials.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { echo, type Handler, startServer, type TestServer } from '../../../test/fixtures/http-servers.ts';
import { freePort } from '../../../test/fixtures/instances.ts';
import { type SideBySide, sideBySide } from './axios/side-by-side.ts';
import { type Client, createClient } from './index.ts';

let other: TestServer;
let server: TestServer;
let client: Client;
let both: SideBySide;

// What the final hop received: enough to tell method, body and credentials apart.
const seen: Handler = (req, res, body) => {
  res.writeHead(200, { 'content-type': 'application/json' }).end(
    JSON.stringify({
      method: req.method,
      url: req.url,
      body: body.toString(),
      authorization: req.headers.authorization ?? null,
      cookie: req.headers.cookie ?? null,
      type: req.headers['content-type'] ?? null,
      trace: req.headers['x-trace'] ?? null,
    }),
  );
};

function routes(url: URL): Handler | undefined {
  const status = /^\/r\/(\d{3})$/.exec(url.pathname)?.[1];
  if (status !== undefined) {
    return (_req, res) => {
      res.writeHead(Number(status), { location: '/seen?from=redirect' }).end('moved');
    };
  }
  if (url.pathname === '/chain') {
    const n = Number(url.searchParams.get('n') ?? '0');
    return (_req, res) => {
      res.writeHead(302, { location: n > 0 ? `/chain?n=${n - 1}` : '/seen' }).end();
    };
  }
  if (url.pathname === '/away') {
    return (_req, res) => {
      res.writeHead(302, { location: `${other.url}/seen` }).end();
    };
  }
  if (url.pathname === '/seen') return seen;
  return undefined;
}

beforeAll(async () => {
  other = await startServer(seen);
  server = await startServer((req, res, body) => {
    (routes(new URL(req.url ?? '/', 'http://x')) ?? echo('main'))(req, res, body);
  });
  client = createClient({ service: 'inventory', discovery: [server.url], breaker: false });
  both = sideBySide(client, server.url);
});
afterAll(async () => {
  await client.close();
  await server.close();
  await other.close();
});

describe('axiosAdapter redirects', () => {
  it.each([301, 302, 303, 307, 308])(
    'follows a %i after a POST with the method rules of axios',
    async (code) => {
      const { axios, picket } = await both.run({ method: 'POST', url: `/r/${code}`, data: { a: 1 } });
      expect(picket).toEqual(axios);
      expect(picket.status).toBe(200);
      expect((picket.data as { method: string }).method).toBe(code === 307 || code === 308 ? 'POST' : 'GET');
    },
  );

  it('follows a chain within the service, each hop through the balancer', async () => {
    const before = server.requests;
    const { axios, picket } = await both.run({ url: '/chain?n=3' });
    expect(picket).toEqual(axios);
    expect(server.requests - before).toBe(2 * 5);
  });

  it('fails past maxRedirects with ERR_FR_TOO_MANY_REDIRECTS', async () => {
    const { axios, picket } = await both.run({ url: '/chain?n=5', maxRedirects: 2 });
    expect(picket).toEqual(axios);
    expect(picket.error?.code).toBe('ERR_FR_TOO_MANY_REDIRECTS');
  });

  it('returns the 3xx itself with maxRedirects: 0', async () => {
    const answer = await both.run({ url: '/r/302', maxRedirects: 0, validateStatus: () => true });
    expect(answer.picket).toEqual(answer.axios);
    expect(answer.picket.status).toBe(302);
    const refused = await both.run({ url: '/r/302', maxRedirects: 0 });
    expect(refused.picket).toEqual(refused.axios);
  });

  it('calls beforeRedirect with the next hop, which it may change', async () => {
    const calls: string[][] = [];
    const config = () => ({
      url: '/chain?n=1',
      beforeRedirect: (options: Record<string, unknown>, response: { statusCode: number }) => {
        calls.push([String(options.path), String(response.statusCode)]);
        (options.headers as Record<string, string>)['X-Trace'] = 'added';
      },
    });
    const { axios, picket } = await both.run(config);
    expect(picket).toEqual(axios);
    expect(calls).toEqual([
      ['/chain?n=0', '302'],
      ['/seen', '302'],
      ['/chain?n=0', '302'],
      ['/seen', '302'],
    ]);
    expect((picket.data as { trace: string }).trace).toBe('added');
  });

  it('keeps credentials within the service and drops them for another origin', async () => {
    const config = {
      auth: { username: 'u', password: 'p' },
      headers: { Cookie: 'session=1' },
    };
    const within = await both.run({ ...config, url: '/r/302' });
    expect(within.picket).toEqual(within.axios);
    expect(within.picket.data).toMatchObject({ authorization: `Basic ${btoa('u:p')}`, cookie: 'session=1' });
    const before = other.requests;
    const away = await both.run({ ...config, url: '/away' });
    expect(away.picket).toEqual(away.axios);
    expect(away.picket.data).toMatchObject({ url: '/seen', authorization: null, cookie: null });
    expect(other.requests - before).toBe(2);
  });

  it('applies maxBodyLength to a body a 307 sends again, as axios does', async () => {
    // Within the limit: the body goes out on both hops. Over it: refused before anything is sent.
    const fits = await both.run({ method: 'POST', url: '/r/307', data: 'x'.repeat(8), maxBodyLength: 10 });
    expect(fits.picket).toEqual(fits.axios);
    expect(fits.picket.data).toMatchObject({ method: 'POST', body: 'x'.repeat(8) });
    const before = server.requests;
    const over = await both.run({ method: 'POST', url: '/r/307', data: 'x'.repeat(20), maxBodyLength: 10 });
    expect(over.picket).toEqual(over.axios);
    expect(over.picket.error?.code).toBe('ERR_BAD_REQUEST');
    expect(server.requests - before).toBe(0);
  });

  it('applies maxContentLength to the last hop', async () => {
    const { axios, picket } = await both.run({ url: '/chain?n=1', maxContentLength: 10 });
    expect(picket).toEqual(axios);
    expect(picket.error?.code).toBe('ERR_BAD_RESPONSE');
  });
});

describe('axiosAdapter through a failing instance', () => {
  it('retries each hop of a redirect chain, and a form upload, on the instance that answers', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const failing = createClient({
      service: 'inventory',
      discovery: [dead, server.url],
      strategy: 'round-robin',
      breaker: false,
      outlierDetection: false,
    });
    try {
      const local = sideBySide(failing, server.url);
      const before = server.requests;
      for (let i = 0; i < 3; i++) {
        const chain = await local.run({ url: '/chain?n=2' });
        expect(chain.picket).toEqual(chain.axios);
      }
      expect(server.requests - before).toBe(3 * 2 * 4);
      const form = () => {
        const f = new FormData();
        f.append('name', 'widget');
        f.append('file', new Blob(['file body']), 'a.txt');
        return f;
      };
      for (let i = 0; i < 3; i++) {
        const upload = await local.run(() => ({ method: 'POST', url: '/upload', data: form() }));
        expect(upload.picket.status).toBe(200);
        expect((upload.picket.data as { body: string }).body).toContain('file body');
      }
      const dead0 = failing.snapshot().instances.find((i) => i.url === dead);
      expect(dead0?.failures).toBeGreaterThan(0);
    } finally {
      await failing.close();
    }
  });
});
