// Free loopback ports for test servers. The OS picks; a race with another process is possible, so
// launchers retry on "address in use".

import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';

function freeTcpPort(port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

function udpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    socket.unref();
    socket.once('error', () => resolve(false));
    socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)));
  });
}

/** A loopback port free for TCP (and for UDP too when `udp` is set, as a DNS server needs). */
export async function freePort(udp = false): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = await freeTcpPort();
    if (!udp || (await udpFree(port))) return port;
  }
  throw new Error('No free loopback port found');
}
