// A call that received a response returns the last response when it runs out of instances to
// retry on: when the breakers of all of them open mid-retry, or the retries that follow a 503
// end on transport errors.

import { createClient } from '@picket/http';
import { describe, expect, it } from 'vitest';
import { testClients } from '../fixtures/clients.ts';
import { testResources } from '../fixtures/http-servers.ts';

const resources = testResources({ destroy: true });
const { inOrder } = testClients(resources);

const busy = () =>
  resources.server((_req, res) => {
    res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '0' }).end('busy, try later');
  });

describe('the last response', () => {
  it('is the answer when every breaker opens mid-retry', async () => {
    const servers = await Promise.all([busy(), busy()]);
    const client = resources.track(
      createClient({
        service: 'inventory',
        discovery: servers.map((s) => s.url),
        outlierDetection: false,
        // One 503 opens an instance's breaker: the third attempt finds both open.
        breaker: { volumeThreshold: 1, errorThresholdPercentage: 1, resetTimeoutMs: 60_000 },
        retry: { retries: 3, backoff: { baseMs: 1, maxMs: 1 } },
      }),
    );
    const res = await client.request({ path: '/' });
    expect(res.statusCode).toBe(503);
    expect(res.headers['content-type']).toBe('text/plain');
    expect(await res.body.text()).toBe('busy, try later');
    expect(servers.map((s) => s.requests)).toEqual([1, 1]);
  });

  it('is the answer when the retries after a 503 end on a refused connection', async () => {
    const server = await busy();
    // The 503 first, then the backup, which refuses: no retries are left after it.
    const client = inOrder(
      server,
      { url: 'http://127.0.0.1:1' },
      {
        outlierDetection: false,
        retry: { retries: 1, backoff: { baseMs: 1, maxMs: 1 } },
      },
    );
    for (let i = 0; i < 3; i++) {
      const res = await client.request({ path: '/' });
      expect(res.statusCode).toBe(503);
      expect(await res.body.text()).toBe('busy, try later');
    }
    expect(server.requests).toBe(3);
  });
});
