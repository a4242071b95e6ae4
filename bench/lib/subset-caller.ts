// One caller process of the subsetting run (subsetting-loopback.ts): a Picket client of the fleet,
// with or without a subset, health-checking what it uses every CHECK_MS and sending RATE requests a
// second, one at a time in turn, so that every instance it uses gets a pooled connection. Each
// request and check says who sent it (`x-caller`). Reports 'ready' over IPC once every instance it
// uses has passed a check, then on 'stop' closes its client and reports which instances it used.

import { createClient, httpCheck, type SubsetOptions } from 'picket';

const config = JSON.parse(process.env.SUBSET_CALLER ?? '{}') as {
  caller: string;
  urls: string[];
  subset: SubsetOptions | null;
  checkMs: number;
  rate: number;
};
const headers = { 'x-caller': config.caller };

const client = createClient({
  service: 'fleet',
  discovery: config.urls,
  strategy: 'round-robin',
  ...(config.subset === null ? {} : { subset: config.subset }),
  health: {
    check: httpCheck({ path: '/health', headers, timeout: 2000 }),
    interval: config.checkMs,
    healthyThreshold: 1,
  },
  // Any failure would be a bench fault: no retries or ejections hiding one.
  retry: false,
  outlierDetection: false,
});

let failed = 0;
let sent = 0;
let busy = false;
const traffic = setInterval(() => {
  if (busy) return;
  busy = true;
  sent++;
  client
    .request({ path: '/work', headers })
    .then(
      (res) => res.body.dump(),
      () => {
        failed++;
      },
    )
    .finally(() => {
      busy = false;
    });
}, 1000 / config.rate);

const ready = setInterval(() => {
  const snap = client.snapshot();
  if (snap.instances.length === 0 || !snap.instances.every((i) => i.state === 'healthy')) return;
  clearInterval(ready);
  process.send?.({ type: 'ready' });
}, 20);

process.on('message', async (m: { cmd: string }) => {
  if (m.cmd !== 'stop') return;
  clearInterval(traffic);
  clearInterval(ready);
  const used = client.snapshot().instances.map((i) => i.url);
  await client.close();
  process.send?.({ type: 'stopped', used, sent, failed }, () => process.exit(0));
});
process.on('disconnect', () => process.exit(0));
