// Response bodies through axiosAdapter: decoded, limited and streamed as axios's Node adapter
// does, and, whatever ends a body early (a decoder failing, maxContentLength, the caller), its
// connection is given back at once.

import type { Readable } from 'node:stream';
import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Handler, startServer, type TestServer } from '../../../test/fixtures/http-servers.ts';
import { waitFor } from '../../../test/fixtures/instances.ts';
import { type SideBySide, sideBySide } from './axios/side-by-side.ts';
import { type Client, createClient } from './index.ts';

const TEXT = 'decoded text '.repeat(20);

function encoded(encoding: string, body: Buffer | string): Handler {
  return (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': encoding }).end(body);
  };
}

const routes: Record<string, Handler> = {
  '/gzip': encoded('gzip', gzipSync(TEXT)),
  '/x-gzip': encoded('x-gzip', gzipSync(TEXT)),
  '/deflate': encoded('deflate', deflateSync(TEXT)),
  '/raw-deflate': encoded('deflate', deflateRawSync(TEXT)),
  '/br': encoded('br', brotliCompressSync(TEXT)),
  // `compress` is LZW, which nobody sends; axios decodes it as zlib data, as here.
  '/compress': encoded('compress', deflateSync(TEXT)),
  '/empty-gzip': encoded('gzip', ''),
  '/empty-deflate': encoded('deflate', ''),
  '/empty-br': encoded('br', ''),
  '/identity': encoded('identity', TEXT),
  '/not-gzip': encoded('gzip', 'this is not gzip at all'),
  '/big': (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    // Larger than any socket buffer: the server is still writing when the client gives up.
    res.end('x'.repeat(4 * 1024 * 1024));
  },
  '/ok': (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  },
};

let server: TestServer;
let client: Client;
let both: SideBySide;

beforeAll(async () => {
  server = await startServer((req, res, body) => {
    const route = routes[new URL(req.url ?? '/', 'http://x').pathname];
    (route ?? routes['/ok']!)(req, res, body);
  });
  client = createClient({
    service: 'inventory',
    discovery: [server.url],
    breaker: false,
    pool: { connections: 1, bodyTimeout: 2000 },
  });
  both = sideBySide(client, server.url);
});
afterAll(async () => {
  await client.close();
  await server.close();
});

/** Nothing in flight on the instance, nothing running on its pool. */
async function released(): Promise<void> {
  await waitFor(() => {
    const instance = client.snapshot().instances[0]!;
    return instance.active === 0 && (instance.pool?.running ?? 0) === 0;
  }, 'the attempt to be released');
}

describe('axiosAdapter response bodies', () => {
  it.each([
    '/gzip',
    '/x-gzip',
    '/deflate',
    '/raw-deflate',
    '/br',
    '/compress',
    '/empty-gzip',
    '/empty-deflate',
    '/empty-br',
    '/identity',
  ])('decodes %s as axios does', async (path) => {
    const { axios, picket } = await both.run({ url: path });
    expect(picket).toEqual(axios);
    expect(picket.status).toBe(200);
  });

  it('leaves the bytes alone with decompress: false', async () => {
    const { axios, picket } = await both.run({
      url: '/gzip',
      decompress: false,
      responseType: 'arraybuffer',
    });
    expect(picket).toEqual(axios);
    expect(picket.headers?.['content-encoding']).toBe('gzip');
    expect(picket.data).toBe(`<buffer ${gzipSync(TEXT).toString('hex')}>`);
  });

  it('fails a body that does not decode as axios does, and gives its connection back', async () => {
    const { axios, picket } = await both.run({ url: '/not-gzip' });
    expect(picket).toEqual(axios);
    expect(picket.error).toMatchObject({ code: 'Z_DATA_ERROR', message: 'incorrect header check' });
    await released();
    // The one connection of the pool is free for the next call.
    expect((await both.picket.get('/ok')).data).toBe('ok');
  });

  it('fails a body over maxContentLength as axios does, and gives its connection back', async () => {
    const { axios, picket } = await both.run({ url: '/big', maxContentLength: 1000 });
    expect(picket).toEqual(axios);
    expect(picket.error).toMatchObject({
      code: 'ERR_BAD_RESPONSE',
      message: 'maxContentLength size of 1000 exceeded',
    });
    await released();
    expect((await both.picket.get('/ok')).data).toBe('ok');
  });

  it('gives the connection back when a stream response is destroyed by its reader', async () => {
    const res = await both.picket.get<Readable>('/big', { responseType: 'stream' });
    const stream = res.data;
    await new Promise<void>((resolve) => stream.once('data', () => resolve()));
    stream.destroy(new Error('the reader gave up'));
    await released();
    expect((await both.picket.get('/ok')).data).toBe('ok');
  });

  it('gives the connection back when a stream response fails to decode', async () => {
    const res = await both.picket.get<Readable>('/not-gzip', { responseType: 'stream' });
    const error = await new Promise<Error>((resolve) => res.data.once('error', resolve).resume());
    expect(error).toMatchObject({ code: 'Z_DATA_ERROR' });
    await released();
    expect((await both.picket.get('/ok')).data).toBe('ok');
  });

  it('enforces maxContentLength on a stream response, as axios does', async () => {
    const read = async (pending: Promise<{ data: Readable }>) => {
      const res = await pending;
      try {
        for await (const _ of res.data) {
          // drained
        }
        return 'ended';
      } catch (error) {
        return (error as { code?: string }).code;
      }
    };
    const config = { responseType: 'stream', maxContentLength: 1000 } as const;
    expect(await read(both.picket.get('/big', config))).toBe(await read(both.native.get('/big', config)));
    await released();
  });
});

describe('a client whose bodies failed', () => {
  it('closes at once', async () => {
    const own = createClient({ service: 'inventory', discovery: [server.url], breaker: false });
    const local = sideBySide(own, server.url);
    await local.run({ url: '/not-gzip' });
    await local.run({ url: '/big', maxContentLength: 10 });
    const closed = await Promise.race([
      own.close().then(() => 'closed'),
      new Promise((resolve) => setTimeout(resolve, 5000, 'still open')),
    ]);
    expect(closed).toBe('closed');
  });
});
