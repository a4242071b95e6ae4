// Back-pressure: `limits` bound what a client holds, and a call beyond them fails at once with
// PICKET_OVERLOADED naming the limit, instead of waiting in a queue without bound.

import { isPicketError, type PicketError } from '@picket/core';
import { createClient } from '@picket/http';
import { describe, expect, it } from 'vitest';
import { testClients } from '../fixtures/clients.ts';
import { never, status, testResources } from '../fixtures/http-servers.ts';
import { waitFor } from '../fixtures/instances.ts';

const resources = testResources({ destroy: true });
const { inOrder } = testClients(resources);
const settled = (p: Promise<unknown>) =>
  p.then(
    () => 'answered',
    (error: unknown) => error,
  );

function expectOverloaded(error: unknown, limit: string, value: number): void {
  expect(isPicketError(error, 'PICKET_OVERLOADED'), String(error)).toBe(true);
  expect((error as PicketError).details).toMatchObject({ limit, value });
  expect((error as Error).message).toContain(`limits.${limit}`);
}

describe('limits', () => {
  it('maxRequests: a call beyond the calls in flight fails at once, and is never sent', async () => {
    const hang = await resources.server(never);
    const client = resources.track(
      createClient({ service: 'inventory', discovery: [hang.url], limits: { maxRequests: 2 } }),
    );
    const held = [settled(client.request({ path: '/' })), settled(client.request({ path: '/' }))];
    await waitFor(() => hang.requests === 2, 'two calls to reach the instance');
    expectOverloaded(await settled(client.request({ path: '/' })), 'maxRequests', 2);
    expect(hang.requests).toBe(2);
    await client.destroy();
    await Promise.all(held);
  });

  it('maxPendingPerInstance: an instance whose queue is full is passed over, and with none left the call fails at once', async () => {
    const a = await resources.server(never);
    const b = await resources.server(never);
    // One connection each: a second call to an instance waits in its queue.
    const client = resources.track(
      createClient({
        service: 'inventory',
        discovery: [a.url, { url: b.url, priority: 1 }],
        pool: { connections: 1 },
        limits: { maxPendingPerInstance: 1 },
        outlierDetection: false,
        breaker: false,
      }),
    );
    const calls = [settled(client.request({ path: '/1' })), settled(client.request({ path: '/2' }))];
    await waitFor(() => a.requests === 1, 'the first call on a, the second queued behind it');
    // a's queue is full: the third goes to b, the backup.
    calls.push(settled(client.request({ path: '/3' })));
    await waitFor(() => b.requests === 1, 'the third call on b');
    calls.push(settled(client.request({ path: '/4' })));
    // Both queues full: refused at once.
    expectOverloaded(await settled(client.request({ path: '/5' })), 'maxPendingPerInstance', 1);
    expect(a.requests + b.requests).toBe(2);
    await client.destroy();
    await Promise.all(calls);
  });

  it('maxConcurrentRetries: no retry starts while that many are in flight; the call gets its answer', async () => {
    const busy = await resources.server(status(503));
    const hang = await resources.server(never);
    const client = inOrder(busy, hang, {
      outlierDetection: false,
      limits: { maxConcurrentRetries: 1 },
      retry: { backoff: { baseMs: 1, maxMs: 1 } },
    });
    // The first call's retry goes to the hanging backup and stays in flight.
    const first = settled(client.request({ path: '/' }));
    await waitFor(() => hang.requests === 1, 'the first retry to be in flight');
    const res = await client.request({ path: '/' });
    expect(res.statusCode).toBe(503);
    await res.body.dump();
    expect(hang.requests).toBe(1);
    await client.destroy();
    await first;
  });

  it('rejects a limit that is not a positive integer, naming it', () => {
    expect(() => createClient({ service: 's', discovery: [], limits: { maxPendingPerInstance: 0 } })).toThrow(
      /`limits.maxPendingPerInstance`/,
    );
  });
});
