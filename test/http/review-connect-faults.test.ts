// An error raised before an attempt reaches a connection is filed as the caller's when it has no
// code (the request builder choking on the caller's values). Every way an instance can fail
// there must therefore carry one: each of these is the instance's, charged to it and retried on
// the other instance, never PICKET_INVALID_REQUEST.

import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { testClients } from '../fixtures/clients.ts';
import { echo, serverOf, startServer, testResources } from '../fixtures/http-servers.ts';
import { opensslTool, selfSigned } from '../servers/tls.ts';

const resources = testResources({ destroy: true });
const { inOrder } = testClients(resources);

/** A TCP server that does `onSocket` to every connection; closed, with its sockets, after the test. */
async function tcpServer(onSocket: (socket: Socket) => void): Promise<string> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    onSocket(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  resources.track({
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  });
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function closedPort(): Promise<string> {
  const server = await resources.server(echo('gone'));
  await server.close();
  return `127.0.0.1:${server.port}`;
}

describe.skipIf(!opensslTool().available)('a failure before the request reaches a connection', () => {
  const faults: Array<[string, () => Promise<string>]> = [
    ['a refused connection', async () => `http://${await closedPort()}`],
    ['a host that does not resolve', async () => 'http://picket-review.invalid:80'],
    ['a connection reset on accept', async () => `http://${await tcpServer((s) => s.resetAndDestroy())}`],
    ['a TLS handshake the server closes', async () => `https://${await tcpServer((s) => s.destroy())}`],
    [
      'TLS to a port that speaks plain HTTP',
      async () => `https://${await tcpServer((s) => s.end('HTTP/1.1 400\r\n\r\n'))}`,
    ],
    [
      'a certificate nobody trusts',
      async () => {
        const tls = await startServer(echo('untrusted'), await selfSigned('IP:127.0.0.1'));
        resources.track(tls);
        return tls.url;
      },
    ],
  ];

  for (const [what, url] of faults) {
    it(`(${what}) is the instance's: charged, and the call answered by the other instance`, async () => {
      const good = await resources.server(echo('good'));
      const client = inOrder({ url: await url() }, good);
      expect(await serverOf(await client.request({ path: '/' }))).toBe('good');
      const failing = client.snapshot().instances.find((i) => i.url !== good.url);
      expect(failing?.failures, what).toBe(1);
    });
  }
});
