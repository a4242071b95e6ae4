// An error in a front's body pipeline (a body that fails to decode, a consumer that gives up)
// destroys the source body and releases the attempt: the connection is not held, the next call
// on it works, and close() resolves. (The axios adapter's pipeline has tests of its own.)

import { createClient } from '@picket/http';
import { describe, expect, it } from 'vitest';
import { testResources } from '../fixtures/http-servers.ts';
import { waitFor } from '../fixtures/instances.ts';

const resources = testResources();

const notGzip = () =>
  resources.server((_req, res) => {
    res.writeHead(200, { 'content-encoding': 'gzip', 'content-type': 'text/plain' }).end('this is not gzip');
  });

/** The attempt is released and, once undici has closed or freed the socket, nothing runs. */
async function released(client: ReturnType<typeof createClient>): Promise<void> {
  const view = () => client.snapshot().instances[0];
  await waitFor(() => view()?.active === 0 && view()?.pool?.running === 0, 'the connection to be released', {
    timeoutMs: 10_000,
  });
  expect(view()?.pool).toMatchObject({ running: 0, pending: 0 });
}

describe('a body pipeline that fails', () => {
  it('on fetch, a body that fails to decode releases its connection', async () => {
    const server = await notGzip();
    const client = createClient({ service: 'inventory', discovery: [server.url], pool: { connections: 1 } });
    for (let i = 0; i < 3; i++) {
      const res = await client.fetch('/');
      await expect(res.text()).rejects.toThrow();
      await released(client);
    }
    await client.close();
  });

  it('on request, a consumer that stops reading and destroys the body releases its connection', async () => {
    const server = await resources.server((_req, res) => {
      res.writeHead(200);
      res.write(Buffer.alloc(64 * 1024));
      setTimeout(() => res.end(Buffer.alloc(64 * 1024)), 50);
    });
    const client = createClient({ service: 'inventory', discovery: [server.url], pool: { connections: 1 } });
    for (let i = 0; i < 3; i++) {
      const res = await client.request({ path: '/' });
      for await (const _chunk of res.body) break;
      await released(client);
    }
    await client.close();
  });
});
