// client.fetch sends every body Node's own fetch sends, as it sends it: each body type goes
// through both to the same loopback server, which reports what arrived (content type, and the
// body parsed as a form where it is one).

import { Readable } from 'node:stream';
import { createClient } from '@picket/http';
import { describe, expect, it } from 'vitest';
import { testResources } from '../fixtures/http-servers.ts';

const resources = testResources();

interface Arrived {
  contentType: string | null;
  bytes: number;
  text: string;
  form: Record<string, string> | null;
}

// The server reads the request as a WHATWG Request, so multipart is parsed as a browser's
// server would, boundary and all.
async function describeBody(contentType: string | undefined, body: Buffer): Promise<Arrived> {
  let form: Record<string, string> | null = null;
  if (contentType?.startsWith('multipart/form-data') || contentType?.startsWith('application/x-www')) {
    const parsed = await new Request('http://x/', {
      method: 'POST',
      headers: { 'content-type': contentType },
      body,
    }).formData();
    form = {};
    for (const [name, value] of parsed)
      form[name] = typeof value === 'string' ? value : `${value.name}:${value.type}:${await value.text()}`;
  }
  // Each multipart body has a boundary of its own: the same length, not the same text.
  const type = contentType?.replace(/boundary=\S+/, (b) => `boundary=${'x'.repeat(b.length - 9)}`) ?? null;
  return { contentType: type, bytes: body.length, text: form ? '' : body.toString(), form };
}

const bodies: Array<[string, () => unknown]> = [
  [
    "Node's global FormData with a field and a file",
    () => {
      const form = new FormData();
      form.append('name', 'widget');
      form.append('spec', new File(['{"size":3}'], 'spec.json', { type: 'application/json' }));
      return form;
    },
  ],
  ['a Blob with a type', () => new Blob(['blob body'], { type: 'text/x-custom' })],
  ['URLSearchParams', () => new URLSearchParams({ q: 'a b', n: '1' })],
  ['a Uint8Array', () => new TextEncoder().encode('typed array')],
  ['an ArrayBuffer', () => new TextEncoder().encode('array buffer').buffer],
  ['a string', () => 'plain text'],
  ['a web ReadableStream', () => Readable.toWeb(Readable.from([Buffer.from('stre'), Buffer.from('amed')]))],
];

describe('client.fetch bodies, beside Node fetch', () => {
  it.each(bodies)('sends %s as Node fetch does', async (_name, make) => {
    const server = await resources.server(async (req, res, body) => {
      const arrived = await describeBody(req.headers['content-type'], body);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(arrived));
    });
    const client = resources.track(createClient({ service: 'inventory', discovery: [server.url] }));
    const send = (f: typeof fetch, url: string) =>
      f(url, { method: 'POST', body: make() as never, duplex: 'half' } as RequestInit).then(
        (r) => r.json() as Promise<Arrived>,
      );
    const viaNode = await send(fetch, `${server.url}/upload`);
    const viaPicket = await send(client.fetch.bind(client) as typeof fetch, '/upload');
    expect(viaPicket).toEqual(viaNode);
    expect(viaNode.bytes).toBeGreaterThan(0);
  });
});
