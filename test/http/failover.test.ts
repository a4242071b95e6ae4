// Failure behaviour against three real instance processes on loopback, under load. The
// scenarios share one file so that they run one after another: each measures how traffic
// moves, which other load on the machine would blur.
//   · one instance 50 ms slower: the default strategy sends it under 1%, round robin a third;
//   · one instance frozen (SIGSTOP) for 3 s: nothing fails, and only about the requests in
//     flight there wait for it;
//   · one instance killed (SIGKILL): no GET fails.

import { type Client, createClient } from '@picket/http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type InstanceProcess, runLoad, spawnInstances, waitFor } from '../fixtures/instances.ts';

let instances: InstanceProcess[];
beforeAll(async () => {
  instances = await spawnInstances(3);
});
afterAll(async () => {
  await Promise.all(instances.map((i) => i.close()));
});

function clientFor(strategy?: 'round-robin'): Client {
  return createClient({
    service: 'inventory',
    discovery: instances.map((i) => i.url),
    ...(strategy === undefined ? {} : { strategy }),
  });
}

async function okGet(client: Client, path = '/x'): Promise<string> {
  const res = await client.request({ path });
  if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`);
  await res.body.text();
  return String(res.headers['x-instance']);
}

describe('an instance 50 ms slower than the others', () => {
  // Two callers: peak-EWMA weighs latency by in-flight count, and on a loaded 2-core machine
  // scheduling hiccups of 50-100 ms inflate the fast instances' estimates now and then; more
  // callers would measure that noise more than the strategy.
  const CALLERS = 2;
  /**
   * The slow instance's share of `measured` requests, after `warmupMs` of traffic (peak-EWMA's
   * estimates start at 30 ms and decay towards the measured latency over seconds).
   */
  async function slowShare(strategy: 'round-robin' | undefined, warmupMs: number, measured: number) {
    const slow = instances[2]!;
    await slow.set({ delayMs: 50 });
    const client = clientFor(strategy);
    const warmUntil = performance.now() + warmupMs;
    let counted = 0;
    let toSlow = 0;
    const result = await runLoad(
      async () => {
        const measuring = performance.now() >= warmUntil;
        const id = await okGet(client);
        if (measuring) {
          counted++;
          if (id === slow.id) toSlow++;
        }
      },
      { concurrency: CALLERS, until: () => counted >= measured, maxRequests: 200_000 },
    );
    await client.close();
    await slow.set({ delayMs: 0 });
    expect(result.errors).toEqual([]);
    return toSlow / counted;
  }

  it('gets under 1% of requests with the default strategy', async () => {
    expect(await slowShare(undefined, 5000, 4000)).toBeLessThan(0.01);
  });

  it('gets a third with round robin', async () => {
    const share = await slowShare('round-robin', 0, 300);
    expect(share).toBeGreaterThan(0.28);
    expect(share).toBeLessThan(0.39);
  });
});

describe('an instance hung (SIGSTOP) for 3 s under load', () => {
  const CONCURRENCY = 12;
  const STOP_MS = 3000;

  it('fails nothing, and only about the requests in flight there wait for it', async () => {
    const client = clientFor();
    const frozen = instances[2]!;
    await frozen.reset();
    let phase: 'before' | 'stopped' | 'after' = 'before';
    let sentWhileStopped = 0;
    let completedAfter = 0;
    let stop = false;
    let stoppedAt = 0;
    let resumedAt = 0;
    // When each call that waited for the frozen instance was sent, ms after it froze (< 0: before).
    const waited: number[] = [];
    const load = runLoad(
      async () => {
        const started = performance.now();
        if (phase === 'stopped') sentWhileStopped++;
        const id = await okGet(client);
        if (id === frozen.id && resumedAt > 0 && started < resumedAt) waited.push(started - stoppedAt);
        if (phase === 'after') completedAfter++;
      },
      { concurrency: CONCURRENCY, until: () => stop, maxRequests: 1_000_000 },
    );
    await waitFor(async () => (await frozen.stats()).requests >= 100, 'warm-up traffic', {
      timeoutMs: 20_000,
    });
    const inFlightAtStop = client.snapshot().instances.find((i) => i.url === frozen.url)!.active;
    frozen.signal('SIGSTOP');
    stoppedAt = performance.now();
    phase = 'stopped';
    await waitFor(() => performance.now() - stoppedAt >= STOP_MS, 'the freeze to last', {
      timeoutMs: STOP_MS + 5000,
      intervalMs: 50,
    });
    frozen.signal('SIGCONT');
    resumedAt = performance.now();
    phase = 'after';
    await waitFor(() => completedAfter >= 300, 'traffic after the instance resumed', { timeoutMs: 20_000 });
    stop = true;
    const result = await load;
    await client.close();

    expect(result.errors).toEqual([]);
    expect(result.failed).toBe(0);
    // The other two served plenty while one was frozen…
    expect(sentWhileStopped).toBeGreaterThan(200);
    // …and only about the requests in flight on the frozen one when it stopped waited for it.
    // Peak-EWMA weighs in-flight counts, so the frozen instance keeps about its share of the
    // callers for as long as its latency estimate says nothing is wrong: its first milliseconds.
    // From then on, silent with requests in flight, it costs at least the time since its last
    // answer and gets no more. Before, its estimate decayed over the freeze, and in 2 of 4 runs it
    // was still sent calls 2.3-2.9 s in; bench/hung-instance.ts saw the last within 80 ms in 32
    // trials. The count allows half the callers beyond those in flight, the time half the freeze:
    // a loaded 2-core machine delays the answers a client sees.
    expect(waited.length).toBeGreaterThan(0);
    expect(waited.length).toBeLessThanOrEqual(inFlightAtStop + Math.ceil(CONCURRENCY / 2));
    expect(waited.length).toBeLessThan(CONCURRENCY);
    expect(Math.max(...waited)).toBeLessThan(STOP_MS / 2);
  });
});

describe('an instance killed (SIGKILL) under load', () => {
  it('loses no GET request, and takes the dead instance out of rotation', async () => {
    const client = clientFor();
    const victim = instances[0]!;
    let done = 0;
    const result = await runLoad(
      async (n) => {
        await okGet(client, `/items/${n}`);
        if (++done === 400) victim.signal('SIGKILL');
      },
      { concurrency: 16, until: () => false, maxRequests: 2000 },
    );
    await victim.exited;
    expect(result.errors).toEqual([]);
    expect(result.failed).toBe(0);
    expect(result.ok).toBe(2000);
    const dead = client.snapshot().instances.find((i) => i.url === victim.url)!;
    expect(dead.state).not.toBe('healthy');
    await client.close();
  });
});
