// Per-caller cost of a large service with subsetting: a client of a 10,000-instance service with
// `subset: { size: 20 }` against a client of a 20-instance service, in heap and in what it holds
// (balancer members and health-check schedules; pools are made on an instance's first request). Each client in its own fresh heap measurement.
//
//   node --expose-gc --conditions=picket-source bench/subset-memory.ts

import { createClient, httpCheck } from 'picket';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with --expose-gc');
const urls = (n: number) =>
  Array.from({ length: n }, (_, i) => `http://10.${i >> 16}.${(i >> 8) & 255}.${i & 255}:8080`);

function heap(): number {
  for (let i = 0; i < 3; i++) gc?.();
  return process.memoryUsage().heapUsed;
}

async function measure(instances: number, subset: boolean) {
  const list = urls(instances);
  const before = heap();
  const client = createClient({
    service: 'inventory',
    discovery: list,
    // Long interval: the timers exist but no check is sent to these unreachable addresses.
    health: { check: httpCheck({ path: '/health' }), interval: 3_600_000 },
    ...(subset ? { subset: { size: 20, callerId: 'orders-0' } } : {}),
  });
  const after = heap();
  const snap = client.snapshot();
  const result = {
    instances,
    subset,
    heapBytes: after - before,
    balancerInstances: snap.instances.length,
    pools: snap.instances.filter((i) => i.pool !== undefined).length,
    // The health checker's entries: one check schedule each.
    checked: Array.isArray(snap.health) ? snap.health.length : 0,
  };
  await client.close();
  return { result, list };
}

const small = await measure(20, false);
const large = await measure(10_000, true);
// The records themselves (what discovery hands over for 10,000 instances) are counted apart.
const recordsBefore = heap();
const held = urls(10_000).map((url) => ({ url }));
const recordBytes = heap() - recordsBefore;
void held.length;
const extra = large.result.heapBytes - small.result.heapBytes;
console.log(
  `20 instances, no subset: ${(small.result.heapBytes / 1024).toFixed(0)} KiB, ${small.result.balancerInstances} in the balancer, ${small.result.checked} health-checked`,
);
console.log(
  `10,000 instances, subset 20: ${(large.result.heapBytes / 1024).toFixed(0)} KiB, ${large.result.balancerInstances} in the balancer, ${large.result.checked} health-checked`,
);
console.log(
  `extra: ${(extra / 1024).toFixed(0)} KiB = ${(extra / 9_980).toFixed(0)} bytes per non-member instance (the bare { url } records alone: ${(recordBytes / 10_000).toFixed(0)} bytes each)`,
);
console.log(
  JSON.stringify({
    bench: 'subset-memory',
    small: small.result,
    large: large.result,
    extraPerNonMember: extra / 9_980,
  }),
);
