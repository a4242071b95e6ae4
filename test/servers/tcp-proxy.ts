// A loopback TCP proxy for failure tests: cut every connection or refuse new ones while the server
// behind it keeps running, and count request lines that pass through (to tell a resumed watch from
// a fresh list, say).

import { connect, createServer, type Socket } from 'node:net';

export interface TcpProxy {
  readonly port: number;
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  /** Points the proxy at another target port (for a server restarted elsewhere). */
  retarget(port: number): void;
  /** Destroys every open connection, both sides. */
  cut(): void;
  /** While blocked, new connections are reset at once and open ones are cut. */
  block(blocked: boolean): void;
  /** How often `pattern` (one of those given at start) has passed from client to server. */
  count(pattern: string): number;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number, patterns: readonly string[] = []): Promise<TcpProxy> {
  let target = targetPort;
  let blocked = false;
  const sockets = new Set<Socket>();
  const counts = new Map(patterns.map((p) => [p, 0]));
  const longest = Math.max(0, ...patterns.map((p) => p.length));

  const server = createServer((client) => {
    if (blocked) {
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(target, '127.0.0.1');
    sockets.add(client);
    sockets.add(upstream);
    let tail = '';
    client.on('data', (chunk: Buffer) => {
      const text = tail + chunk.toString('latin1');
      for (const pattern of patterns) {
        let from = 0;
        for (;;) {
          const at = text.indexOf(pattern, from);
          if (at === -1) break;
          // Matches wholly inside the carried-over tail were counted with the previous chunk.
          if (at + pattern.length > tail.length) counts.set(pattern, (counts.get(pattern) ?? 0) + 1);
          from = at + 1;
        }
      }
      tail = text.slice(-Math.max(0, longest - 1));
    });
    client.pipe(upstream);
    upstream.pipe(client);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop);
    upstream.on('error', drop);
    client.on('close', drop);
    upstream.on('close', drop);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;

  const proxy: TcpProxy = {
    port,
    endpoint: `http://127.0.0.1:${port}`,
    retarget(next) {
      target = next;
    },
    cut() {
      for (const socket of sockets) socket.destroy();
      sockets.clear();
    },
    block(value) {
      blocked = value;
      if (value) proxy.cut();
    },
    count: (pattern) => counts.get(pattern) ?? 0,
    close() {
      proxy.cut();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return proxy;
}
