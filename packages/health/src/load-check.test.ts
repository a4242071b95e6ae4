import { toInstance } from '@picket/core';
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

  it('passes under its limits and summarises the report', async () => {
    inFlight = 5;
    const check = loadCheck({ max: { inFlight: 10, eventLoopUtilization: 1 } });
    const result = await check.run(server.instance, never);
    await check.close?.();
    expect(result).toMatchObject({ ok: true, layer: 'load', status: 'up' });
    expect(result.reason).toMatch(
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
    expect((await judge(base, { weight: (r) => r.cpus * 10 })).weight).toBe(40);
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

  it('rejects invalid limits naming the field and value', () => {
    expect(() => loadCheck({ max: { cpu: -1 } })).toThrow(/`max.cpu` must be a non-negative number, got -1/);
    expect(() => loadCheck({ max: { cpuu: 1 } as never })).toThrow(/`max` has unknown option `cpuu`/);
  });
});
