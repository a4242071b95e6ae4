// close() and destroy() under load: destroy() fails every call at once with PICKET_CLIENT_CLOSED
// and starts nothing; close() lets attempts in flight finish but starts no retry after it.

import { isPicketError } from '@picket/core';
import { createClient } from '@picket/http';
import { describe, expect, it } from 'vitest';
import { never, testResources } from '../fixtures/http-servers.ts';
import { waitFor } from '../fixtures/instances.ts';

const resources = testResources({ destroy: true });
const REFUSED = ['http://127.0.0.1:1', 'http://127.0.0.1:2', 'http://127.0.0.1:3'];
const settled = (p: Promise<unknown>) =>
  p.then(
    () => 'answered',
    (error: unknown) => error,
  );

/** A client whose one call has failed twice on refused instances and now waits out its backoff. */
async function backingOff() {
  const client = createClient({
    service: 'inventory',
    discovery: REFUSED,
    // A backoff far longer than the test's own timeout: waiting it out fails the test.
    retry: { retries: 5, backoff: { baseMs: 120_000, maxMs: 120_000 } },
  });
  const retries: number[] = [];
  client.on('retry', (e) => retries.push(e.next));
  const call = settled(client.request({ path: '/' }));
  // The first retry runs at once; the second waits out the backoff.
  await waitFor(() => retries.length === 2, 'the call to start backing off');
  return { client, call };
}

describe('destroy()', () => {
  it('fails 1,000 calls in flight at once with PICKET_CLIENT_CLOSED, with no retry', async () => {
    const servers = await Promise.all([resources.server(never), resources.server(never)]);
    const client = createClient({
      service: 'inventory',
      discovery: servers.map((s) => s.url),
      pool: { connections: 2000 },
    });
    const retries: unknown[] = [];
    client.on('retry', (e) => retries.push(e));
    const calls = Array.from({ length: 1000 }, () => settled(client.request({ path: '/' })));
    await waitFor(
      () => servers[0]!.requests + servers[1]!.requests === 1000,
      'every call to reach an instance',
      { timeoutMs: 20_000 },
    );
    await client.destroy();
    const results = await Promise.all(calls);
    const codes = new Map<unknown, number>();
    for (const r of results) {
      const code = (r as { code?: unknown }).code;
      codes.set(code, (codes.get(code) ?? 0) + 1);
    }
    expect(Object.fromEntries(codes)).toEqual({ PICKET_CLIENT_CLOSED: 1000 });
    expect(retries).toEqual([]);
  });

  it('fails a call waiting out its backoff at once, not when the backoff ends', async () => {
    const { client, call } = await backingOff();
    await client.destroy();
    expect(isPicketError(await call, 'PICKET_CLIENT_CLOSED'), String(await call)).toBe(true);
  });
});

describe('close()', () => {
  it('lets an attempt in flight finish, but starts no retry after it was called', async () => {
    // Both instances hold each call until told to answer 503, which is retryable: a retry after
    // close() would be held too, and the call would never settle.
    const held: Array<() => void> = [];
    const holding = () =>
      resources.server((_req, res) => {
        held.push(() => res.writeHead(503).end('busy'));
      });
    const servers = await Promise.all([holding(), holding()]);
    const client = createClient({
      service: 'inventory',
      discovery: servers.map((s) => s.url),
      outlierDetection: false,
      breaker: false,
    });
    const retries: unknown[] = [];
    client.on('retry', (e) => retries.push(e));
    const call = client.request({ path: '/' });
    await waitFor(() => held.length === 1, 'the call to reach an instance');
    const closed = client.close();
    held[0]!();
    // The 503 is the answer: the last response, when no retry may start.
    const res = await call;
    expect(res.statusCode).toBe(503);
    await res.body.dump();
    await closed;
    expect(retries).toEqual([]);
    expect(held.length).toBe(1);
  });

  it('fails a call waiting out its backoff at once with PICKET_CLIENT_CLOSED', async () => {
    const { client, call } = await backingOff();
    await client.close();
    expect(isPicketError(await call, 'PICKET_CLIENT_CLOSED'), String(await call)).toBe(true);
  });
});
