// The orders service, run as its own process by run.ts. It calls inventory through one Picket
// client: GET /orders/:id with the client's fetch, GET /orders-axios/:id with axios on the
// Picket adapter. Discovery is a file (fileList) or etcd; every instance's /load report is
// checked twice a second; failed attempts are retried on another instance. It reports what its
// client sees to run.ts over IPC for the live table.

import { createServer, type ServerResponse } from 'node:http';
import axios from 'axios';
import { createClient, etcd, fileList, loadCheck } from 'picket';
import { axiosAdapter } from 'picket/axios';
import { SlidingStats } from '../../src/cli/stats.ts';
import type { InstanceRow, OrdersMessage } from './protocol.ts';

const file = process.env.INVENTORY_FILE;
const etcdEndpoint = process.env.ETCD_ENDPOINT;
const etcdPrefix = process.env.ETCD_PREFIX ?? '/services/inventory/';

const inventory = createClient({
  service: 'inventory',
  discovery:
    etcdEndpoint !== undefined
      ? etcd({ endpoints: [etcdEndpoint], prefix: etcdPrefix })
      : fileList(file ?? 'inventory.json', { debounceMs: 20 }),
  // An instance's own report: a `drain` or `down` status takes it out at once; a failed or slow
  // answer (a dead or hung process) takes it out after two checks in a row.
  health: { check: loadCheck(), interval: 500, timeout: 500, unhealthyThreshold: 2, healthyThreshold: 2 },
  // GETs are retried on another instance: after a refused or reset connection, a 502/503/504,
  // or an attempt with no answer within perTryTimeout (a hung process).
  retry: { retries: 3, budget: { percent: 50, minPerSecond: 50 } },
  perTryTimeout: 750,
  timeout: 10_000,
  // Passive health: three failures in a row eject an instance for 2 s (then 4 s, …).
  outlierDetection: { consecutiveFailures: 3, baseEjectionMs: 2000, maxEjectionPercent: 50 },
  breaker: { resetTimeoutMs: 1000 },
  // Panic (spreading over every instance, healthy or not) only when none of three is available:
  // with the default 50 %, losing two of three would send traffic to the dead ones on purpose.
  panicThreshold: 25,
});

const api = axios.create({ baseURL: 'http://inventory', adapter: axiosAdapter(inventory), timeout: 10_000 });

// ── Figures for the live table ────────────────────────────────────────────────────────────
const stats = new SlidingStats(3000);
const ejections = new Map<string, number>();
const retried = new Map<string, number>();
const retriedRequests = new Set<string>();
let retries = 0;

inventory.on('retry', ({ path, attempt }) => {
  retries++;
  retried.set(attempt.instance, (retried.get(attempt.instance) ?? 0) + 1);
  if (attempt.latencyMs !== undefined) stats.addLatency(attempt.instance, attempt.latencyMs);
  const req = /[?&]req=(\d+)/.exec(path)?.[1];
  if (req !== undefined) retriedRequests.add(req);
});
inventory.on('eject', ({ instance }) => ejections.set(instance.id, (ejections.get(instance.id) ?? 0) + 1));
inventory.on('instance-state', ({ instance, from, to, reason }) => {
  send({ type: 'state', id: instance.id, from, to, reason, at: Date.now() });
});

let seq = 0;
/** One inventory call; its latency counts for the instance that answered, unless it was retried. */
async function timed<T>(
  call: (path: string) => Promise<{ instance: string | undefined; value: T }>,
  id: string,
) {
  const req = String(++seq);
  const start = performance.now();
  const { instance, value } = await call(`/items/${id}?req=${req}`);
  if (instance !== undefined && !retriedRequests.delete(req))
    stats.addLatency(instance, performance.now() - start);
  return value;
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

const server = createServer(async (req, res) => {
  const match = /^\/(orders|orders-axios)\/(\d+)$/.exec(req.url ?? '');
  if (req.method !== 'GET' || match === null) return reply(res, 404, { error: 'not found' });
  const [, route, id] = match as unknown as [string, string, string];
  try {
    const item =
      route === 'orders'
        ? await timed(async (path) => {
            const r = await inventory.fetch(path);
            const value = await r.json();
            if (!r.ok) throw new Error(`inventory answered ${r.status}`);
            return { instance: r.headers.get('x-instance') ?? undefined, value };
          }, id)
        : await timed(async (path) => {
            const r = await api.get(path);
            return { instance: r.headers['x-instance'] as string | undefined, value: r.data };
          }, id);
    reply(res, 200, { order: id, via: route === 'orders' ? 'fetch' : 'axios', item });
  } catch (error) {
    // Only when every attempt failed: the scenario counts these, and expects none.
    const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
    reply(res, 502, { error: `${error instanceof Error ? error.message : String(error)}${cause}` });
  }
});

function send(message: OrdersMessage): void {
  if (process.connected) process.send?.(message);
}

function rows(): InstanceRow[] {
  const now = performance.now();
  return inventory.snapshot().instances.map((i) => {
    const { p50, p99 } = stats.latency(i.id, now);
    const unhealthy = Object.entries(i.health).map(([source, h]) => `${source}: ${h.reason || h.state}`);
    return {
      id: i.id,
      url: i.url,
      state: i.state,
      reason: unhealthy.length === 0 ? undefined : unhealthy.join('; '),
      rps: stats.rate(i.id, i.requests, now),
      p50,
      p99,
      inFlight: i.active,
      ejections: ejections.get(i.id) ?? 0,
      retried: retried.get(i.id) ?? 0,
    };
  });
}

const ticker = setInterval(() => send({ type: 'stats', at: Date.now(), retries, instances: rows() }), 250);

async function shutDown(): Promise<void> {
  clearInterval(ticker);
  server.close();
  server.closeIdleConnections();
  await inventory.close();
  process.exit(0);
}
process.once('SIGTERM', () => void shutDown());
process.on('disconnect', () => process.exit(0));

await inventory.ready({ timeoutMs: 10_000 });
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  send({ type: 'listening', port: typeof address === 'object' && address !== null ? address.port : 0 });
});
