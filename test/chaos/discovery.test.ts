// Discovery failing while traffic flows: a provider that errors over and over, membership that
// churns under requests in flight, a watched file deleted and rewritten with garbage, records
// that are garbage (some, then all), and a hand-written provider that breaks its contract.
// Traffic must not notice a failing provider (the last good list stays); instances that leave
// are drained, not cut; bad records are skipped and reported; whatever reaches a caller is typed.
// (test/integration covers etcd and DNS going away and providers that never delivered.)

import { mkdtemp, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Instance } from '@picket/core';
import { Emitter } from '@picket/core/internal';
import { createProvider, type ProviderContext } from '@picket/discovery';
import { type Client, createClient, fileList, type Provider } from 'picket';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type InstanceProcess, spawnInstances } from '../fixtures/instances.ts';
import { waitFor } from '../servers/wait.ts';
import { expectNoLeaks, expectPicketError, handleCounts, loop, outcomes, send, settle } from './support.ts';

let instances: InstanceProcess[];
let urls: string[];
let dir: string;
let baseline: Record<string, number>;
const open: { close(): Promise<unknown> }[] = [];

beforeAll(async () => {
  baseline = handleCounts();
  instances = await spawnInstances(3);
  urls = instances.map((i) => i.url);
  dir = await mkdtemp(join(tmpdir(), 'picket-chaos-discovery-'));
});
afterEach(async () => {
  for (const item of open.splice(0).reverse()) await item.close();
});
afterAll(async () => {
  await Promise.all(instances.map((i) => i.close()));
  await rm(dir, { recursive: true, force: true });
  await expectNoLeaks(baseline);
});

function clientOn(provider: Provider): Client {
  const c = createClient({ service: 'inventory', discovery: provider });
  open.push(c);
  return c;
}

/** A provider steered by the test: `publish` a list, or `fail` on every turn of its loop. */
function steered() {
  let ctx: ProviderContext | undefined;
  let failing = false;
  let turns = 0;
  const provider = createProvider({
    name: 'steered',
    async run(c) {
      ctx = c;
      while (await c.sleep(5)) {
        turns++;
        if (failing) c.fail(new Error(`registry unreachable (turn ${turns})`), 'listing');
      }
    },
  });
  return {
    provider,
    publish: (records: readonly unknown[]) => ctx!.publish(records),
    set failing(on: boolean) {
      failing = on;
    },
    get turns() {
      return turns;
    },
  };
}

describe('a provider that fails over and over mid-traffic', () => {
  it('costs no request, reports each failure, keeps the last good list, and follows the next good one', async () => {
    const s = steered();
    const c = clientOn(s.provider);
    await waitFor(() => s.turns > 0, { message: 'the provider to run' });
    s.publish(urls);
    await c.ready({ timeoutMs: 5000 });
    let reported = 0;
    // Collected here and judged after: a listener's exception only becomes a warning.
    const errors: unknown[] = [];
    c.on('discovery-error', (e) => {
      errors.push(e.error);
      // A listener that throws is reported (once here: each throw prints a process warning),
      // never propagated into discovery or a request.
      if (reported++ === 0) throw new Error('a careless listener');
    });
    const seen = outcomes();
    const load = loop(() => send(c, seen), { workers: 4, pauseMs: 2 });
    await load.more(100);
    s.failing = true;
    await waitFor(() => reported >= 50, { message: 'failures to be reported' });
    await load.more(200);
    expect(
      c
        .snapshot()
        .instances.map((i) => i.url)
        .sort(),
    ).toEqual([...urls].sort());
    expect(c.snapshot().discovery.lastError).toContain('registry unreachable');
    expect(errors.length).toBeGreaterThanOrEqual(50);
    for (const error of errors) expectPicketError(error, ['PICKET_DISCOVERY_FAILED']);
    s.failing = false;
    s.publish(urls.slice(0, 2));
    await waitFor(() => c.snapshot().instances.length === 2, { message: 'the shorter list' });
    await load.more(200);
    await load.stop();
    expect(seen.errors.map(String)).toEqual([]);
    expect(seen.statuses).toEqual({});
  });
});

describe('membership churning under requests in flight', () => {
  it('drains instances that leave: no request in flight is cut', async () => {
    const s = steered();
    const c = clientOn(s.provider);
    await waitFor(() => s.turns > 0, { message: 'the provider to run' });
    s.publish(urls);
    const seen = outcomes();
    // A cut request would be retried elsewhere and answered: count retries, which must stay 0.
    const retries: unknown[] = [];
    c.on('retry', (e) => retries.push(e));
    // Every request takes 20 ms, so every change finds requests in flight on the leaving instance.
    const load = loop(() => send(c, seen, { path: '/work?delay=20' }), { workers: 8, pauseMs: 0 });
    for (let k = 0; k < 40; k++) {
      s.publish(k % 2 === 0 ? [urls[k % 3]] : urls);
      await load.more(5);
    }
    s.publish(urls);
    await load.stop();
    expect(seen.errors.map(String)).toEqual([]);
    expect(seen.statuses).toEqual({});
    expect(retries).toEqual([]);
    await waitFor(() => c.snapshot().drainingPools === 0, { message: 'the drained pools to close' });
  });
});

describe('a watched file deleted, then rewritten with garbage, then restored', () => {
  it('costs no request and follows the restored list', async () => {
    const path = join(dir, 'instances.json');
    const write = async (text: string) => {
      await writeFile(`${path}.tmp`, text);
      await rename(`${path}.tmp`, path);
    };
    await write(JSON.stringify(urls));
    const provider = fileList(path, { debounceMs: 10, pollMs: 100 });
    const c = clientOn(provider);
    await c.ready({ timeoutMs: 5000 });
    const errors: string[] = [];
    c.on('discovery-error', (e) => errors.push(e.error.message));
    const seen = outcomes();
    const load = loop(() => send(c, seen), { workers: 4, pauseMs: 2 });
    await load.more(100);
    await unlink(path);
    await waitFor(() => errors.length >= 1, { message: 'the deletion to be reported' });
    await load.more(100);
    for (const garbage of ['', '{"instances": [', '\u0000\u0001\u0002', 'null', '{"instances": 42}']) {
      const before = errors.length;
      await write(garbage);
      await waitFor(() => errors.length > before, { message: `${JSON.stringify(garbage)} to be reported` });
      await load.more(30);
    }
    expect(c.snapshot().instances).toHaveLength(3);
    await write(JSON.stringify([urls[0]]));
    await waitFor(() => c.snapshot().instances.length === 1, { message: 'the restored list' });
    await load.more(100);
    await load.stop();
    expect(seen.errors.map(String)).toEqual([]);
    expect(c.snapshot().discovery.lastError).toBeUndefined();
  });
});

const GARBAGE: unknown[] = [
  null,
  42,
  'not a url',
  'ftp://127.0.0.1:21',
  'javascript:alert(1)',
  'http://127.0.0.1:99999',
  { url: 'http://user:secret@127.0.0.1:1' },
  { url: 'http://127.0.0.1:1', weight: Number.NaN },
  { url: 'http://127.0.0.1:1', weight: -1 },
  { host: '', port: 80 },
  { host: 'a b', port: 80 },
  { url: 'http://127.0.0.1:1', priority: 1.5 },
  { url: 'http://127.0.0.1:1', zone: { nested: true } },
  { url: 'http://127.0.0.1:1', extra: 'field' },
  JSON.parse('{"url": "http://127.0.0.1:1", "__proto__": {"polluted": true}}'),
  { url: `http://127.0.0.1:1/${'x'.repeat(100_000)}` },
  [],
  {},
];

describe('discovery returning garbage records', () => {
  it('skips and reports each bad record mid-traffic while the valid ones serve', async () => {
    const s = steered();
    const invalid: string[] = [];
    s.provider.on('invalid-record', (e) => invalid.push(e.reason));
    const c = clientOn(s.provider);
    await waitFor(() => s.turns > 0, { message: 'the provider to run' });
    s.publish(urls);
    const seen = outcomes();
    const load = loop(() => send(c, seen), { workers: 4, pauseMs: 2 });
    await load.more(50);
    s.publish([...GARBAGE, urls[0], urls[1], urls[0]]);
    await waitFor(() => c.snapshot().instances.length === 2, { message: 'the valid records only' });
    await load.more(100);
    await load.stop();
    expect(seen.errors.map(String)).toEqual([]);
    // Every bad record and the repeated one, each with a reason; no secret in any reason.
    expect(invalid).toHaveLength(GARBAGE.length + 1);
    expect(invalid.join('\n')).not.toContain('secret');
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
  });

  it('an answer of nothing but garbage keeps the last good list, reported, and calls keep succeeding', async () => {
    const s = steered();
    const errors: string[] = [];
    s.provider.on('discovery-error', (e) => errors.push(e.error.message));
    const c = clientOn(s.provider);
    await waitFor(() => s.turns > 0, { message: 'the provider to run' });
    s.publish(urls);
    s.publish(GARBAGE);
    expect(errors.at(-1)).toContain(`all ${GARBAGE.length} records were invalid; keeping the last good list`);
    expect(c.snapshot().instances).toHaveLength(urls.length);
    const during = outcomes();
    for (let k = 0; k < 20; k++) await send(c, during);
    expect(during.ok).toBe(20);
    s.publish(urls.slice(0, 1));
    await waitFor(() => c.snapshot().instances.length === 1, { message: 'the next good list' });
  });
});

describe('a hand-written provider that breaks the contract', () => {
  function handMade(onStart: () => void) {
    const events = new Emitter<{ snapshot: { instances: readonly Instance[] } }>();
    return {
      events,
      provider: {
        name: 'hand-made',
        start: onStart,
        on: (name: 'snapshot', fn: (p: { instances: readonly Instance[] }) => void) => events.on(name, fn),
        current: () => undefined,
        lastError: () => undefined,
        close: async () => undefined,
      } as unknown as Provider,
    };
  }

  it('reports a snapshot of objects that are not instances, typed, and keeps the last good list', async () => {
    const { events, provider } = handMade(() => undefined);
    const c = clientOn(provider);
    const errors: unknown[] = [];
    c.on('discovery-error', (e) => errors.push(e.error));
    events.emit('snapshot', { instances: urls.map((url) => ({ id: url, url })) as unknown as Instance[] });
    const first = outcomes();
    for (let k = 0; k < 10; k++) await send(c, first);
    expect(first.ok).toBe(10);
    events.emit('snapshot', { instances: [{ nonsense: true }, null] as unknown as Instance[] });
    expect(errors).toHaveLength(1);
    expectPicketError(errors[0], ['PICKET_DISCOVERY_FAILED']);
    const after = outcomes();
    for (let k = 0; k < 10; k++) await send(c, after);
    expect(after.ok).toBe(10);
  });

  // Issue 7: createClient used to call the provider's start() unguarded, so a provider whose
  // start() throws made createClient throw that raw error.
  it('turns a provider whose start() throws into a typed failure', async () => {
    const { provider } = handMade(() => {
      throw new Error('boom');
    });
    let c: Client | undefined;
    try {
      c = clientOn(provider);
    } catch (error) {
      expectPicketError(error);
      return;
    }
    const r = await settle(c.request({ path: '/work' }), 1000, 'a call');
    expectPicketError(!r.ok && r.error, ['PICKET_NO_INSTANCES']);
  });
});
