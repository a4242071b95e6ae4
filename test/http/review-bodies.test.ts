// Every kind of body a caller may hand a front reaches the instance as undici (for request and
// the dispatcher) or Node's fetch (for client.fetch) sends it to the same server directly: the
// same bytes, Content-Type, Content-Length and chunking, or the same refusal. Bodies that can be
// watched for the caller's failure (iterables, streams) are wrapped on the way, so this holds the
// wrapper to sending what it wraps. A file-backed Blob that cannot be read is the caller's fault.

import { openAsBlob } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createClient } from '@picket/http';
import { Pool, FormData as UndiciFormData, request as undiciRequest } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callerFaultClients, failure, uncharged } from '../fixtures/caller-faults.ts';
import { type Handler, testResources } from '../fixtures/http-servers.ts';

const resources = testResources({ destroy: true });
const { fleet } = callerFaultClients(resources);

/** What arrived: the body's bytes (base64) and the headers that describe it. */
const record: Handler = (req, res, body) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(
    JSON.stringify({
      type: req.headers['content-type'] ?? null,
      length: req.headers['content-length'] ?? null,
      chunked: req.headers['transfer-encoding'] ?? null,
      body: body.toString('base64'),
    }),
  );
};

interface Arrival {
  type: string | null;
  length: string | null;
  chunked: string | null;
  body: string;
}

/** A multipart boundary is random on every send: both sides' is replaced by the same marker. */
function normalised(a: Arrival): Arrival {
  const boundary = /boundary=(.+)$/.exec(a.type ?? '')?.[1];
  if (boundary === undefined) return a;
  const text = Buffer.from(a.body, 'base64').toString('latin1').replaceAll(boundary, 'BOUNDARY');
  return {
    ...a,
    type: a.type!.replace(boundary, 'BOUNDARY'),
    body: Buffer.from(text, 'latin1').toString('base64'),
  };
}

/** What a send came to: the arrival, or `refused` when the front failed it. */
async function outcome(send: () => Promise<Arrival>): Promise<Arrival | 'refused'> {
  try {
    return normalised(await send());
  } catch {
    return 'refused';
  }
}

const text = new TextEncoder();
const bodies: Array<[string, () => unknown]> = [
  ['a Buffer', () => Buffer.from('buffer body')],
  ['a string', () => 'string body ✓'],
  ['a Uint8Array', () => text.encode('uint8 body')],
  ['a Uint8Array view into a larger buffer', () => new Uint8Array(Buffer.from('xxviewxx').buffer, 2, 4)],
  ['a Blob with a type', () => new Blob(['blob body'], { type: 'text/x-blob' })],
  ['a Blob without a type', () => new Blob(['untyped blob'])],
  ['URLSearchParams', () => new URLSearchParams({ a: '1', b: 'two words' })],
  [
    "Node's FormData",
    () => {
      const form = new FormData();
      form.append('field', 'value');
      form.append('file', new Blob(['file content'], { type: 'text/plain' }), 'f.txt');
      return form;
    },
  ],
  [
    "undici's FormData",
    () => {
      const form = new UndiciFormData();
      form.append('field', 'value');
      return form;
    },
  ],
  ['a Readable', () => Readable.from([Buffer.from('read'), Buffer.from('able')])],
  [
    'a web ReadableStream',
    () =>
      new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(text.encode('web '));
          controller.enqueue(text.encode('stream'));
          controller.close();
        },
      }),
  ],
  ['an array of chunks', () => [Buffer.from('arr'), 'ay']],
  [
    'a synchronous generator',
    () =>
      (function* () {
        yield Buffer.from('sync ');
        yield 'generator';
      })(),
  ],
  [
    'an async generator',
    () =>
      (async function* () {
        yield Buffer.from('async ');
        yield 'generator';
      })(),
  ],
  ['a Set of chunks', () => new Set(['set ', 'body'])],
];

describe('a body of every kind', () => {
  let pool: Pool;
  let url: string;
  let client: ReturnType<typeof createClient>;

  beforeAll(async () => {
    const server = await resources.server(record);
    url = server.url;
    pool = new Pool(url);
    client = createClient({ service: 'inventory', discovery: [url] });
  });
  afterAll(async () => {
    await client.close();
    await pool.close();
  });

  const viaUndici = async (body: unknown, dispatcher: Pool | typeof client.dispatcher, target: string) => {
    const res = await undiciRequest(target, { method: 'POST', body: body as never, dispatcher });
    return (await res.body.json()) as Arrival;
  };

  for (const [what, make] of bodies) {
    it(`(${what}) arrives on request and on the dispatcher as undici sends it directly`, async () => {
      const direct = await outcome(() => viaUndici(make(), pool, `${url}/`));
      const onRequest = await outcome(async () => {
        const res = await client.request({ path: '/', method: 'POST', body: make() as never });
        return (await res.body.json()) as Arrival;
      });
      const onDispatcher = await outcome(() => viaUndici(make(), client.dispatcher, 'http://inventory/'));
      expect(onRequest, 'client.request').toEqual(direct);
      expect(onDispatcher, 'the dispatcher').toEqual(direct);
    });

    it(`(${what}) arrives on fetch as Node's fetch sends it`, async () => {
      const init = () => ({ method: 'POST', body: make() as never, duplex: 'half' as const });
      const direct = await outcome(async () => (await fetch(`${url}/`, init())).json() as Promise<Arrival>);
      const picket = await outcome(async () => (await client.fetch('/', init())).json() as Promise<Arrival>);
      expect(picket).toEqual(direct);
    });
  }
});

describe('a file-backed Blob that can no longer be read', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'picket-blob-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** A Blob of a file that changed after it was opened: reading it fails NotReadableError. */
  async function staleBlob(): Promise<Blob> {
    const path = join(dir, 'upload.txt');
    await writeFile(path, 'as opened');
    const blob = await openAsBlob(path);
    await writeFile(path, 'changed since it was opened');
    return blob;
  }

  it("fails request and the dispatcher with the caller's own error, once, and charges no instance", async () => {
    const { client } = await fleet();
    const retries: unknown[] = [];
    client.on('retry', (e) => retries.push(e));
    const blob = await staleBlob();
    for (let i = 0; i < 3; i++) {
      for (const method of ['PUT', 'GET'] as const) {
        const viaRequest = await failure(() => client.request({ path: '/', method, body: blob as never }));
        expect(viaRequest, method).toMatchObject({ name: 'NotReadableError' });
        const viaDispatcher = await failure(() =>
          undiciRequest('http://inventory/', { dispatcher: client.dispatcher, method, body: blob as never }),
        );
        expect(viaDispatcher, method).toMatchObject({ name: 'NotReadableError' });
      }
    }
    expect(retries).toEqual([]);
    uncharged(client);
  });
});
