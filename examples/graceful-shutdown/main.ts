// Graceful shutdown, end to end: two server processes (server.ts) behind a Picket client that
// checks their load reports, steady traffic, then SIGTERM to one of them. The client stops
// sending it new requests at its next check, the server finishes what it has and exits 0, and
// not one request fails.
//
//   node --conditions=picket-source examples/graceful-shutdown/main.ts

import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createClient, loadCheck } from 'picket';

const script = fileURLToPath(new URL('./server.ts', import.meta.url));
const children: ChildProcess[] = [];
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

function spawnServer(name: string): Promise<{ child: ChildProcess; url: string }> {
  const child = fork(script, [], {
    env: { ...process.env, NAME: name },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start within 20 s`)), 20_000);
    child.once('message', (message: { port: number }) => {
      clearTimeout(timer);
      resolve({ child, url: `http://127.0.0.1:${message.port}` });
    });
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code} while starting`)));
  });
}

const [a, b] = await Promise.all([spawnServer('server-a'), spawnServer('server-b')]);
const client = createClient({
  service: 'orders',
  discovery: [
    { id: 'server-a', url: a.url },
    { id: 'server-b', url: b.url },
  ],
  strategy: 'round-robin',
  health: { check: loadCheck(), interval: 250, timeout: 1000 },
});
await client.ready();

const start = performance.now();
const clock = () => `${String(Math.round(performance.now() - start)).padStart(5)} ms`;
client.on('instance-state', ({ instance, from, to, reason }) => {
  if (from !== 'unknown' && to !== 'unknown')
    console.log(`${clock()}  picket: ${instance.id} ${from} → ${to} (${reason})`);
});

// Steady traffic: 100 requests a second until told to stop.
const served = new Map<string, number>();
let sent = 0;
let failed = 0;
let running = true;
const inFlight = new Set<Promise<void>>();
const ticker = setInterval(() => {
  if (!running) return;
  sent++;
  const p = client
    .request({ path: `/work/${sent}` })
    .then(async (res) => {
      const by = String(res.headers['x-instance'] ?? '?');
      await res.body.dump();
      if (res.statusCode === 200) served.set(by, (served.get(by) ?? 0) + 1);
      else failed++;
    })
    .catch((error: unknown) => {
      failed++;
      console.log(`${clock()}  request failed: ${error instanceof Error ? error.message : String(error)}`);
    })
    .finally(() => inFlight.delete(p));
  inFlight.add(p);
}, 10);

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
let exitCode: number | null = null;
try {
  await wait(1000);
  console.log(`${clock()}  SIGTERM → server-a`);
  const exited = new Promise<number | null>((resolve) => a.child.once('exit', (code) => resolve(code)));
  a.child.kill('SIGTERM');
  exitCode = await exited;
  console.log(`${clock()}  server-a exited with code ${exitCode}`);
  await wait(500);
} finally {
  running = false;
  clearInterval(ticker);
  await Promise.all(inFlight);
  await client.close();
  if (b.child.exitCode === null && b.child.signalCode === null) {
    const bExited = new Promise((resolve) => b.child.once('exit', resolve));
    b.child.kill('SIGTERM');
    await bExited;
  }
}

const counts = [...served.entries()].map(([name, n]) => `${name} ${n}`).join(', ');
console.log(`requests: ${sent} sent, ${sent - failed} answered (${counts}), ${failed} failed`);
const ok = failed === 0 && exitCode === 0;
console.log(ok ? 'server-a left without a single failed request.' : 'Something went wrong.');
process.exitCode = ok ? 0 : 1;
