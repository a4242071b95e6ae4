// Subsetting through the umbrella createClient, against twelve node:http instances on loopback:
// only the caller's subset is sent requests, health-checked and pooled; when members fail their
// checks the subset grows by the next candidates, which then get checks and traffic, and shrinks
// back to the same members when they recover.

import { type Client, createClient, httpCheck, rendezvousOrder } from 'picket';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../servers/wait.ts';
import { type Backend, Closer, startBackend } from './support.ts';

const INTERVAL = 150;
const closer = new Closer();
afterEach(() => closer.closeAll());

async function fleet(n: number): Promise<Backend[]> {
  const backends = await Promise.all(Array.from({ length: n }, (_, i) => startBackend({ name: `i${i}` })));
  return backends.map((b) => closer.track(b));
}

function clientFor(backends: readonly Backend[]): Client {
  return closer.track(
    createClient({
      service: 'inventory',
      discovery: backends.map((b) => b.url),
      subset: { size: 3, callerId: 'orders-7' },
      // Round robin: an instance that joins takes its turn at once (which instance a strategy
      // favours is not what this test is about).
      strategy: 'round-robin',
      health: {
        check: httpCheck({ path: '/health' }),
        interval: INTERVAL,
        healthyThreshold: 1,
        unhealthyThreshold: 1,
      },
      outlierDetection: false,
      breaker: false,
    }),
  );
}

async function send(client: Client, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const res = await client.request({ path: '/x' });
    await res.body.text();
  }
}

describe('subset', () => {
  it('sends requests, health checks and pools only to the subset, growing while members fail', async () => {
    const backends = await fleet(12);
    const byUrl = new Map(backends.map((b) => [b.url, b]));
    const order = rendezvousOrder(
      'orders-7',
      backends.map((b) => b.url),
    ).map((url) => byUrl.get(url) as Backend);
    const members = order.slice(0, 3);
    const others = order.slice(3);
    const client = clientFor(backends);
    await waitFor(() => members.every((b) => b.probes >= 2), { message: 'members were not checked' });
    await send(client, 30);
    expect(members.every((b) => b.requests > 0)).toBe(true);
    expect(others.map((b) => b.requests + b.probes)).toEqual(others.map(() => 0));
    const snap = client.snapshot();
    expect(snap.instances.map((i) => i.url).sort()).toEqual(members.map((b) => b.url).sort());
    expect(snap.instances.every((i) => i.subset === 'member' && i.pool !== undefined)).toBe(true);
    expect(snap.subset?.counts).toEqual({ member: 3, grown: 0, standby: 9 });

    // Two of three members fail their checks: 1 of 3 available is below the 50% panic threshold,
    // so the next in order joins, is checked, and takes traffic.
    const grown = order[3] as Backend;
    (members[0] as Backend).health = 503;
    (members[1] as Backend).health = 503;
    await waitFor(() => client.snapshot().subset?.counts.grown === 1, { message: 'the subset did not grow' });
    await waitFor(() => grown.probes > 0, { message: 'the grown instance was not checked' });
    await waitFor(() => client.snapshot().instances.find((i) => i.url === grown.url)?.state === 'healthy', {
      message: 'the grown instance did not become healthy',
    });
    const before = grown.requests;
    await send(client, 30);
    expect(grown.requests).toBeGreaterThan(before);
    expect(order.slice(4).map((b) => b.requests + b.probes)).toEqual(order.slice(4).map(() => 0));

    // The members recover: the subset shrinks back to them, and the grown one is no longer checked.
    (members[0] as Backend).health = 200;
    (members[1] as Backend).health = 200;
    await waitFor(() => client.snapshot().subset?.counts.grown === 0, {
      message: 'the subset did not shrink',
    });
    // Three more checks of every member span at least three intervals: time for the grown
    // instance's next check, had it still been scheduled (one already under way may land).
    const probes = grown.probes;
    const memberProbes = members.map((b) => b.probes);
    await send(client, 30);
    await waitFor(() => members.every((b, i) => b.probes >= (memberProbes[i] as number) + 3));
    expect(grown.probes).toBeLessThanOrEqual(probes + 1);
    const live = client.snapshot().instances.filter((i) => i.state !== 'draining');
    expect(live.map((i) => i.url).sort()).toEqual(members.map((b) => b.url).sort());
  });
});
