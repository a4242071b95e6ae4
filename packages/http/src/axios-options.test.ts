// The rest of axios's options through axiosAdapter: limits, progress, the request object axios
// users inspect, and what the adapter refuses or ignores on purpose because the balancer owns
// addressing and connections.

import { once } from 'node:events';
import { Agent, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import axios, { type AxiosProgressEvent } from 'axios';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { echo, startServer, type TestServer } from '../../../test/fixtures/http-servers.ts';
import { failure, type SideBySide, sideBySide } from './axios/side-by-side.ts';
import { axiosAdapter } from './axios.ts';
import { type Client, createClient } from './index.ts';

const BIG = 'y'.repeat(256 * 1024);

let server: TestServer;
let client: Client;
let both: SideBySide;

beforeAll(async () => {
  server = await startServer((req, res, body) => {
    if (req.url === '/big') {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(BIG.length) }).end(BIG);
    } else echo('main')(req, res, body);
  });
  client = createClient({ service: 'inventory', discovery: [server.url], breaker: false });
  both = sideBySide(client, server.url);
});
afterAll(async () => {
  await client.close();
  await server.close();
});

describe('axiosAdapter limits', () => {
  it('refuses a body over maxBodyLength with ERR_BAD_REQUEST, before sending it', async () => {
    const before = server.requests;
    const { axios: a, picket } = await both.run({
      method: 'POST',
      url: '/x',
      data: 'z'.repeat(1000),
      maxBodyLength: 10,
    });
    expect(picket).toEqual(a);
    expect(picket.error).toMatchObject({
      code: 'ERR_BAD_REQUEST',
      message: 'Request body larger than maxBodyLength limit',
    });
    expect(server.requests).toBe(before);
  });

  it('fails a stream body that grows over maxBodyLength as axios does', async () => {
    const { axios: a, picket } = await both.run(() => ({
      method: 'POST',
      url: '/x',
      data: Readable.from([Buffer.alloc(8, 1), Buffer.alloc(8, 2)]),
      maxBodyLength: 10,
    }));
    expect(picket.error).toMatchObject({ code: 'ERR_BAD_REQUEST' });
    expect(picket.error?.message).toBe(a.error?.message);
  });

  it('refuses a Content-Length that does not match the body, naming it (Node would send it as it is)', async () => {
    const error = await failure(
      both.picket.post('/x', 'abcdef', { headers: { 'Content-Length': '3' }, transformRequest: (d) => d }),
    );
    expect(error.code).toBe('UND_ERR_REQ_CONTENT_LENGTH_MISMATCH');
    expect(error.cause).toMatchObject({ code: 'PICKET_INVALID_REQUEST' });
  });
});

describe('axiosAdapter progress', () => {
  const events = async (api: typeof both.native) => {
    const up: AxiosProgressEvent[] = [];
    const down: AxiosProgressEvent[] = [];
    await api.post('/big', 'u'.repeat(64 * 1024), {
      onUploadProgress: (e) => up.push(e),
      onDownloadProgress: (e) => down.push(e),
    });
    const last = (list: AxiosProgressEvent[]) => {
      const e = list.at(-1);
      return (
        e && {
          loaded: e.loaded,
          total: e.total,
          progress: e.progress,
          upload: e.upload,
          download: e.download,
        }
      );
    };
    return {
      up: last(up),
      down: last(down),
      rates: [...up, ...down].every((e) => 'rate' in e && 'estimated' in e),
    };
  };

  it('reports upload and download progress as axios does', async () => {
    const a = await events(both.native);
    const p = await events(both.picket);
    expect(p).toEqual(a);
    expect(p.up).toMatchObject({ loaded: 64 * 1024, total: 64 * 1024, progress: 1, upload: true });
    expect(p.down).toMatchObject({ loaded: BIG.length, total: BIG.length, progress: 1, download: true });
  });
});

describe('axiosAdapter response.request', () => {
  it("is a ClientRequest-like object: method, path, host and headers as axios's gives them", async () => {
    const view = (req: Record<string, unknown> & { getHeader(name: string): unknown }) => ({
      method: req.method,
      path: req.path,
      protocol: req.protocol,
      accept: req.getHeader('accept'),
      agent: req.getHeader('user-agent'),
      missing: req.getHeader('x-none'),
    });
    const a = await both.native.get('/items?x=1', { params: { y: 2 } });
    const p = await both.picket.get('/items?x=1', { params: { y: 2 } });
    expect(view(p.request)).toEqual(view(a.request));
    expect(p.request.host).toBe('inventory');
    expect(p.request.getHeader('host')).toBe('inventory');
  });
});

describe('axiosAdapter on purpose unlike axios', () => {
  it.each([
    ['proxy', { proxy: { host: '127.0.0.1', port: 3128 } }],
    ['lookup', { lookup: () => undefined }],
    ['socketPath', { socketPath: '/tmp/s.sock' }],
    ['httpVersion', { httpVersion: 2 }],
    ['transport', { transport: { request: () => undefined } }],
  ])('refuses %s with ERR_BAD_OPTION_VALUE, sending nothing', async (option, extra) => {
    const before = server.requests;
    const error = await failure(both.picket.get('/x', extra as never));
    expect(error).toMatchObject({ code: 'ERR_BAD_OPTION_VALUE' });
    expect(error.message).toContain(`\`${option}\``);
    expect(server.requests).toBe(before);
  });

  it('refuses a data: URL with ERR_NOT_SUPPORT', async () => {
    const error = await failure(both.picket.get('data:text/plain,hello', { baseURL: '' }));
    expect(error).toMatchObject({ code: 'ERR_NOT_SUPPORT' });
  });

  it('ignores httpAgent and family for the service, warning once per option', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error & { code?: string }) => {
      if (w.code === 'PICKET_AXIOS_IGNORED_OPTION') warnings.push(w.message);
    };
    process.on('warning', onWarning);
    try {
      const api = axios.create({
        adapter: axiosAdapter(client),
        baseURL: 'http://inventory',
        family: 4,
        httpAgent: new Agent({ keepAlive: true }),
      });
      for (let i = 0; i < 2; i++) expect((await api.get('/x')).status).toBe(200);
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings).toHaveLength(2);
      expect(warnings.join('\n')).toMatch(/`httpAgent`[\s\S]*`family`|`family`[\s\S]*`httpAgent`/);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('sends to an instance at an IPv6 literal', async () => {
    const v6 = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ url: req.url }));
    });
    v6.listen(0, '::1');
    await once(v6, 'listening');
    const url = `http://[::1]:${(v6.address() as AddressInfo).port}`;
    const c = createClient({ service: 'inventory', discovery: [url] });
    try {
      const local = sideBySide(c, url);
      const { axios: a, picket } = await local.run({ url: '/six', params: { a: 1 } });
      expect(picket).toEqual(a);
      expect(picket.data).toEqual({ url: '/six?a=1' });
    } finally {
      await c.close();
      v6.closeAllConnections();
      v6.close();
    }
  });
});
