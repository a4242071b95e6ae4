import { createClient } from '@picket/http';
import { upgrade } from 'undici';
import { describe, expect, it } from 'vitest';
import { status, testResources } from '../fixtures/http-servers.ts';

const resources = testResources();

describe('upgrade through the dispatcher', () => {
  it('hands the caller the upgraded socket and counts the request out', async () => {
    const a = await resources.server(status(404));
    a.server.on('upgrade', (req, socket) => {
      socket.end(
        `HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\nX-Url: ${req.url}\r\n\r\nhi`,
      );
    });
    const c = resources.track(createClient({ service: 'inventory', discovery: [a.url] }));
    const { headers, socket } = await upgrade('http://inventory/up', {
      dispatcher: c.dispatcher,
      protocol: 'echo',
    });
    expect(headers['x-url']).toBe('/up');
    const chunks: Buffer[] = [];
    for await (const chunk of socket) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('hi');
    // The request was counted out when the socket was handed over: close() does not wait for it.
    await c.close();
  });
});
