// Several service instances in one process, one per port, for benchmarks that need more instances
// than a 2-core machine should run processes (the Linkerd experiment's 11). Each port answers as
// its own instance (`x-instance: <id>`) and can be given a delay over IPC. Each also counts the
// sockets it accepted, the callers behind them (their `x-caller` header) and the health checks
// (`GET /health`) it answered, for the subsetting run. Started by fleet.ts.

import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** What one instance has seen since the last reset. */
export interface InstanceCounts {
  requests: number;
  /** Sockets accepted. */
  accepted: number;
  /** Sockets open now. */
  open: number;
  /** Health checks answered. */
  checks: number;
  /** The distinct `x-caller` values of the requests it answered, health checks included. */
  callers: string[];
}

const ids = (process.env.FLEET_IDS ?? 'f0').split(',');
const delays = ids.map(() => 0);
const requests = ids.map(() => 0);
const counts = ids.map(() => ({ accepted: 0, open: 0, checks: 0, callers: new Set<string>() }));
const servers: Server[] = [];

ids.forEach((id, index) => {
  const body = Buffer.from(JSON.stringify({ id }));
  const headers = { 'content-type': 'application/json', 'content-length': body.length, 'x-instance': id };
  const count = counts[index]!;
  const server = createServer((req, res) => {
    requests[index]!++;
    const caller = req.headers['x-caller'];
    if (typeof caller === 'string') count.callers.add(caller);
    if (req.url === '/health') count.checks++;
    req.resume();
    const answer = () => {
      res.writeHead(200, headers);
      res.end(body);
    };
    const delay = delays[index]!;
    if (delay > 0) setTimeout(answer, delay);
    else answer();
  });
  server.on('connection', (socket: Socket) => {
    count.accepted++;
    count.open++;
    socket.once('close', () => count.open--);
  });
  server.keepAliveTimeout = 30_000;
  servers.push(server);
});

function snapshot(): InstanceCounts[] {
  return counts.map((c, i) => ({
    requests: requests[i]!,
    accepted: c.accepted,
    open: c.open,
    checks: c.checks,
    callers: [...c.callers].sort(),
  }));
}

process.on('message', (m: { seq: number; cmd: string; index?: number; delayMs?: number }) => {
  if (m.cmd === 'set' && m.index !== undefined) delays[m.index] = m.delayMs ?? 0;
  if (m.cmd === 'reset') {
    requests.fill(0);
    for (const c of counts) {
      c.accepted = 0;
      c.checks = 0;
      c.callers.clear();
    }
  }
  process.send?.({ seq: m.seq, requests, counts: snapshot() });
});
process.on('disconnect', () => process.exit(0));

await Promise.all(
  servers.map((s) => new Promise<void>((resolve) => s.listen(0, '127.0.0.1', () => resolve()))),
);
process.send?.({ type: 'listening', ports: servers.map((s) => (s.address() as AddressInfo).port) });
