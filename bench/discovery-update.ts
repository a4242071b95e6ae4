// Discovery updates of 10,000 instances reaching the balancer, through the umbrella createClient:
//   static-one   staticList().set() with one of the 10,000 records replaced;
//   static-all   staticList().set() with all 10,000 replaced (a whole fleet redeployed);
//   file-one     fileList: the file rewritten (write beside it, rename over it) with one record
//                replaced; watch, read, parse, validate, publish (debounceMs 0);
//   etcd-del     etcd: one revision deleting 1,000 of the 10,000 keys under the prefix;
//   etcd-put     etcd: those 1,000 keys put back in 8 transactions (time from the last one).
// Each reports the median over rounds (after warm-up) of: emit→balancer, from the provider
// emitting its snapshot to the balancer's `instances` event; source→balancer, from the change
// (set() called, rename begun, last write sent) to that event; and source→snapshot, until
// client.snapshot() has been built and shows the new list. Unchanged snapshots are reported too:
// staticList().set() of an equal list (validated, compared, nothing emitted), fileList reading
// an identical file (nothing emitted), and an equal list of fresh objects emitted to the client
// (balancer.update finds nothing to change). Target: under 100 ms.
// Run: node --conditions=picket-source bench/discovery-update.ts [--quick]

import { mkdtempSync, rmSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toInstances } from '@picket/core/internal';
import { type Client, createClient, etcd, fileList, type Instance, type Provider, staticList } from 'picket';
import { type EtcdServer, startEtcd } from '../test/servers/etcd.ts';
import { requireTool } from '../test/servers/require-tool.ts';
import { median } from './lib/stats.ts';

const quick = process.argv.includes('--quick');
const N = 10_000;
const WARMUP = quick ? 1 : 3;
const ROUNDS = quick ? 5 : 11;
const TARGET_MS = 100;
const ETCD_BATCH = 1000;
const TXN_OPS = 125; // etcd's default --max-txn-ops is 128

const gc = (globalThis as { gc?: () => void }).gc;
const now = () => performance.now();
const round2 = (n: number) => Math.round(n * 100) / 100;

/** Instance URLs on 10/8: `generation` shifts every address, so each generation is all-new. */
function urls(generation: number): string[] {
  return Array.from({ length: N }, (_, i) => {
    const n = i + generation * N;
    return `http://10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}:8080`;
  });
}

/** `base` with record `i % N` replaced by an address outside it. */
function withOneReplaced(base: readonly string[], i: number): string[] {
  const next = base.slice();
  next[i % N] = `http://11.0.${(i >> 8) & 255}.${i & 255}:8080`;
  return next;
}

interface Timing {
  emitToBalancerMs: number;
  sourceToBalancerMs: number;
  sourceToSnapshotMs: number;
}

interface Summary {
  rounds: number;
  emitToBalancerMs: number;
  sourceToBalancerMs: number;
  sourceToSnapshotMs: number;
  maxSourceToBalancerMs: number;
}

function summarize(timings: Timing[]): Summary {
  return {
    rounds: timings.length,
    emitToBalancerMs: round2(median(timings.map((t) => t.emitToBalancerMs))),
    sourceToBalancerMs: round2(median(timings.map((t) => t.sourceToBalancerMs))),
    sourceToSnapshotMs: round2(median(timings.map((t) => t.sourceToSnapshotMs))),
    maxSourceToBalancerMs: round2(Math.max(...timings.map((t) => t.sourceToBalancerMs))),
  };
}

/**
 * A client on `provider`, with the provider's emission timed by a listener registered before the
 * client's own (listeners run in registration order, so it fires first).
 */
function instrumented(provider: Provider) {
  const marks = { emittedAt: 0, appliedAt: 0, applied: 0 };
  provider.on('snapshot', () => {
    marks.emittedAt = now();
  });
  const client = createClient({ service: 'bench', discovery: provider, outlierDetection: false });
  let waiter: { accept: (list: readonly Instance[]) => boolean; resolve: () => void } | undefined;
  client.on('instances', ({ instances }) => {
    marks.appliedAt = now();
    marks.applied++;
    if (waiter?.accept(instances)) {
      const { resolve } = waiter;
      waiter = undefined;
      resolve();
    }
  });
  /** Runs `change` and resolves with its timings once the balancer holds a list `accept` likes. */
  async function measure(
    change: () => unknown,
    accept: (list: readonly Instance[]) => boolean,
    check: (client: Client) => boolean,
    timeoutMs = 30_000,
  ): Promise<Timing> {
    gc?.();
    let timer: NodeJS.Timeout | undefined;
    const applied = new Promise<void>((resolve, reject) => {
      waiter = { accept, resolve };
      timer = setTimeout(() => reject(new Error(`no matching update within ${timeoutMs} ms`)), timeoutMs);
    });
    const sourceAt = now();
    await change();
    await applied;
    clearTimeout(timer);
    const appliedAt = marks.appliedAt;
    if (!check(client)) throw new Error('client.snapshot() does not show the new list');
    const snapshotAt = now();
    return {
      emitToBalancerMs: appliedAt - marks.emittedAt,
      sourceToBalancerMs: appliedAt - sourceAt,
      sourceToSnapshotMs: snapshotAt - sourceAt,
    };
  }
  return { client, marks, measure };
}

const hasUrl = (url: string) => (list: readonly Instance[]) => list.some((i) => i.url === url);
const snapshotHas = (url: string, size: number) => (client: Client) => {
  const instances = client.snapshot().instances;
  return instances.length === size && instances.some((i) => i.url === url);
};

async function rounds(run: (i: number) => Promise<Timing>): Promise<Timing[]> {
  const out: Timing[] = [];
  for (let i = 0; i < WARMUP + ROUNDS; i++) {
    const timing = await run(i);
    if (i >= WARMUP) out.push(timing);
  }
  return out;
}

async function staticScenarios() {
  const base = urls(0);
  const provider = staticList(base);
  const { client, marks, measure } = instrumented(provider);
  await client.ready();

  const one = await rounds((i) => {
    const next = withOneReplaced(base, i);
    const changed = next[i % N] as string;
    return measure(() => provider.set(next), hasUrl(changed), snapshotHas(changed, N));
  });
  provider.set(base);

  const all = await rounds((i) => {
    const next = urls(i + 1);
    const first = next[0] as string;
    return measure(() => provider.set(next), hasUrl(first), snapshotHas(first, N));
  });

  // An equal list: validated and compared by the provider, nothing emitted or applied.
  const current = urls(WARMUP + ROUNDS);
  provider.set(current);
  const before = marks.applied;
  const equalSetMs: number[] = [];
  for (let i = 0; i < WARMUP + ROUNDS; i++) {
    const copy = current.slice();
    gc?.();
    const start = now();
    provider.set(copy);
    if (i >= WARMUP) equalSetMs.push(now() - start);
  }
  if (marks.applied !== before) throw new Error('an equal staticList().set() reached the balancer');

  // Building client.snapshot() of 10,000 instances, for reading source→snapshot.
  const snapshotMs: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const start = now();
    client.snapshot();
    snapshotMs.push(now() - start);
  }
  await client.close();
  return {
    changed: { 'static-one': summarize(one), 'static-all': summarize(all) },
    unchanged: { 'static-set-equal': { rounds: ROUNDS, setMs: round2(median(equalSetMs)) } },
    snapshotBuildMs: round2(median(snapshotMs)),
  };
}

/** A bare provider that emits whatever it is given: the client's side of a re-emitted snapshot. */
async function reemitScenario() {
  const listeners = new Set<(payload: { instances: readonly Instance[] }) => void>();
  const list = urls(0);
  let current: readonly Instance[] = toInstances(list);
  const provider = {
    name: 'bench',
    start() {},
    on(name: string, fn: (payload: { instances: readonly Instance[] }) => void) {
      if (name !== 'snapshot') return () => {};
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    current: () => current,
    lastError: () => undefined,
    async close() {},
  };
  const client = createClient({ service: 'bench', discovery: provider as never, outlierDetection: false });
  let applied = 0;
  client.on('instances', () => applied++);
  const ms: number[] = [];
  for (let i = 0; i < WARMUP + ROUNDS; i++) {
    // Fresh objects with equal records, as a provider that rebuilds its list every refresh sends.
    current = toInstances(list);
    gc?.();
    const start = now();
    for (const fn of listeners) fn({ instances: current });
    if (i >= WARMUP) ms.push(now() - start);
  }
  await client.close();
  if (applied !== 0) throw new Error('an equal snapshot was reported as a membership change');
  return { rounds: ROUNDS, emitMs: round2(median(ms)) };
}

async function fileScenarios() {
  const dir = mkdtempSync(join(tmpdir(), 'picket-bench-file-'));
  const path = join(dir, 'instances.json');
  const base = urls(0);
  let seq = 0;
  const replace = async (list: readonly string[]) => {
    const temp = join(dir, `instances.${seq++}.tmp`);
    await writeFile(temp, JSON.stringify(list));
    return () => rename(temp, path);
  };
  await (await replace(base))();
  const provider = fileList(path, { debounceMs: 0 });
  const { client, marks, measure } = instrumented(provider);
  try {
    await client.ready();
    // The new file is written beside the old one first; the change is the rename.
    const one = await rounds(async (i) => {
      const next = withOneReplaced(base, i);
      const changed = next[i % N] as string;
      const swap = await replace(next);
      return measure(swap, hasUrl(changed), snapshotHas(changed, N));
    });

    // The same content again: read and parsed, every record found in the cache, nothing emitted.
    // Its cost is measured as CPU time over a quiet window, since no event marks its end.
    const current = withOneReplaced(base, WARMUP + ROUNDS - 1);
    const before = marks.applied;
    const cpuMs: number[] = [];
    for (let i = 0; i < WARMUP + ROUNDS; i++) {
      const swap = await replace(current);
      gc?.();
      const cpu = process.cpuUsage();
      await swap();
      await new Promise((resolve) => setTimeout(resolve, 300));
      const used = process.cpuUsage(cpu);
      if (i >= WARMUP) cpuMs.push((used.user + used.system) / 1000);
    }
    if (marks.applied !== before) throw new Error('an identical file reached the balancer');
    return {
      changed: { 'file-one': summarize(one) },
      unchanged: { 'file-identical': { rounds: ROUNDS, cpuMs: round2(median(cpuMs)) } },
    };
  } finally {
    await client.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const b64 = (text: string) => Buffer.from(text).toString('base64');
const key = (i: number) => `/bench/k${String(i).padStart(5, '0')}`;

async function putKeys(server: EtcdServer, from: number, to: number): Promise<void> {
  for (let start = from; start < to; start += TXN_OPS) {
    const success = [];
    for (let i = start; i < Math.min(to, start + TXN_OPS); i++) {
      success.push({
        request_put: { key: b64(key(i)), value: b64(`http://10.1.${i >> 8}.${i & 255}:8080`) },
      });
    }
    await server.call('/v3/kv/txn', { success });
  }
}

async function etcdScenarios() {
  const server = await startEtcd();
  const provider = etcd({ endpoints: [server.endpoint], prefix: '/bench/' });
  try {
    await putKeys(server, 0, N);
    const { client, measure } = instrumented(provider);
    try {
      await client.ready({ timeoutMs: 30_000 });
      if (client.snapshot().instances.length !== N)
        throw new Error('etcd: the first list is not 10,000 instances');
      const size = (n: number) => (list: readonly Instance[]) => list.length === n;
      const sized = (n: number) => (c: Client) => c.snapshot().instances.length === n;
      const del: Timing[] = [];
      const put: Timing[] = [];
      for (let i = 0; i < WARMUP + ROUNDS; i++) {
        // One revision removes 1,000 keys: one watch message with 1,000 DELETE events.
        const removed = await measure(
          () => server.call('/v3/kv/deleterange', { key: b64(key(N - ETCD_BATCH)), range_end: b64(key(N)) }),
          size(N - ETCD_BATCH),
          sized(N - ETCD_BATCH),
        );
        // Put back in 8 transactions; timed from the last one.
        await putKeys(server, N - ETCD_BATCH, N - TXN_OPS);
        const added = await measure(() => putKeys(server, N - TXN_OPS, N), size(N), sized(N));
        if (i >= WARMUP) {
          del.push(removed);
          put.push(added);
        }
      }
      return { 'etcd-del-1000': summarize(del), 'etcd-put-1000': summarize(put) };
    } finally {
      await client.close();
    }
  } finally {
    await provider.close();
    await server.close();
  }
}

const stat = await staticScenarios();
const reemit = await reemitScenario();
const file = await fileScenarios();
let etcdResult: Record<string, Summary> | { skipped: string };
if (requireTool('etcd', 'etcd-server').available) {
  etcdResult = await etcdScenarios();
} else {
  etcdResult = { skipped: 'etcd is not installed (Debian package etcd-server)' };
}

const changed: Record<string, Summary> = {
  ...stat.changed,
  ...file.changed,
  ...('skipped' in etcdResult ? {} : etcdResult),
};
for (const [name, s] of Object.entries(changed)) {
  console.log(
    `${name}: emit→balancer ${s.emitToBalancerMs} ms, source→balancer ${s.sourceToBalancerMs} ms (max ${s.maxSourceToBalancerMs}), source→snapshot ${s.sourceToSnapshotMs} ms`,
  );
}
const unchanged = { ...stat.unchanged, 'reemit-equal': reemit, ...file.unchanged };
console.log(`unchanged: ${JSON.stringify(unchanged)}; client.snapshot() of ${N}: ${stat.snapshotBuildMs} ms`);
// The target is the provider-to-balancer path; etcd's own commit (an fsync) is outside it.
const withinTarget = Object.values(changed).every((s) => s.emitToBalancerMs < TARGET_MS);
console.log(
  JSON.stringify({
    bench: 'discovery-update',
    node: process.version,
    instances: N,
    warmup: WARMUP,
    targetMs: TARGET_MS,
    changed,
    unchanged,
    ...('skipped' in etcdResult ? { etcd: etcdResult.skipped } : {}),
    snapshotBuildMs: stat.snapshotBuildMs,
    withinTarget,
  }),
);
