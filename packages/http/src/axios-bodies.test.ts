// Every body axios's Node adapter accepts goes out through axiosAdapter as it sends it: the same
// bytes, Content-Type (boundary included) and Content-Length or chunking, side by side with
// axios's own adapter against the same server.

import { Readable } from 'node:stream';
import { AxiosHeaders } from 'axios';
import LegacyFormData from 'form-data';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../../../test/fixtures/http-servers.ts';
import { type SideBySide, sideBySide } from './axios/side-by-side.ts';
import { type Client, createClient } from './index.ts';

let server: TestServer;
let client: Client;
let both: SideBySide;

// What arrived, with a multipart boundary (random on each send) replaced by a fixed word.
beforeAll(async () => {
  server = await startServer((req, res, body) => {
    const type = req.headers['content-type'] ?? '';
    const boundary = /boundary=([^;]+)/.exec(type)?.[1];
    const text = body.toString('latin1');
    const seen = {
      method: req.method,
      url: req.url,
      type: boundary === undefined ? type : type.replace(boundary, 'BOUNDARY'),
      length: req.headers['content-length'],
      chunked: req.headers['transfer-encoding'] === 'chunked',
      body: boundary === undefined ? text : text.replaceAll(boundary, 'BOUNDARY'),
    };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(seen));
  });
  client = createClient({ service: 'inventory', discovery: [server.url], breaker: false });
  both = sideBySide(client, server.url);
});
afterAll(async () => {
  await client.close();
  await server.close();
});

function form(): FormData {
  const f = new FormData();
  f.append('name', 'widget');
  f.append('file', new Blob(['file body'], { type: 'text/plain' }), 'a.txt');
  return f;
}

const bodies: Array<[string, () => unknown, Record<string, string>?]> = [
  ['a string', () => 'plain text'],
  ['an object, as JSON', () => ({ a: 1, b: [true] })],
  ['a Buffer', () => Buffer.from('bytes \x00\xff')],
  ['an ArrayBuffer', () => new Uint8Array([1, 2, 3, 250]).buffer],
  ['a Uint8Array', () => new Uint8Array([1, 2, 3, 250])],
  ['a Float64Array', () => new Float64Array([1.5, -2])],
  ['URLSearchParams', () => new URLSearchParams({ q: 'a b', n: '1' })],
  ['a Blob', () => new Blob(['blob body'], { type: 'text/csv' })],
  ['a File', () => new File(['file body'], 'f.txt', { type: 'text/plain' })],
  ["Node's FormData", form],
  [
    'a form-data (npm) form',
    () => {
      const f = new LegacyFormData();
      f.append('name', 'widget');
      f.append('file', Buffer.from('file body'), { filename: 'a.txt', contentType: 'text/plain' });
      return f;
    },
  ],
  ['a Node Readable', () => Readable.from([Buffer.from('chunk 1 '), Buffer.from('chunk 2')])],
  [
    'a web ReadableStream',
    () =>
      new ReadableStream({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('web stream'));
          controller.close();
        },
      }),
  ],
  [
    'an object as multipart/form-data',
    () => ({ name: 'widget', n: 2 }),
    { 'Content-Type': 'multipart/form-data' },
  ],
  [
    'an object as application/x-www-form-urlencoded',
    () => ({ name: 'widget', tags: ['a', 'b'] }),
    { 'Content-Type': 'application/x-www-form-urlencoded' },
  ],
];

describe('axiosAdapter request bodies', () => {
  it.each(bodies)('sends %s as axios does', async (_name, data, headers) => {
    const { axios, picket } = await both.run(() => ({
      method: 'POST',
      url: '/upload',
      data: data(),
      headers: headers === undefined ? undefined : new AxiosHeaders(headers),
    }));
    expect(picket).toEqual(axios);
  });
});
