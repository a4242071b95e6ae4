// Several service instances in one process, one per port, for benchmarks that need more instances
// than a 2-core machine should run processes (the Linkerd experiment's 11). Each port answers as
// its own instance (`x-instance: <id>`) and can be given a delay over IPC. Started by fleet.ts.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

const ids = (process.env.FLEET_IDS ?? 'f0').split(',');
const delays = ids.map(() => 0);
const requests = ids.map(() => 0);
const servers: Server[] = [];

ids.forEach((id, index) => {
  const body = Buffer.from(JSON.stringify({ id }));
  const headers = { 'content-type': 'application/json', 'content-length': body.length, 'x-instance': id };
  const server = createServer((req, res) => {
    requests[index]!++;
    req.resume();
    const answer = () => {
      res.writeHead(200, headers);
      res.end(body);
    };
    const delay = delays[index]!;
    if (delay > 0) setTimeout(answer, delay);
    else answer();
  });
  server.keepAliveTimeout = 30_000;
  servers.push(server);
});

process.on('message', (m: { seq: number; cmd: string; index?: number; delayMs?: number }) => {
  if (m.cmd === 'set' && m.index !== undefined) delays[m.index] = m.delayMs ?? 0;
  process.send?.({ seq: m.seq, requests });
});
process.on('disconnect', () => process.exit(0));

await Promise.all(
  servers.map((s) => new Promise<void>((resolve) => s.listen(0, '127.0.0.1', () => resolve()))),
);
process.send?.({ type: 'listening', ports: servers.map((s) => (s.address() as AddressInfo).port) });
