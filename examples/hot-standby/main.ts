// Hot standby: an active instance (priority 0) and a backup (priority 1), both running. The backup
// gets no traffic while the active one is healthy, takes over when it fails, and hands traffic
// back when it recovers — no virtual IP to move, no ARP to refresh: each caller switches itself.
//
//   node --conditions=picket-source examples/hot-standby/main.ts

import { createClient, httpCheck } from 'picket';
import { startInventory, tally } from '../shared/inventory-server.ts';

const active = await startInventory('active');
const backup = await startInventory('backup');

const inventory = createClient({
  service: 'inventory',
  discovery: [
    { id: 'active', url: active.url, priority: 0 },
    { id: 'backup', url: backup.url, priority: 1 },
  ],
  // L7 checks five times a second; two failures in a row take an instance out, two successes bring it back.
  health: {
    check: httpCheck({ path: '/health' }),
    interval: 200,
    timeout: 500,
    unhealthyThreshold: 2,
    healthyThreshold: 2,
  },
  // Requests failing against the dead instance also eject it (passive health). An ejection runs
  // its course even when active checks pass again, so keep it short for a quick hand-back.
  outlierDetection: { baseEjectionMs: 1000 },
});

const start = performance.now();
const clock = () => `${String(Math.round(performance.now() - start)).padStart(5)} ms`;
inventory.on('instance-state', ({ instance, from, to, reason }) => {
  if (from !== 'unknown') console.log(`${clock()}  ${instance.id}: ${from} → ${to} (${reason})`);
});

// Background traffic all along, to show that the switch-overs lose nothing.
let background = 0;
let errors = 0;
let running = true;
const traffic = (async () => {
  while (running) {
    try {
      const res = await inventory.fetch(`/items/${++background}`);
      await res.arrayBuffer();
      if (!res.ok) errors++;
    } catch {
      errors++;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
})();
let retries = 0;
inventory.on('retry', () => retries++);

async function burst(label: string): Promise<string[]> {
  const by: string[] = [];
  for (let i = 0; i < 20; i++) {
    const res = await inventory.fetch(`/items/${i}`);
    by.push(res.headers.get('x-instance') ?? '?');
    await res.arrayBuffer();
  }
  console.log(`${clock()}  ${label}: 20 requests → ${tally(by)}`);
  return by;
}

/** Resolves when `id` reaches one of `states` (event-driven), or rejects after `ms`. */
function reach(id: string, states: string | readonly string[], ms = 10_000): Promise<void> {
  const wanted = typeof states === 'string' ? [states] : states;
  if (inventory.snapshot().instances.some((i) => i.id === id && wanted.includes(i.state)))
    return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`${id} did not become ${wanted.join(' or ')} within ${ms} ms`));
    }, ms);
    const off = inventory.on('instance-state', ({ instance, to }) => {
      if (instance.id === id && wanted.includes(to)) {
        clearTimeout(timer);
        off();
        resolve();
      }
    });
  });
}

let problems = 0;
try {
  await reach('active', 'healthy'); // the first check decides
  const normal = await burst('both up');
  if (normal.some((n) => n !== 'active')) problems++;

  console.log(`${clock()}  the active instance goes down (its server stops)`);
  const failedAt = performance.now();
  const out = reach('active', ['ejected', 'unhealthy']);
  await active.stop();
  await out;
  console.log(
    `${clock()}  the backup took over ${Math.round(performance.now() - failedAt)} ms after the failure`,
  );
  const failover = await burst('active down');
  if (failover.some((n) => n !== 'backup')) problems++;

  console.log(`${clock()}  the active instance comes back (same port)`);
  const backAt = performance.now();
  const back = reach('active', 'healthy');
  await active.start();
  await back;
  console.log(
    `${clock()}  traffic handed back ${Math.round(performance.now() - backAt)} ms after it came back`,
  );
  const handback = await burst('active back');
  if (handback.some((n) => n !== 'active')) problems++;
} finally {
  running = false;
  await traffic;
  await inventory.close();
  await Promise.all([active.close(), backup.close()]);
}

console.log(
  `background traffic: ${background} requests, ${errors} errors, ${retries} attempt(s) retried on the other instance`,
);
if (errors > 0) problems++;
console.log(
  problems === 0
    ? 'Hot standby: failed over and handed back with no request lost.'
    : `${problems} unexpected result(s).`,
);
process.exitCode = problems === 0 ? 0 : 1;
