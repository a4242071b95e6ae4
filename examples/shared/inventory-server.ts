// A tiny in-process inventory instance for the examples: a node:http server on loopback that
// answers GET /items/:id with JSON naming itself (also in the `x-instance` header) and serves
// GET /health. It can be stopped and started again on the same port, or made to fail.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface InventoryServer {
  readonly name: string;
  readonly url: string;
  readonly port: number;
  /** Requests answered so far, /health excluded. */
  readonly served: number;
  /** Answer every request (health checks included) with 503 until `recover()`. */
  fail(): void;
  recover(): void;
  /** Stops listening and drops every connection: callers get "connection refused". */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
  close(): Promise<void>;
}

export async function startInventory(
  name: string,
  options: { host?: string; port?: number } = {},
): Promise<InventoryServer> {
  const host = options.host ?? '127.0.0.1';
  let failing = false;
  let served = 0;
  const server: Server = createServer((req, res) => {
    if (failing) {
      res.writeHead(503, { 'content-type': 'text/plain', 'x-instance': name });
      res.end('failing\n');
      return;
    }
    if (req.url === '/health') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok\n');
      return;
    }
    served++;
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const id = /^\/items\/([^/?]+)/.exec(req.url ?? '')?.[1];
      if (req.method === 'POST' && req.url === '/orders') {
        res.writeHead(201, { 'content-type': 'application/json', 'x-instance': name });
        res.end(JSON.stringify({ created: JSON.parse(Buffer.concat(chunks).toString() || '{}'), by: name }));
      } else if (req.method === 'GET' && id !== undefined && /^\d+$/.test(id)) {
        res.writeHead(200, { 'content-type': 'application/json', 'x-instance': name });
        res.end(JSON.stringify({ id: Number(id), name: `item ${id}`, servedBy: name }));
      } else {
        res.writeHead(404, { 'content-type': 'application/json', 'x-instance': name });
        res.end(JSON.stringify({ error: `no such item: ${req.url}` }));
      }
    });
  });
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  await listen(options.port ?? 0);
  const port = (server.address() as AddressInfo).port;
  const stop = () =>
    new Promise<void>((resolve) => {
      if (!server.listening) return resolve();
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return {
    name,
    url: `http://${host}:${port}`,
    port,
    get served() {
      return served;
    },
    fail: () => {
      failing = true;
    },
    recover: () => {
      failing = false;
    },
    stop,
    start: () => (server.listening ? Promise.resolve() : listen(port)),
    close: stop,
  };
}

/** Counts answers by the instance that gave them (the `x-instance` header). */
export function tally(names: readonly (string | null | undefined)[]): string {
  const counts = new Map<string, number>();
  for (const name of names) counts.set(name ?? '?', (counts.get(name ?? '?') ?? 0) + 1);
  return [...counts.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, n]) => `${name} ${n}`)
    .join(', ');
}
