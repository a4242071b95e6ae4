import { toInstance } from '@picket/core/internal';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadCheck, weightFromReport } from './load-check.ts';
import type { LoadReport } from './load-report.ts';
import { type LoadReporter, loadReporter } from './reporter.ts';
import { closedPort, type TestServer, testServer } from './test-support.ts';

const never = new AbortController().signal;

const base: LoadReport = {
  status: 'up',
  cpu: 0.25,
  loadAvg1: 1,
  cpus: 4,
  eventLoopDelayMs: 2,
  eventLoopUtilization: 0.2,
  inFlight: 3,
  rssBytes: 50_000_000,
};

describe('loadCheck against a real loadReporter', () => {
  let server: TestServer;
  let reporter: LoadReporter;
  let inFlight = 0;
  beforeAll(async () => {
    server = await testServer();
    reporter = loadReporter({ inFlight: () => inFlight });
    server.handler = reporter;
  });
  afterAll(async () => {
    reporter.close();
    await server.close();
  });

  it('passes under its limits and summarises the figures it judged', async () => {
    inFlight = 5;
    const check = loadCheck({ max: { inFlight: 10, eventLoopUtilization: 1 } });
    const result = await check.run(server.instance, never);
    await check.close?.();
    expect(result).toMatchObject({ ok: true, layer: 'load', status: 'up' });
    expect(result.reason).toMatch(
      /^load: \/load in [\d.]+ ms: up \(eventLoopUtilization [\d.]+, inFlight 5\)$/,
    );
    // With no limit set, it summarises what says most about a Node server.
    const plain = loadCheck();
    const summary = await plain.run(server.instance, never);
    await plain.close?.();
    expect(summary.reason).toMatch(
      /^load: \/load in [\d.]+ ms: up \(cpu [\d.]+, eventLoopDelayMs [\d.]+, inFlight 5\)$/,
    );
  });

  it('fails over a limit, naming the figure, its value and the limit', async () => {
    inFlight = 50;
    const check = loadCheck({ max: { inFlight: 10 } });
    const result = await check.run(server.instance, never);
    await check.close?.();
    expect(result.ok).toBe(false);
    expect(result.reason).toMatch(/^load: \/load in [\d.]+ ms: over limit: inFlight 50 > 10$/);
    inFlight = 0;
  });

  it('takes the instance out when the server drains or is down (503 with a report)', async () => {
    const check = loadCheck();
    reporter.drain();
    const drained = await check.run(server.instance, never);
    expect(drained).toMatchObject({ ok: false, status: 'drain' });
    expect(drained.reason).toMatch(/: status drain$/);
    reporter.down();
    expect(await check.run(server.instance, never)).toMatchObject({ ok: false, status: 'down' });
    reporter.up();
    expect(await check.run(server.instance, never)).toMatchObject({ ok: true, status: 'up' });
    await check.close?.();
  });
});

describe('loadCheck against fixed reports', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await testServer();
    server.contentType = 'application/json';
  });
  afterEach(() => {
    server.status = 200;
  });
  afterAll(() => server.close());

  async function judge(report: unknown, options?: Parameters<typeof loadCheck>[0]) {
    server.body = typeof report === 'string' ? report : JSON.stringify(report);
    const check = loadCheck(options);
    try {
      return await check.run(server.instance, never);
    } finally {
      await check.close?.();
    }
  }

  it('carries the load for the balancer: event-loop utilization, and cpu over cpus', async () => {
    expect((await judge(base)).load).toEqual({ cpuUtilization: 0.0625, applicationUtilization: 0.2 });
    // Without cpus, cpu is taken as it is (a fraction of one core).
    const { cpus: _cpus, ...oneCore } = base;
    expect((await judge(oneCore)).load).toEqual({ cpuUtilization: 0.25, applicationUtilization: 0.2 });
    // A report of neither leaves the load out; a draining server's still counts.
    expect((await judge({ status: 'up', inFlight: 3 })).load).toBeUndefined();
    expect((await judge({ status: 'drain', cpu: 0.5, cpus: 2 })).load).toEqual({ cpuUtilization: 0.25 });
  });

  it('applies every limit, and lists each one exceeded', async () => {
    const max = {
      cpu: 0.8,
      loadAvgPerCpu: 1,
      eventLoopDelayMs: 100,
      eventLoopUtilization: 0.9,
      inFlight: 100,
    };
    expect((await judge(base, { max })).ok).toBe(true);
    const hot = {
      ...base,
      cpu: 0.93,
      loadAvg1: 6,
      eventLoopDelayMs: 250,
      eventLoopUtilization: 0.97,
      inFlight: 101,
    };
    const result = await judge(hot, { max });
    expect(result.reason).toMatch(
      /over limit: cpu 0\.93 > 0\.8, loadAvgPerCpu 1\.5 > 1, eventLoopDelayMs 250 > 100, eventLoopUtilization 0\.97 > 0\.9, inFlight 101 > 100$/,
    );
    expect((await judge({ ...base, cpu: 0.8 }, { max: { cpu: 0.8 } })).ok).toBe(true); // at the limit is not over
  });

  it('derives a weight from the report: the server’s own, else lower under higher CPU', async () => {
    expect((await judge({ ...base, cpu: 0.1 }, { weight: true })).weight).toBe(90);
    expect((await judge({ ...base, cpu: 0.9 }, { weight: true })).weight).toBe(10);
    expect((await judge({ ...base, cpu: 3 }, { weight: true })).weight).toBe(1);
    expect((await judge({ ...base, weight: 250 }, { weight: true })).weight).toBe(250);
    expect((await judge(base, { weight: (r) => (r.cpus ?? 0) * 10 })).weight).toBe(40);
    expect((await judge(base)).weight).toBeUndefined();
    const bad = await judge(base, { weight: () => -1 });
    expect(bad.ok).toBe(true);
    expect(bad.weight).toBeUndefined();
    expect(bad.reason).toMatch(/weight -1 ignored/);
    expect(weightFromReport({ ...base, cpu: 0.5 })).toBe(50);
  });

  it('fails on a body that is not a valid report, naming the field', async () => {
    const invalid = await judge({ ...base, cpu: 'high', status: 'busy' });
    expect(invalid.ok).toBe(false);
    expect(invalid.reason).toMatch(
      /status 200, invalid load report: `status` must be 'up', 'drain' or 'down', got "busy"; `cpu` must be a number, got "high"$/,
    );
    server.status = 404;
    expect((await judge('Not Found')).reason).toMatch(
      /^load: \/load in [\d.]+ ms: status 404, not a load report \(not JSON\)$/,
    );
  });

  it('ignores fields it does not know, so newer servers stay in rotation', async () => {
    expect((await judge({ ...base, gcPauseMs: 3 })).ok).toBe(true);
  });

  it('reports a refused connection and enforces its timeout', async () => {
    const port = await closedPort();
    const refused = await loadCheck().run(toInstance(`http://127.0.0.1:${port}`), never);
    expect(refused.reason).toMatch(
      /^load: connection refused \(GET \/load on 127\.0\.0\.1:\d+, [\d.]+ ms\)$/,
    );
    server.mode = 'hang';
    try {
      const check = loadCheck({ timeout: 150 });
      const hung = await check.run(server.instance, never);
      await check.close?.();
      expect(hung.reason).toBe(`load: timed out after 150 ms (GET /load on 127.0.0.1:${server.port})`);
    } finally {
      server.mode = 'answer';
    }
  });

  it('judges a report of only status and load average, saying which limits it could not judge', async () => {
    // A Java service's report: OperatingSystemMXBean's load average and processor count, and a
    // thread count that loadCheck does not know (ignored).
    const java = { status: 'up', loadAvg1: 2, cpus: 4, threads: 212 };
    const result = await judge(java, { max: { loadAvgPerCpu: 1, rssBytes: 500_000_000 } });
    expect(result).toMatchObject({ ok: true, status: 'up' });
    expect(result.reason).toMatch(
      /^load: \/load in [\d.]+ ms: up \(loadAvgPerCpu 0\.5\); not reported, so not judged: rssBytes$/,
    );
    // Without the CPU count the load average per CPU cannot be worked out: not judged either.
    const alone = await judge({ status: 'up', loadAvg1: 2 }, { max: { loadAvgPerCpu: 1 } });
    expect(alone.ok).toBe(true);
    expect(alone.reason).toMatch(/: up; not reported, so not judged: loadAvgPerCpu \(no cpus\)$/);
    // Java's OperatingSystemMXBean gives -1 where it cannot tell the load average: not reported.
    const unknown = await judge({ status: 'up', loadAvg1: -1, cpus: 4 }, { max: { loadAvgPerCpu: 1 } });
    expect(unknown.ok).toBe(true);
    expect(unknown.reason).toMatch(/: up; not reported, so not judged: loadAvgPerCpu \(no loadAvg1\)$/);
    // `null` is how many serializers write a figure they do not have: not reported, not invalid.
    const nulls = await judge({ status: 'up', cpu: null, inFlight: 4 }, { max: { cpu: 0.5, inFlight: 10 } });
    expect(nulls.ok).toBe(true);
    expect(nulls.reason).toMatch(/: up \(inFlight 4\); not reported, so not judged: cpu$/);
  });

  it('fails a report of only status and one figure over its limit', async () => {
    const result = await judge({ status: 'up', inFlight: 120 }, { max: { inFlight: 100, cpu: 0.8 } });
    expect(result).toMatchObject({ ok: false, status: 'up' });
    expect(result.reason).toMatch(/: over limit: inFlight 120 > 100; not reported, so not judged: cpu$/);
    const busy = await judge({ status: 'up', loadAvg1: 12, cpus: 4 }, { max: { loadAvgPerCpu: 2 } });
    expect(busy.ok).toBe(false);
    expect(busy.reason).toMatch(/: over limit: loadAvgPerCpu 3 > 2$/);
    const heavy = await judge({ status: 'up', rssBytes: 2_000_000_000 }, { max: { rssBytes: 1e9 } });
    expect(heavy.reason).toMatch(/: over limit: rssBytes 2000000000 > 1000000000$/);
  });

  it('passes a report of only status, ignoring fields it does not know', async () => {
    const result = await judge({ status: 'up', threads: 212, gcPauseMs: 3 });
    expect(result).toMatchObject({ ok: true, status: 'up' });
    expect(result.reason).toMatch(/^load: \/load in [\d.]+ ms: up$/);
    expect((await judge({ status: 'drain', threads: 212 })).ok).toBe(false);
  });

  it('still rejects a report without status, naming the missing field', async () => {
    const result = await judge({ loadAvg1: 2, cpus: 4 });
    expect(result.ok).toBe(false);
    expect(result.status).toBeUndefined();
    expect(result.reason).toMatch(
      /: status 200, invalid load report: `status` is required \('up', 'drain' or 'down'\), got undefined$/,
    );
  });

  it('leaves the weight alone when the report has neither weight nor cpu, and says so', async () => {
    const result = await judge({ status: 'up', inFlight: 1 }, { weight: true });
    expect(result.ok).toBe(true);
    expect(result.weight).toBeUndefined();
    expect(result.reason).toMatch(/; no weight: the report has neither weight nor cpu$/);
    expect(weightFromReport({ status: 'up' })).toBeUndefined();
  });

  it('rejects invalid limits naming the field and value', () => {
    expect(() => loadCheck({ max: { cpu: -1 } })).toThrow(/`max.cpu` must be a non-negative number, got -1/);
    expect(() => loadCheck({ max: { cpuu: 1 } as never })).toThrow(/`max` has unknown option `cpuu`/);
  });
});
