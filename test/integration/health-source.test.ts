// The active checker's health source under any name: through the umbrella createClient, against
// node:http instances on loopback, an instance ejected by outlier detection (its requests answer
// 503, its /health 200) is back in rotation on the next passing check, as Envoy does, whether
// `health.source` keeps its default or renames it. The ejection itself would last a minute.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createClient, httpCheck } from 'picket';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../servers/wait.ts';
import { Closer, nextClientEvent } from './support.ts';

const closer = new Closer();
afterEach(() => closer.closeAll());

interface Instance {
  url: string;
  /** Status application requests answer; /health always answers 200. */
  status: number;
  /** Application requests served. */
  requests: number;
}

async function instance(): Promise<Instance> {
  const state = { url: '', status: 200, requests: 0 };
  const server: Server = createServer((req, res) => {
    req.resume();
    if (req.url !== '/health') state.requests++;
    res.statusCode = req.url === '/health' ? 200 : state.status;
    res.end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  closer.track({
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
  return state;
}

describe('health.source', () => {
  it.each(['active', 'l7'])('with %j, a passing check ends an outlier ejection', async (source) => {
    const [sick, well] = [await instance(), await instance()];
    const client = closer.track(
      createClient({
        service: 'inventory',
        discovery: [sick.url, well.url],
        strategy: 'round-robin',
        retry: false,
        outlierDetection: { baseEjectionMs: 60_000 },
        health: { check: httpCheck({ path: '/health' }), interval: 100, source },
      }),
    );
    const stateOf = (url: string) => client.snapshot().instances.find((i) => i.url === url)?.state;
    await client.ready();
    await waitFor(() => stateOf(sick.url) === 'healthy' && stateOf(well.url) === 'healthy', {
      message: 'the instances were not checked',
    });

    sick.status = 503;
    const ejected = nextClientEvent(client, 'eject', (e) => e.instance.url === sick.url);
    let out = false;
    void ejected.then(() => {
      out = true;
    });
    for (let i = 0; i < 40 && !out; i++) await (await client.request('/items')).body.dump();
    const { durationMs } = await ejected;
    expect(durationMs).toBe(60_000);

    sick.status = 200;
    await waitFor(() => stateOf(sick.url) === 'healthy', {
      timeoutMs: 10_000,
      message: `the ejected instance was not back after passing checks under source "${source}"`,
    });
    // Back in rotation: round robin sends it every other request.
    const before = sick.requests;
    for (let i = 0; i < 4; i++) {
      const res = await client.request('/items');
      await res.body.dump();
      expect(res.statusCode).toBe(200);
    }
    expect(sick.requests - before).toBe(2);
  });
});
