// A one-shot stream body is never replayed: once an attempt may have read it, a streamed request
// is neither retried after a retryable status nor hedged, even when its method is idempotent. The
// same request with a Buffer body is, which shows each setup would retry or hedge.

import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { testClients } from '../fixtures/clients.ts';
import { after, echo, status, testResources } from '../fixtures/http-servers.ts';

const resources = testResources({ destroy: true });
const server = resources.server;
const { inOrder } = testClients(resources);

/** A body that can be read once. */
const oneShot = () => Readable.from(['x', 'y']);

interface Echo {
  server: string;
  method: string;
  body: string;
}

describe('a one-shot stream body', () => {
  it('is not retried after a 503: the caller gets the 503, where a Buffer PUT goes to the next instance', async () => {
    const first = await server(status(503));
    const second = await server(echo('second'));
    const c = inOrder(first, second);

    const streamed = await c.request({ path: '/items/1', method: 'PUT', body: oneShot() });
    expect(streamed.statusCode).toBe(503);
    expect(await streamed.body.text()).toBe('status 503');
    expect(first.requests).toBe(1);
    expect(second.requests).toBe(0);

    const buffered = await c.request({ path: '/items/1', method: 'PUT', body: Buffer.from('xy') });
    expect(buffered.statusCode).toBe(200);
    expect(await buffered.body.json()).toMatchObject({ server: 'second', method: 'PUT', body: 'xy' });
    expect(first.requests).toBe(2);
    expect(second.requests).toBe(1);
  });

  it('is not hedged: the slow instance gets the whole body and answers, where a GET is hedged', async () => {
    const slow = await server(after(500, 'slow'));
    const fast = await server(echo('fast'));
    const c = inOrder(slow, fast, {
      hedge: { delayMs: 20 },
    });
    const hedges: { method: string }[] = [];
    c.on('hedge', (e) => hedges.push(e));

    const streamed = await c.request({ path: '/upload', method: 'PUT', body: oneShot() });
    expect((await streamed.body.json()) as Echo).toMatchObject({ server: 'slow', method: 'PUT', body: 'xy' });
    expect(hedges).toEqual([]);
    expect(fast.requests).toBe(0);
    expect(fast.connections).toBe(0);

    const get = await c.request({ path: '/upload' });
    expect((await get.body.json()) as Echo).toMatchObject({ server: 'fast', method: 'GET' });
    expect(hedges).toMatchObject([{ method: 'GET' }]);
    expect(fast.requests).toBe(1);
  });
});
