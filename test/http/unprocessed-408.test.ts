// A 408 says the server did not receive the request whole, so it processed none of it: such an
// answer on a reused keep-alive connection (servers write one unasked before closing an idle
// connection) is sent again on another connection, for any method.

import type { Socket } from 'node:net';
import { createClient } from '@picket/http';
import { describe, expect, it } from 'vitest';
import { testResources } from '../fixtures/http-servers.ts';

const resources = testResources({ destroy: true });

describe('a 408 on a reused connection', () => {
  it('is sent again, even as a POST, and answered; the server processed each call once', async () => {
    const served = new WeakMap<Socket, number>();
    const processed: string[] = [];
    // Every connection's second request meets the 408 an idle-timeout would have written.
    const server = await resources.server((req, res, body) => {
      const n = (served.get(req.socket) ?? 0) + 1;
      served.set(req.socket, n);
      if (n > 1) {
        res.writeHead(408, { connection: 'close' }).end();
        return;
      }
      processed.push(body.toString());
      res.writeHead(200).end('ok');
    });
    const client = resources.track(createClient({ service: 'orders', discovery: [server.url] }));
    for (let i = 0; i < 5; i++) {
      const res = await client.request({ path: '/orders', method: 'POST', body: `order ${i}` });
      expect(res.statusCode).toBe(200);
      await res.body.dump();
    }
    expect(processed).toEqual(['order 0', 'order 1', 'order 2', 'order 3', 'order 4']);
    const [instance] = client.snapshot().instances;
    expect(instance?.failures).toBe(0);
    expect(instance?.state).toBe('healthy');
  });

  it('is the answer for a stream body, which cannot be sent again', async () => {
    const server = await resources.server((_req, res) => {
      res.writeHead(408, { connection: 'close' }).end();
    });
    const client = resources.track(createClient({ service: 'orders', discovery: [server.url] }));
    const { Readable } = await import('node:stream');
    const res = await client.request({ path: '/', method: 'PUT', body: Readable.from([Buffer.from('x')]) });
    expect(res.statusCode).toBe(408);
    await res.body.dump();
    expect(server.requests).toBe(1);
  });
});
