// Instance processes that die or freeze under mixed GET and POST load, and a whole service that
// goes down and comes back one instance at a time. test/http covers GETs through a kill and a
// freeze; here the point is what a caller of a non-idempotent request sees (success or a typed
// error, never a replay), what callers see while nothing is up (typed errors at once, call
// after call), how the service comes back, and that the client leaves nothing open.

import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Client, type ClientOptions, createClient, httpCheck } from 'picket';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type InstanceProcess, spawnInstance, spawnInstances } from '../fixtures/instances.ts';
import { waitFor } from '../servers/wait.ts';
import {
  expectNoLeaks,
  expectPicketError,
  handleCounts,
  loop,
  type Outcomes,
  outcomes,
  send,
  settle,
} from './support.ts';

let instances: InstanceProcess[];
let baseline: Record<string, number>;
const clients: Client[] = [];

// Where the instance processes log each POST as they take it in (instance-server.ts).
const arrivalsDir = mkdtempSync(join(tmpdir(), 'picket-arrivals-'));

beforeAll(async () => {
  baseline = handleCounts();
  process.env.INSTANCE_ARRIVALS_DIR = arrivalsDir;
  instances = await spawnInstances(3);
});
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  // A test that killed or froze an instance brings it back for the next one.
  for (const [n, i] of instances.entries()) {
    if (i.child.exitCode !== null || i.child.signalCode !== null) {
      instances[n] = await spawnInstance({ id: i.id, port: i.port });
    } else {
      i.signal('SIGCONT');
    }
  }
});
afterAll(async () => {
  delete process.env.INSTANCE_ARRIVALS_DIR;
  rmSync(arrivalsDir, { recursive: true, force: true });
  await Promise.all(instances.map((i) => i.close()));
  for (const i of instances) expect(i.child.exitCode !== null || i.child.signalCode !== null).toBe(true);
  await expectNoLeaks(baseline);
});

function client(options: Partial<ClientOptions> = {}): Client {
  const c = createClient({ service: 'orders', discovery: instances.map((i) => i.url), ...options });
  clients.push(c);
  return c;
}

/** POST attempts that were retried after they may have reached a server: there must be none. */
function watchReplays(c: Client): string[] {
  const replays: string[] = [];
  c.on('retry', ({ method, attempt }) => {
    if (method === 'POST' && attempt.error !== 'connect' && attempt.error !== 'breaker-open')
      replays.push(`${attempt.url} ${attempt.error ?? attempt.status}`);
  });
  return replays;
}

/** Where each POST of `tag` arrived, by order id, as the instances logged it (killed ones too). */
function arrivalsOf(tag: string): Map<string, string[]> {
  const byOrder = new Map<string, string[]>();
  for (const file of readdirSync(arrivalsDir)) {
    for (const line of readFileSync(join(arrivalsDir, file), 'utf8').split('\n')) {
      const order = /^POST \/orders\?order=([^&\s]+)/.exec(line)?.[1];
      if (order === undefined || !order.startsWith(`${tag}-`)) continue;
      byOrder.set(order, [...(byOrder.get(order) ?? []), file.replace(/\.log$/, '')]);
    }
  }
  return byOrder;
}

/** Orders that reached more than one instance, or one instance twice: replays. */
function replayed(byOrder: Map<string, string[]>): string[] {
  return [...byOrder].filter(([, at]) => at.length > 1).map(([order, at]) => `${order}: ${at.join(', ')}`);
}

let tags = 0;

/** GETs, and every third call a POST tagged with an order id that its server holds 30 ms after
 * taking it in: a kill or freeze always finds some POSTs that arrived and are not yet answered. */
function mixedLoad(c: Client, gets: Outcomes, posts: Outcomes) {
  let n = 0;
  const tag = `t${++tags}`;
  const load = loop(
    () =>
      n++ % 3 === 2
        ? send(c, posts, { method: 'POST', path: `/orders?order=${tag}-${n}&delay=30`, body: `order-${n}` })
        : send(c, gets),
    {
      workers: 8,
      pauseMs: 1,
    },
  );
  return Object.assign(load, { tag });
}

describe('an instance killed (SIGKILL) under GET and POST load', () => {
  it('loses no GET; each POST succeeds or fails with a typed error and is never replayed', async () => {
    const c = client();
    const replays = watchReplays(c);
    const gets = outcomes();
    const posts = outcomes();
    const load = mixedLoad(c, gets, posts);
    await load.more(300);
    instances[0]!.signal('SIGKILL');
    await instances[0]!.exited;
    await load.more(600);
    await load.stop();

    expect(gets.errors.map(String)).toEqual([]);
    expect(gets.statuses).toEqual({});
    expect(posts.ok).toBeGreaterThan(0);
    for (const e of posts.errors) expectPicketError(e, ['PICKET_ATTEMPTS_EXHAUSTED']);
    expect(replays).toEqual([]);
    // Counted where it matters, at the servers: no order arrived twice, the killed instance's
    // arrivals (logged before it died) included, and every answered POST arrived somewhere.
    const arrived = arrivalsOf(load.tag);
    expect(replayed(arrived)).toEqual([]);
    expect(arrived.size).toBeGreaterThanOrEqual(posts.ok);
    expect([...arrived.values()].some((at) => at[0] === instances[0]!.id)).toBe(true);
    // The kill was noticed: the instance was ejected (five failures in a row), or, when
    // peak-EWMA steered away after fewer, it carries the failure penalty (250 ms, decaying with
    // a 10 s time constant, against a few ms for the others), which keeps it from being picked.
    const views = c.snapshot().instances;
    const killed = views.find((i) => i.url === instances[0]!.url)!;
    expect(killed.failures).toBeGreaterThan(0);
    if (killed.state === 'healthy') {
      const others = views.filter((i) => i !== killed).map((i) => i.latencyMs);
      expect(killed.latencyMs).toBeGreaterThan(Math.max(...others));
    }
  });
});

describe('an instance frozen (SIGSTOP) under GET and POST load, with a per-try timeout', () => {
  it('loses no GET; a POST stuck on the frozen instance fails typed at its per-try timeout, not replayed', async () => {
    // The freeze outlasts `timeout`: a GET that waited for the frozen instance would fail.
    const c = client({ perTryTimeout: 250, timeout: 2500 });
    const replays = watchReplays(c);
    const gets = outcomes();
    const posts = outcomes();
    const load = mixedLoad(c, gets, posts);
    await load.more(300);
    const frozen = instances[1]!;
    // Orders the frozen instance had taken in before the freeze.
    const frozenBefore = [...arrivalsOf(load.tag).values()].filter((at) => at.includes(frozen.id)).length;
    frozen.signal('SIGSTOP');
    const stoppedAt = performance.now();
    await load.more(300);
    await waitFor(() => performance.now() - stoppedAt > 3000, { timeoutMs: 8000 });
    frozen.signal('SIGCONT');
    await load.more(200);
    await load.stop();

    expect(gets.errors.map(String)).toEqual([]);
    for (const e of posts.errors) expectPicketError(e, ['PICKET_ATTEMPTS_EXHAUSTED', 'PICKET_TIMEOUT']);
    expect(replays).toEqual([]);
    // The frozen process takes in what was stuck once continued: an answer over IPC proves its
    // event loop has run since, and so has read the requests that waited in its sockets. Orders
    // counted at the servers, the frozen instance's after it resumed as well as before: none
    // arrived twice.
    await frozen.stats();
    const frozenAfter = [...arrivalsOf(load.tag).values()].filter((at) => at.includes(frozen.id)).length;
    expect(frozenAfter).toBeGreaterThanOrEqual(frozenBefore);
    expect(replayed(arrivalsOf(load.tag))).toEqual([]);
  });
});

describe('every instance down, then one back', () => {
  it('fails each call with a typed error at once while nothing is up, and serves again when one returns', async () => {
    const c = client({
      strategy: 'round-robin',
      health: {
        check: httpCheck({ path: '/health' }),
        interval: 100,
        timeout: 300,
        unhealthyThreshold: 1,
        healthyThreshold: 1,
      },
      breaker: { resetTimeoutMs: 500 },
    });
    const gets = outcomes();
    const load = loop(() => send(c, gets), { workers: 4, pauseMs: 2 });
    await load.more(100);
    for (const i of instances) i.signal('SIGKILL');
    await Promise.all(instances.map((i) => i.exited));
    await load.stop();

    // Nothing up: call after call, a typed error within 3 s (connections refused, breakers open,
    // every instance unhealthy).
    for (let k = 0; k < 20; k++) {
      const r = await settle(c.request({ path: '/work' }), 3000, 'a call while every instance is down');
      expect(r.ok).toBe(false);
      expectPicketError(!r.ok && r.error, ['PICKET_ATTEMPTS_EXHAUSTED', 'PICKET_NO_AVAILABLE_INSTANCE']);
      expect(r.ms).toBeLessThan(3000);
    }

    // One comes back on its port: it serves again within a few check intervals and breaker resets.
    instances[1] = await spawnInstance({ id: instances[1]!.id, port: instances[1]!.port });
    const back = instances[1]!;
    await waitFor(
      async () => {
        const res = await c.request({ path: '/work' }).catch(() => undefined);
        await res?.body.text();
        return res?.statusCode === 200;
      },
      { timeoutMs: 10_000, intervalMs: 50, message: 'the returning instance to serve' },
    );
    const after = outcomes();
    for (let k = 0; k < 50; k++) await send(c, after);
    expect(after.errors.map(String)).toEqual([]);
    expect(after.byInstance).toEqual({ [back.id]: 50 });
  });
});
