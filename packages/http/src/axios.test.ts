import { inspect } from 'node:util';
import { gzipSync } from 'node:zlib';
import axios, { AxiosError, type AxiosInstance } from 'axios';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  echo,
  type Handler,
  never,
  startServer,
  type TestServer,
} from '../../../test/fixtures/http-servers.ts';
import { freePort, waitFor } from '../../../test/fixtures/instances.ts';
import { failure } from './axios/side-by-side.ts';
import { axiosAdapter } from './axios.ts';
import { type Client, createClient } from './index.ts';

const routes: Record<string, Handler> = {
  '/json': (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'set-cookie': ['a=1', 'b=2'] }).end('{"n":42}');
  },
  '/gzip': (_req, res) => {
    res
      .writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip' })
      .end(gzipSync('unzipped!'));
  },
  '/missing': (_req, res) => {
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"nope"}');
  },
  '/broken': (_req, res) => {
    res.writeHead(500).end('down');
  },
  '/headers': (req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(req.headers));
  },
  '/slow': (_req, res) => {
    const t = setTimeout(() => res.end('late'), 2000);
    res.on('close', () => clearTimeout(t));
  },
  '/hang': never,
};

let server: TestServer;
let client: Client;
let api: AxiosInstance;
let deadClient: Client;
// The client's own `timeout` (PICKET_TIMEOUT), not axios's.
let timedClient: Client;

beforeAll(async () => {
  server = await startServer((req, res, body) => {
    const route = routes[new URL(req.url ?? '/', 'http://x').pathname];
    if (route !== undefined) route(req, res, body);
    else echo('axios')(req, res, body);
  });
  client = createClient({ service: 'inventory', discovery: [server.url], breaker: false });
  api = axios.create({ adapter: axiosAdapter(client), baseURL: 'http://inventory' });
  deadClient = createClient({ service: 'inventory', discovery: [`http://127.0.0.1:${await freePort()}`] });
  // Its requests all time out: no breaker or outlier ejection may take the one instance away.
  timedClient = createClient({
    service: 'inventory',
    discovery: [server.url],
    timeout: 100,
    breaker: false,
    outlierDetection: false,
  });
});
afterAll(async () => {
  await client.close();
  await deadClient.close();
  await timedClient.close();
  await server.close();
});

interface Echo {
  method: string;
  url: string;
  body: string;
}

describe('axiosAdapter', () => {
  it('parses JSON, exposes response headers, and sends params and request headers', async () => {
    const res = await api.get('/json');
    expect(res.status).toBe(200);
    expect(res.data).toEqual({ n: 42 });
    expect(res.headers['content-type']).toBe('application/json');
    expect(res.headers['set-cookie']).toEqual(['a=1', 'b=2']);

    const echoed = await api.get<Echo>('/echo', { params: { q: 'x y' } });
    expect(echoed.data.url).toBe('/echo?q=x+y');
    const headers = await api.get<Record<string, string>>('/headers', {
      headers: { 'X-Trace': 't1' },
      auth: { username: 'u', password: 'p' },
    });
    expect(headers.data['x-trace']).toBe('t1');
    expect(headers.data.authorization).toBe(`Basic ${Buffer.from('u:p').toString('base64')}`);
    expect(headers.data['user-agent']).toMatch(/^axios\//);
  });

  it('sends objects as JSON and strings as they are', async () => {
    const res = await api.post<Echo>('/items', { name: 'widget' });
    expect(res.data).toMatchObject({ method: 'POST', url: '/items', body: '{"name":"widget"}' });
    const text = await api.put<Echo>('/items/1', 'plain');
    expect(text.data.body).toBe('plain');
  });

  it('honours responseType text, arraybuffer and stream', async () => {
    const text = await api.get('/json', { responseType: 'text', transformResponse: (d) => d });
    expect(text.data).toBe('{"n":42}');
    const buf = await api.get('/json', { responseType: 'arraybuffer' });
    expect(Buffer.isBuffer(buf.data)).toBe(true);
    expect(buf.data.toString()).toBe('{"n":42}');
    const stream = await api.get('/json', { responseType: 'stream' });
    let body = '';
    for await (const chunk of stream.data) body += chunk;
    expect(body).toBe('{"n":42}');
  });

  it('decompresses gzip unless told not to', async () => {
    expect((await api.get('/gzip')).data).toBe('unzipped!');
    const raw = await api.get('/gzip', { decompress: false, responseType: 'arraybuffer' });
    expect(raw.headers['content-encoding']).toBe('gzip');
  });

  it('rejects per validateStatus with ERR_BAD_REQUEST / ERR_BAD_RESPONSE and the response', async () => {
    const notFound = await api.get('/missing').catch((e: AxiosError) => e);
    expect(notFound).toBeInstanceOf(AxiosError);
    expect(notFound).toMatchObject({
      code: 'ERR_BAD_REQUEST',
      response: { status: 404, data: { error: 'nope' } },
    });
    const down = await api.get('/broken').catch((e: AxiosError) => e);
    expect(down).toMatchObject({ code: 'ERR_BAD_RESPONSE', response: { status: 500 } });
    const accepted = await api.get('/missing', { validateStatus: () => true });
    expect(accepted.status).toBe(404);
  });

  it('times out with ECONNABORTED, or ETIMEDOUT with clarifyTimeoutError', async () => {
    const a = await api.get('/slow', { timeout: 100 }).catch((e: AxiosError) => e);
    expect(a).toMatchObject({ code: 'ECONNABORTED', message: 'timeout of 100ms exceeded' });
    const b = await api
      .get('/slow', { timeout: 100, transitional: { clarifyTimeoutError: true } })
      .catch((e: AxiosError) => e);
    expect(b).toMatchObject({ code: 'ETIMEDOUT' });
  });

  it("times out with ECONNABORTED on the client's own timeout, with the PICKET_TIMEOUT as cause", async () => {
    const timed = axios.create({ adapter: axiosAdapter(timedClient), baseURL: 'http://inventory' });
    const error = await failure(timed.get('/hang'));
    expect(error).toBeInstanceOf(AxiosError);
    expect(axios.isCancel(error)).toBe(false);
    expect(error).toMatchObject({ code: 'ECONNABORTED', message: 'timeout exceeded' });
    expect((error.cause as { code?: string }).code).toBe('PICKET_TIMEOUT');
    const clarified = await failure(timed.get('/hang', { transitional: { clarifyTimeoutError: true } }));
    expect(clarified).toMatchObject({ code: 'ETIMEDOUT', cause: { code: 'PICKET_TIMEOUT' } });
  });

  it('keeps a query token out of the message and cause of every kind of failure', async () => {
    const timed = axios.create({ adapter: axiosAdapter(timedClient), baseURL: 'http://inventory' });
    const dead = axios.create({ adapter: axiosAdapter(deadClient), baseURL: 'http://inventory' });
    const failures = {
      timeout: await failure(timed.get('/hang?token=SECRET&page=2')),
      network: await failure(dead.get('/hang?token=SECRET&page=2')),
      status: await failure(api.get('/broken?token=SECRET&page=2')),
      params: await failure(timed.get('/hang', { params: { token: 'SECRET', page: 2 } })),
    };
    expect(Object.values(failures).map((e) => e.code)).toEqual([
      'ECONNABORTED',
      'ECONNREFUSED',
      'ERR_BAD_RESPONSE',
      'ECONNABORTED',
    ]);
    for (const [kind, error] of Object.entries(failures)) {
      expect(error, kind).toBeInstanceOf(AxiosError);
      expect(error.message, kind).not.toContain('SECRET');
      // Picket's error, with its message, details and causes, never carries it.
      expect(inspect(error.cause, { depth: 10 }), kind).not.toContain('SECRET');
      // error.config is the caller's own config, left as it was so that it can be sent again
      // (axios-retry does): its url keeps the token, as with axios's own adapters.
    }
    // The request is what axios's own adapter gives: its path is the path sent, and only its
    // JSON form (for loggers) hides the token.
    const request = failures.status.response?.request as { path: string };
    expect(request.path).toBe('/broken?token=SECRET&page=2');
    expect(JSON.stringify(request)).toContain('/broken?token=[REDACTED]&page=2');
    expect(failures.timeout.cause).toMatchObject({ code: 'PICKET_TIMEOUT' });
    expect((failures.timeout.cause as Error).message).toContain('/hang?token=[REDACTED]&page=2');
    expect(failures.network.cause).toMatchObject({ code: 'PICKET_ATTEMPTS_EXHAUSTED' });
    expect((failures.network.cause as Error).message).toContain('/hang?token=[REDACTED]&page=2');
  });

  it('cancels with ERR_CANCELED through signal', async () => {
    const controller = new AbortController();
    const before = server.requests;
    const pending = api.get('/slow', { signal: controller.signal }).catch((e: unknown) => e);
    await waitFor(() => server.requests > before, 'the request to arrive');
    controller.abort();
    const error = await pending;
    expect(axios.isCancel(error)).toBe(true);
    expect(error).toMatchObject({ code: 'ERR_CANCELED' });
  });

  it("reports transport failures with the socket error's code and the Picket error as cause", async () => {
    const dead = axios.create({ adapter: axiosAdapter(deadClient) });
    const error = await dead.get('/x', { headers: { Authorization: 'Bearer SECRET' } }).then(
      () => new AxiosError('expected a failure'),
      (e: AxiosError) => e,
    );
    expect(error).toBeInstanceOf(AxiosError);
    expect(error.code).toBe('ECONNREFUSED');
    expect((error.cause as { code?: string }).code).toBe('PICKET_ATTEMPTS_EXHAUSTED');
    expect(error.message).not.toContain('SECRET');
  });

  it('refuses a URL of another host with ERR_INVALID_URL, never sending it to the service', async () => {
    const before = server.requests;
    const plain = axios.create({ adapter: axiosAdapter(client) });
    const error = await plain.get('http://elsewhere.example/x?token=SECRET').then(
      () => new AxiosError('expected a failure'),
      (e: AxiosError) => e,
    );
    expect(error.code).toBe('ERR_INVALID_URL');
    expect(error.cause).toMatchObject({ code: 'PICKET_INVALID_OPTIONS' });
    expect(error.message).toContain('elsewhere.example');
    expect(error.message).not.toContain('SECRET');
    // The service's own name, and relative URLs, are the service.
    expect((await plain.get('http://inventory/json')).data).toEqual({ n: 42 });
    expect((await plain.get('/json')).data).toEqual({ n: 42 });
    expect(server.requests).toBe(before + 2);
  });

  it('turns credentials in the URL into basic auth, as axios does, and keeps them out of the request', async () => {
    const plain = axios.create({ adapter: axiosAdapter(client) });
    const res = await plain.get('http://alice:p%40ss@inventory/headers');
    expect(res.data.authorization).toBe(`Basic ${Buffer.from('alice:p@ss').toString('base64')}`);
    expect(JSON.stringify(res.request)).not.toContain('p%40ss');
    // `auth` wins over the URL's.
    const explicit = await plain.get('http://alice:p%40ss@inventory/headers', {
      auth: { username: 'bob', password: 'pw' },
    });
    expect(explicit.data.authorization).toBe(`Basic ${Buffer.from('bob:pw').toString('base64')}`);
  });
});
