// The edges of the per-request timeout rule: a caller's deadline shorter than the client's is
// neutral for the instance, and only that. A per-request timeout longer than the client's is
// still charged; under a short one, hedges that lost stay neutral, a retry's real failure is
// still charged, and the client's perTryTimeout (the service's own rule for one attempt) still
// charges, and so ejects, an instance that never answers.

import { isPicketError } from '@picket/core';
import { describe, expect, it } from 'vitest';
import { callerFaultClients, failure, uncharged } from '../fixtures/caller-faults.ts';
import { never, testResources } from '../fixtures/http-servers.ts';

const resources = testResources({ destroy: true });
const { client: tracked, fleet } = callerFaultClients(resources);

const failures = (client: ReturnType<typeof tracked>) =>
  client.snapshot().instances.reduce((n, i) => n + i.failures, 0);

describe("a per-request timeout and the client's", () => {
  it("longer than the client's own still charges the instance", async () => {
    const { client } = await fleet(never, { hedge: false, timeout: 60 });
    const error = await failure(() => client.request({ path: '/', timeout: 120 }));
    expect(isPicketError(error, 'PICKET_TIMEOUT'), String(error)).toBe(true);
    expect(failures(client)).toBe(1);
  });

  it('shorter, with a hedge racing: both attempts are released neutral, and both heard as slow', async () => {
    const { client } = await fleet(never, { timeout: 5_000, hedge: { delayMs: 10 } });
    const hedges: unknown[] = [];
    client.on('hedge', (e) => hedges.push(e));
    const error = await failure(() => client.request({ path: '/', timeout: 200 }));
    expect(isPicketError(error, 'PICKET_TIMEOUT'), String(error)).toBe(true);
    expect(hedges).toHaveLength(1);
    uncharged(client);
    const slow = client.snapshot().instances.filter((i) => (i.meanLatencyMs ?? 0) >= 40);
    expect(slow).toHaveLength(2);
  });

  it('shorter, after a retry: the instance that refused is charged, the one that did not answer is not', async () => {
    const hung = await resources.server(never);
    const refusing = await resources.server(never);
    await refusing.close();
    const client = tracked({
      service: 'inventory',
      discovery: [refusing.url, { url: hung.url, priority: 1 }],
      breaker: false,
      hedge: false,
      timeout: 5_000,
      retry: { retries: 1, backoff: { baseMs: 1, maxMs: 1 } },
    });
    const error = await failure(() => client.request({ path: '/', timeout: 150 }));
    expect(isPicketError(error, 'PICKET_TIMEOUT'), String(error)).toBe(true);
    const byUrl = new Map(client.snapshot().instances.map((i) => [i.url, i]));
    expect(byUrl.get(refusing.url)?.failures).toBe(1);
    expect(byUrl.get(hung.url)).toMatchObject({ failures: 0, active: 0 });
  });

  it("shorter, under the client's perTryTimeout: an instance that never answers is charged and taken out", async () => {
    const { client } = await fleet(never, { hedge: false, timeout: 5_000, perTryTimeout: 30, retry: false });
    for (let i = 0; i < 2; i++) await failure(() => client.request({ path: '/', timeout: 200 }));
    // Each call's attempt expired at perTryTimeout and was charged: both instances are out.
    expect(failures(client)).toBe(2);
    expect(client.snapshot().instances.map((i) => i.state)).not.toContain('healthy');
  });
});
