// The edges of the per-request timeout rule: a caller's deadline shorter than the client's is
// neutral for the instance, and only that. A per-request timeout longer than the client's is
// still charged; under a short one, hedges that lost stay neutral, a retry's real failure is
// still charged, and the client's perTryTimeout (the service's own rule for one attempt) still
// charges, and so ejects, an instance that never answers. And one that has stopped answering
// is charged even under short deadlines alone: past five unanswered attempts in a row.

import { isPicketError } from '@picket/core';
import { describe, expect, it } from 'vitest';
import { callerFaultClients, failure, uncharged } from '../fixtures/caller-faults.ts';
import { echo, never, testResources } from '../fixtures/http-servers.ts';

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

  it('shorter on every call: an instance that has stopped answering is charged past five in a row, and taken out', async () => {
    const hung = await resources.server(never);
    const answering = await resources.server(echo('a'));
    // The outlier detector's defaults (five failures in a row); round robin would send the hung
    // instance half the calls for as long as it stays in, each one timing out.
    const client = tracked({
      service: 'inventory',
      discovery: [hung.url, answering.url],
      strategy: 'round-robin',
      breaker: false,
      hedge: false,
      retry: false,
      timeout: 5_000,
    });
    let timedOut = 0;
    for (let i = 0; i < 40; i++) {
      const error = await failure(() =>
        client.request({ path: '/', timeout: 40 }).then((r) => r.body.text()),
      );
      if (error !== undefined) {
        expect(isPicketError(error, 'PICKET_TIMEOUT'), String(error)).toBe(true);
        timedOut++;
      }
    }
    const byUrl = new Map(client.snapshot().instances.map((i) => [i.url, i]));
    // Five attempts left unanswered, then charged ones until the detector's streak takes it out
    // (half of the 40 calls timed out, and it stayed in, when none was charged).
    expect(timedOut).toBeGreaterThan(5);
    expect(timedOut).toBeLessThanOrEqual(11);
    expect(byUrl.get(hung.url)?.state).toBe('ejected');
    expect(byUrl.get(answering.url)).toMatchObject({ state: 'healthy', failures: 0 });
  });

  it('shorter now and then: an instance that answers between them is never charged', async () => {
    let calls = 0;
    // Every third request waits past the caller's deadline; the others are answered at once.
    const sometimes = await resources.server((_req, res) => {
      if (++calls % 3 === 0) setTimeout(() => res.end('late'), 200);
      else res.end('ok');
    });
    const client = tracked({
      service: 'inventory',
      discovery: [sometimes.url],
      breaker: false,
      hedge: false,
      retry: false,
      timeout: 5_000,
    });
    let timedOut = 0;
    for (let i = 0; i < 30; i++) {
      const error = await failure(() =>
        client.request({ path: '/', timeout: 60 }).then((r) => r.body.text()),
      );
      if (error !== undefined) timedOut++;
    }
    expect(timedOut).toBe(10);
    expect(client.snapshot().instances[0]).toMatchObject({ state: 'healthy', failures: 0 });
  });
});
