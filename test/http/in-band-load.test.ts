// In-band load reports end to end: loadReporter adds `endpoint-load-metrics` to the responses of
// requests that ask for it, a client with `loadReports` asks each instance at most once per
// interval, and an instance whose report is over a limit leaves rotation at once.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadReporter } from '@picket/health';
import { type ClientOptions, createClient } from '@picket/http';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { testResources } from '../fixtures/http-servers.ts';
import { waitFor } from '../fixtures/instances.ts';

const resources = testResources();
const servers: Server[] = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

/** An instance behind loadReporter, whose in-flight figure the test sets. */
async function instance(name: string, load: { inFlight: number }) {
  const reporter = loadReporter({ inFlight: () => load.inFlight, sampleIntervalMs: 50 });
  const headersSeen: Array<string | undefined> = [];
  const server = createServer((req, res) =>
    reporter(req, res, () => {
      headersSeen.push(req.headers['endpoint-load-metrics-format'] as string | undefined);
      res.writeHead(200, { 'x-server': name }).end(name);
    }),
  );
  servers.push(server);
  server.on('close', () => reporter.close());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, headersSeen };
}

async function served(client: ReturnType<typeof createClient>, n: number): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const res = await client.request({ path: '/' });
    const name = String(res.headers['x-server']);
    counts[name] = (counts[name] ?? 0) + 1;
    await res.body.dump();
  }
  return counts;
}

/** A round-robin client over `urls` that reads load reports. */
function reading(urls: string[], loadReports: NonNullable<ClientOptions['loadReports']>) {
  return resources.track(
    createClient({ service: 'inventory', discovery: urls, strategy: 'round-robin', loadReports }),
  );
}

describe('in-band load reports', () => {
  it('the reporter answers a request that asks with the report, in TEXT or JSON, and only then', async () => {
    const a = await instance('a', { inFlight: 3 });
    const asked = await fetch(a.url, { headers: { 'endpoint-load-metrics-format': 'TEXT' } });
    expect(asked.headers.get('endpoint-load-metrics')).toMatch(
      /^TEXT cpu_utilization=[\d.]+, mem_utilization=[\d.]+, application_utilization=[\d.]+, rps_fractional=[\d.]+, eps=[\d.]+, named_metrics.event_loop_delay_ms=[\d.]+, named_metrics.in_flight=3$/,
    );
    const json = await fetch(a.url, { headers: { 'endpoint-load-metrics-format': 'JSON' } });
    expect(JSON.parse(json.headers.get('endpoint-load-metrics')!.slice(5)).named_metrics.in_flight).toBe(3);
    const plain = await fetch(a.url);
    expect(plain.headers.get('endpoint-load-metrics')).toBeNull();
    await Promise.all([asked.text(), json.text(), plain.text()]);
  });

  it('an instance whose report is over a limit leaves rotation at once; without loadReports nothing is asked', async () => {
    const busy = { inFlight: 0 };
    const a = await instance('a', busy);
    const b = await instance('b', { inFlight: 0 });
    const client = reading([a.url, b.url], { max: { inFlight: 10 }, intervalMs: 0 });
    expect(await served(client, 10)).toEqual({ a: 5, b: 5 });
    expect(a.headersSeen.every((h) => h === 'TEXT')).toBe(true);
    busy.inFlight = 50;
    // The figures change once per sample window (50 ms): the first report of the next window from
    // a is over the limit, and from then on b serves everything.
    const view = () => client.snapshot().instances.find((i) => i.url === a.url);
    await waitFor(
      async () => {
        await served(client, 1);
        return view()?.state === 'unhealthy';
      },
      'a report over the limit to take a out',
      { timeoutMs: 10_000 },
    );
    expect(await served(client, 10)).toEqual({ b: 10 });
    expect(view()?.health['load-report']?.reason).toMatch(/in_flight 50 > 10/);

    const plain = resources.track(createClient({ service: 'inventory', discovery: [b.url] }));
    const before = b.headersSeen.length;
    await served(plain, 2);
    expect(b.headersSeen.slice(before)).toEqual([undefined, undefined]);
  });

  it('asks each instance on its first request, then not again until loadReports.intervalMs has passed', async () => {
    // Only the clock is fake (the client's and the balancer's performance.now); sockets and the
    // reporter's timers are real.
    vi.useFakeTimers({ toFake: ['performance'] });
    const a = await instance('a', { inFlight: 0 });
    const b = await instance('b', { inFlight: 0 });
    const client = reading([a.url, b.url], {});
    expect(await served(client, 6)).toEqual({ a: 3, b: 3 });
    expect(a.headersSeen).toEqual(['TEXT', undefined, undefined]);
    expect(b.headersSeen).toEqual(['TEXT', undefined, undefined]);
    vi.advanceTimersByTime(999);
    await served(client, 2);
    expect([a.headersSeen[3], b.headersSeen[3]]).toEqual([undefined, undefined]);
    vi.advanceTimersByTime(1000);
    await served(client, 4);
    expect(a.headersSeen.slice(4)).toEqual(['TEXT', undefined]);
    expect(b.headersSeen.slice(4)).toEqual(['TEXT', undefined]);

    const every = resources.track(
      createClient({ service: 'inventory', discovery: [a.url], loadReports: { intervalMs: 0 } }),
    );
    await served(every, 3);
    expect(a.headersSeen.slice(6)).toEqual(['TEXT', 'TEXT', 'TEXT']);
  });
});
