// OpenTelemetry metrics, read back from the real SDK's MeterProvider with a manual reader: per
// attempt (`http.client.request.duration`, the HTTP client conventions), per call
// (`picket.client.request.duration`), counters and gauges; the global provider by default,
// another by option, nothing with `metrics: false`.

import { metrics } from '@opentelemetry/api';
import {
  AggregationTemporality,
  type DataPoint,
  type Histogram,
  MeterProvider,
  MetricReader,
} from '@opentelemetry/sdk-metrics';
import { staticList } from '@picket/discovery';
import { createClient } from '@picket/http';
import { createClient as createHealthChecked, httpCheck } from 'picket';
import { afterEach, describe, expect, it } from 'vitest';
import { echo, status, testResources } from '../fixtures/http-servers.ts';
import { waitFor } from '../fixtures/instances.ts';

const resources = testResources();

class Reader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

interface Point {
  attributes: Record<string, unknown>;
  value: unknown;
}

async function read(reader: Reader): Promise<Map<string, Point[]>> {
  const { resourceMetrics } = await reader.collect();
  const out = new Map<string, Point[]>();
  for (const scope of resourceMetrics.scopeMetrics) {
    for (const metric of scope.metrics) {
      const points = (metric.dataPoints as DataPoint<unknown>[]).map((p) => ({
        attributes: p.attributes,
        value: p.value,
      }));
      out.set(metric.descriptor.name, [...(out.get(metric.descriptor.name) ?? []), ...points]);
    }
  }
  return out;
}

function sdk() {
  const reader = new Reader();
  const provider = new MeterProvider({ readers: [reader] });
  return { reader, provider };
}

afterEach(() => {
  metrics.disable();
});

describe('metrics', () => {
  it('records each attempt under the HTTP client conventions and each call as its caller saw it', async () => {
    const live = await resources.server(echo('a'));
    const { reader, provider } = sdk();
    const client = resources.track(
      createClient({
        service: 'inventory',
        // The refused instance first: the call takes two attempts.
        discovery: ['http://127.0.0.1:1', { url: live.url, priority: 1 }],
        breaker: false,
        metrics: { meterProvider: provider },
      }),
    );
    const res = await client.request({ path: '/items' });
    expect(res.statusCode).toBe(200);
    await res.body.dump();

    const m = await read(reader);
    const attempts = m.get('http.client.request.duration') ?? [];
    expect(attempts.map((p) => p.attributes)).toEqual(
      expect.arrayContaining([
        {
          'picket.service': 'inventory',
          'http.request.method': 'GET',
          'server.address': '127.0.0.1',
          'server.port': 1,
          'error.type': 'ECONNREFUSED',
        },
        {
          'picket.service': 'inventory',
          'http.request.method': 'GET',
          'server.address': '127.0.0.1',
          'server.port': live.port,
          'http.response.status_code': 200,
        },
      ]),
    );
    expect(attempts).toHaveLength(2);
    const [call] = m.get('picket.client.request.duration') ?? [];
    expect(call?.attributes).toEqual({
      'picket.service': 'inventory',
      'http.request.method': 'GET',
      'http.response.status_code': 200,
      'picket.attempts': 2,
    });
    expect((call?.value as Histogram | undefined)?.count).toBe(1);
    expect(m.get('picket.client.retries')?.[0]).toMatchObject({
      attributes: { 'picket.service': 'inventory', reason: 'connect' },
      value: 1,
    });
    const states = Object.fromEntries(
      (m.get('picket.client.instances') ?? []).map((p) => [p.attributes.state, p.value]),
    );
    expect(states).toMatchObject({ healthy: 2, ejected: 0 });
    const inFlight = m.get('picket.client.instance.in_flight') ?? [];
    expect(inFlight.map((p) => p.attributes['server.port']).sort()).toEqual([1, live.port].sort());
  });

  it('names a failed call by its error code, and counts breaker transitions', async () => {
    const failing = await resources.server(status(503));
    const { reader, provider } = sdk();
    const client = resources.track(
      createClient({
        service: 'inventory',
        discovery: [failing.url],
        retry: false,
        outlierDetection: false,
        breaker: { volumeThreshold: 1, errorThresholdPercentage: 1, resetTimeoutMs: 60_000 },
        metrics: { meterProvider: provider },
      }),
    );
    const first = await client.request({ path: '/' });
    await first.body.dump();
    await expect(client.request({ path: '/' })).rejects.toMatchObject({
      code: 'PICKET_NO_AVAILABLE_INSTANCE',
    });
    const m = await read(reader);
    const calls = (m.get('picket.client.request.duration') ?? []).map((p) => p.attributes);
    expect(calls).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ 'http.response.status_code': 503, 'picket.attempts': 1 }),
        expect.objectContaining({ 'error.type': 'PICKET_NO_AVAILABLE_INSTANCE', 'picket.attempts': 0 }),
      ]),
    );
    expect(m.get('picket.client.breaker.transitions')?.[0]).toMatchObject({
      attributes: { to: 'open' },
      value: 1,
    });
    const [attempt] = m.get('http.client.request.duration') ?? [];
    expect(attempt?.attributes).toMatchObject({ 'http.response.status_code': 503, 'error.type': '503' });
  });

  it('records on the global meter provider by default, and nothing with metrics: false', async () => {
    const live = await resources.server(echo('a'));
    const { reader, provider } = sdk();
    metrics.setGlobalMeterProvider(provider);
    const byDefault = resources.track(createClient({ service: 'inventory', discovery: [live.url] }));
    const off = resources.track(createClient({ service: 'orders', discovery: [live.url], metrics: false }));
    for (const c of [byDefault, off]) await (await c.request({ path: '/' })).body.dump();
    const services = new Set(
      (await read(reader)).get('picket.client.request.duration')?.map((p) => p.attributes['picket.service']),
    );
    expect(services).toEqual(new Set(['inventory']));
  });

  it('records nothing for a client made while no SDK was registered: its meter was the no-op one', async () => {
    // The API hands out no-op meters until an SDK registers, and they stay no-op: a client made
    // before then builds nothing per request, and one made after records.
    const live = await resources.server(echo('a'));
    const before = resources.track(createClient({ service: 'early', discovery: [live.url] }));
    const { reader, provider } = sdk();
    metrics.setGlobalMeterProvider(provider);
    const after = resources.track(createClient({ service: 'late', discovery: [live.url] }));
    for (const c of [before, after]) await (await c.request({ path: '/' })).body.dump();
    const read1 = await read(reader);
    for (const name of ['picket.client.request.duration', 'http.client.request.duration']) {
      const services = new Set(read1.get(name)?.map((p) => p.attributes['picket.service']));
      expect(services).toEqual(new Set(['late']));
    }
  });

  it('drops per-instance attributes and gauges with perInstance: false, and attempts with attemptDuration: false', async () => {
    const live = await resources.server(echo('a'));
    const { reader, provider } = sdk();
    const fleet = resources.track(
      createClient({
        service: 'inventory',
        discovery: [live.url],
        metrics: { meterProvider: provider, perInstance: false },
      }),
    );
    await (await fleet.request({ path: '/' })).body.dump();
    let m = await read(reader);
    expect(m.get('http.client.request.duration')?.[0]?.attributes).not.toHaveProperty('server.address');
    expect(m.has('picket.client.instance.in_flight')).toBe(false);
    expect(m.has('picket.client.instances')).toBe(true);

    const other = sdk();
    const undiciCounts = resources.track(
      createClient({
        service: 'inventory',
        discovery: [live.url],
        metrics: { meterProvider: other.provider, attemptDuration: false },
      }),
    );
    await (await undiciCounts.request({ path: '/' })).body.dump();
    m = await read(other.reader);
    expect(m.has('http.client.request.duration')).toBe(false);
    expect(m.has('picket.client.request.duration')).toBe(true);
  });

  it('rejects a meterProvider that is not one, naming the option', () => {
    expect(() =>
      createClient({ service: 's', discovery: [], metrics: { meterProvider: {} as never } }),
    ).toThrow(/`metrics.meterProvider`/);
  });

  it('counts discovery updates and active health checks by layer and result', async () => {
    const up = await resources.server(echo('up'));
    const down = await resources.server(status(503));
    const { reader, provider } = sdk();
    const discovery = staticList([up.url, down.url]);
    resources.track(
      createHealthChecked({
        service: 'inventory',
        discovery,
        health: { check: httpCheck({ path: '/health' }), interval: 50 },
        metrics: { meterProvider: provider },
      }),
    );
    discovery.set([up.url, down.url, 'http://127.0.0.1:1']);
    let checks: Point[] = [];
    await waitFor(
      async () => {
        checks = (await read(reader)).get('picket.health.checks') ?? [];
        return checks.length === 2;
      },
      'passing and failing checks to be counted',
      { timeoutMs: 10_000 },
    );
    expect(
      checks.map((p) => p.attributes).sort((a, b) => String(a.result).localeCompare(String(b.result))),
    ).toEqual([
      { 'picket.service': 'inventory', layer: 'l7', result: 'fail' },
      { 'picket.service': 'inventory', layer: 'l7', result: 'pass' },
    ]);
    const updates = (await read(reader)).get('picket.discovery.updates') ?? [];
    expect(updates[0]?.attributes).toMatchObject({ 'picket.service': 'inventory' });
    expect(updates[0]?.value).toBeGreaterThanOrEqual(1);
  });
});
