// One instance of the inventory service, run as its own process by run.ts. A plain node:http
// server: GET /items/:id answers after a few milliseconds of "work", /health says whether it
// serves, and loadReporter serves its load at /load. On SIGTERM it drains gracefully: it reports
// `drain` (callers take it out of rotation), deregisters from etcd, waits until requests stop
// arriving, finishes the ones in flight, and exits.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { loadReporter, type Registrar, registerEtcd } from 'picket';
import type { InventoryMessage } from './protocol.ts';

const name = process.env.INVENTORY_NAME ?? `inventory-${process.pid}`;
const port = Number(process.env.INVENTORY_PORT ?? 0);
const etcdEndpoint = process.env.ETCD_ENDPOINT;
const etcdPrefix = process.env.ETCD_PREFIX ?? '/services/inventory/';

// How long requests must have stopped arriving before a draining instance closes, ms.
const QUIET_MS = 300;
// A drain never takes longer than this, ms: callers that never noticed get their connections closed.
const MAX_DRAIN_MS = 5000;

const reporter = loadReporter({ sampleIntervalMs: 500 });
let draining = false;
let drainSeen = false;
let lastRequestAt = performance.now();

function items(res: ServerResponse, id: string): void {
  // Some "work": a few milliseconds, now and then a slower answer.
  const delay = 1 + Math.random() * 4 + (Math.random() < 0.02 ? 20 : 0);
  setTimeout(() => {
    const body = JSON.stringify({ id, name: `item ${id}`, stock: (Number(id) * 7) % 50, servedBy: name });
    res.writeHead(200, { 'content-type': 'application/json', 'x-instance': name });
    res.end(body);
  }, delay);
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  if (draining) res.setHeader('connection', 'close'); // callers' keep-alive connections end cleanly
  if (path === reporter.path) {
    if (draining) drainSeen = true;
    reporter(req, res);
    return;
  }
  if (path === '/health') {
    res.writeHead(draining ? 503 : 200, { 'content-type': 'text/plain' });
    res.end(draining ? 'draining\n' : 'ok\n');
    return;
  }
  lastRequestAt = performance.now();
  // Through the reporter, so the in-flight figure in /load counts this request.
  reporter(req, res, () => {
    const match = /^\/items\/(\d+)$/.exec(path);
    if (req.method === 'GET' && match !== null) items(res, match[1]!);
    else {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found\n');
    }
  });
}

const server = createServer(handle);
server.keepAliveTimeout = 10_000;

let registrar: Registrar | undefined;

async function drain(): Promise<void> {
  if (draining) return;
  draining = true;
  reporter.drain();
  // Deregistering removes the instance from every caller's list at once; the `drain` status
  // covers callers that find instances some other way (the file registry here).
  await registrar?.close();
  const started = performance.now();
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const now = performance.now();
      const noticed = drainSeen || registrar !== undefined;
      const quiet = now - lastRequestAt >= QUIET_MS && reporter.report().inFlight === 0;
      if ((noticed && quiet) || now - started > MAX_DRAIN_MS) {
        clearInterval(timer);
        resolve();
      }
    }, 25);
  });
  // close() stops accepting, lets requests in flight finish, and closes idle keep-alive sockets.
  await new Promise<void>((resolve) => server.close(() => resolve()));
  reporter.close();
  process.exit(0);
}

process.once('SIGTERM', () => void drain());
// run.ts went away (it crashed or was killed): never outlive it.
process.on('disconnect', () => process.exit(0));

server.listen(port, '127.0.0.1', async () => {
  const url = `http://127.0.0.1:${port}`;
  if (etcdEndpoint !== undefined) {
    registrar = registerEtcd({
      endpoints: [etcdEndpoint],
      key: `${etcdPrefix}${name}`,
      instance: { url, id: name },
      ttlMs: 2000,
    });
    await registrar.start();
  }
  process.send?.({ type: 'listening', name, url } satisfies InventoryMessage);
});
