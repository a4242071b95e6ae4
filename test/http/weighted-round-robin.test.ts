// Weighted round robin end to end: real servers put an ORCA `endpoint-load-metrics` header on every
// response, the client's dispatcher hands each report to the balancer (reportLoad), and once the
// blackout has passed requests follow qps / utilization.

import { weightedRoundRobin } from '@picket/core';
import { type Client, createClient } from 'picket';
import { describe, expect, it } from 'vitest';
import { testResources } from '../fixtures/http-servers.ts';

const resources = testResources();

/** An instance that answers with its name and, when given, a fixed load report. */
async function instance(name: string, report: string | undefined): Promise<string> {
  const server = await resources.server((_req, res) => {
    const headers: Record<string, string> = { 'x-server': name };
    if (report !== undefined) headers['endpoint-load-metrics'] = report;
    res.writeHead(200, headers).end(name);
  });
  return server.url;
}

/**
 * An instance that sends its fixed report only to a request that asks for one, as loadReporter
 * does by default; `asks` counts those requests.
 */
async function askedInstance(name: string, report: string) {
  const seen = { asks: 0, requests: 0 };
  const server = await resources.server((req, res) => {
    seen.requests++;
    const headers: Record<string, string> = { 'x-server': name };
    if (req.headers['endpoint-load-metrics-format'] !== undefined) {
      seen.asks++;
      headers['endpoint-load-metrics'] = report;
    }
    res.writeHead(200, headers).end(name);
  });
  return { url: server.url, seen };
}

async function send(client: Client): Promise<string> {
  const res = await client.request({ path: '/' });
  await res.body.dump();
  return String(res.headers['x-server']);
}

/** Sends until the blackout is over (a deadline on the clock, with requests flowing), then counts `n`. */
async function sharesAfter(client: Client, blackoutMs: number, n: number): Promise<Record<string, number>> {
  const until = performance.now() + blackoutMs + 300;
  while (performance.now() < until) await send(client);
  const counts: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const name = await send(client);
    counts[name] = (counts[name] ?? 0) + 1;
  }
  for (const key of Object.keys(counts)) counts[key] = counts[key]! / n;
  return counts;
}

const strategy = weightedRoundRobin({ blackoutPeriodMs: 500, weightUpdatePeriodMs: 100 });

describe('weighted round robin through createClient', () => {
  it('sends requests in proportion to rps / cpu_utilization from the response headers', async () => {
    const discovery = [
      await instance('a', 'TEXT cpu_utilization=0.2, rps_fractional=100'),
      await instance('b', 'TEXT cpu_utilization=0.4, rps_fractional=100'),
      await instance('c', 'TEXT cpu_utilization=0.8, rps_fractional=100, eps=0'),
    ];
    const client = resources.track(createClient({ service: 'wrr', discovery, strategy }));
    const shares = await sharesAfter(client, 500, 700);
    // Weights 500, 250 and 125.
    expect(Math.abs(shares.a! - 4 / 7)).toBeLessThan(0.04);
    expect(Math.abs(shares.b! - 2 / 7)).toBeLessThan(0.04);
    expect(Math.abs(shares.c! - 1 / 7)).toBeLessThan(0.04);
  });

  it('prefers application_utilization, and weighs an instance without reports at the mean', async () => {
    const discovery = [
      await instance('a', 'TEXT cpu_utilization=0.9, application_utilization=0.25, rps_fractional=100'),
      await instance('b', 'TEXT cpu_utilization=0.1, application_utilization=0.5, rps_fractional=100'),
      await instance('c', undefined),
    ];
    const client = resources.track(createClient({ service: 'wrr', discovery, strategy }));
    const shares = await sharesAfter(client, 500, 900);
    // Weights 400 and 200; the silent one gets their mean, 300.
    expect(Math.abs(shares.a! - 4 / 9)).toBeLessThan(0.04);
    expect(Math.abs(shares.b! - 2 / 9)).toBeLessThan(0.04);
    expect(Math.abs(shares.c! - 3 / 9)).toBeLessThan(0.04);
  });

  it('is plain round robin while the blackout lasts', async () => {
    const discovery = [
      await instance('a', 'TEXT cpu_utilization=0.1, rps_fractional=100'),
      await instance('b', 'TEXT cpu_utilization=0.9, rps_fractional=100'),
    ];
    const client = resources.track(
      createClient({ service: 'wrr', discovery, strategy: weightedRoundRobin({ blackoutPeriodMs: 60_000 }) }),
    );
    const counts: Record<string, number> = {};
    for (let i = 0; i < 100; i++) {
      const name = await send(client);
      counts[name] = (counts[name] ?? 0) + 1;
    }
    expect(counts).toEqual({ a: 50, b: 50 });
  });

  it('weighs instances that report only when asked, though each is asked at most once per interval', async () => {
    const a = await askedInstance('a', 'TEXT cpu_utilization=0.2, rps_fractional=100');
    const b = await askedInstance('b', 'TEXT cpu_utilization=0.6, rps_fractional=100');
    const client = resources.track(createClient({ service: 'wrr', discovery: [a.url, b.url], strategy }));
    const shares = await sharesAfter(client, 500, 400);
    // Weights 500 and 166.7.
    expect(Math.abs(shares.a! - 3 / 4)).toBeLessThan(0.04);
    expect(Math.abs(shares.b! - 1 / 4)).toBeLessThan(0.04);
    // The default interval (1 s) over the test's time, not a report per request.
    for (const { seen } of [a, b]) {
      expect(seen.asks).toBeGreaterThanOrEqual(1);
      expect(seen.asks).toBeLessThan(seen.requests / 10);
    }
  });
});
