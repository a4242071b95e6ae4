import { gzipSync } from 'node:zlib';
import axios, { AxiosError, type AxiosInstance } from 'axios';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { echo, type Handler, startServer, type TestServer } from '../../../test/fixtures/http-servers.ts';
import { freePort, waitFor } from '../../../test/fixtures/instances.ts';
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
};

let server: TestServer;
let client: Client;
let api: AxiosInstance;
let deadClient: Client;

beforeAll(async () => {
  server = await startServer((req, res, body) => {
    const route = routes[new URL(req.url ?? '/', 'http://x').pathname];
    if (route !== undefined) route(req, res, body);
    else echo('axios')(req, res, body);
  });
  client = createClient({ service: 'inventory', discovery: [server.url], breaker: false });
  api = axios.create({ adapter: axiosAdapter(client), baseURL: 'http://inventory' });
  deadClient = createClient({ service: 'inventory', discovery: [`http://127.0.0.1:${await freePort()}`] });
});
afterAll(async () => {
  await client.close();
  await deadClient.close();
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

  it('reports transport failures as ERR_NETWORK with the Picket error as cause', async () => {
    const dead = axios.create({ adapter: axiosAdapter(deadClient) });
    const error = await dead.get('/x', { headers: { Authorization: 'Bearer SECRET' } }).then(
      () => new AxiosError('expected a failure'),
      (e: AxiosError) => e,
    );
    expect(error).toBeInstanceOf(AxiosError);
    expect(error.code).toBe('ERR_NETWORK');
    expect((error.cause as { code?: string }).code).toBe('PICKET_ATTEMPTS_EXHAUSTED');
    expect(error.message).not.toContain('SECRET');
  });
});
