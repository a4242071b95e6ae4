import { isPicketError } from '@picket/core';
import { toInstance } from '@picket/core/internal';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allChecks } from './all-checks.ts';
import type { CheckResult, HealthCheck } from './check.ts';
import { customCheck } from './custom-check.ts';
import { httpCheck } from './http-check.ts';
import { tcpCheck } from './tcp-check.ts';
import { closedPort, type TestServer, testServer } from './test-support.ts';

const never = new AbortController().signal;
const instance = toInstance('http://127.0.0.1:9');

describe('customCheck', () => {
  it('passes on true or nothing returned, and fails on false', async () => {
    expect((await customCheck(() => true).run(instance, never)).ok).toBe(true);
    expect((await customCheck(async () => {}).run(instance, never)).ok).toBe(true);
    const failed = await customCheck(() => false, { name: 'db ping' }).run(instance, never);
    expect(failed).toMatchObject({ ok: false, layer: 'custom' });
    expect(failed.reason).toMatch(/^custom: db ping failed in [\d.]+ ms$/);
  });

  it('counts a thrown error as a failure naming the error', async () => {
    const result = await customCheck(
      async () => {
        throw new Error('ECONNREFUSED 127.0.0.1:5432');
      },
      { name: 'postgres', layer: 'l7' },
    ).run(instance, never);
    expect(result).toMatchObject({
      ok: false,
      layer: 'l7',
      reason: 'l7: postgres threw: ECONNREFUSED 127.0.0.1:5432',
    });
  });

  it('passes a fuller verdict through (reason, weight, status)', async () => {
    const result = await customCheck(() => ({
      ok: false,
      reason: 'queue depth 900',
      weight: 3,
      status: 'drain' as const,
    })).run(instance, never);
    expect(result).toMatchObject({ ok: false, weight: 3, status: 'drain' });
    expect(result.reason).toMatch(/^custom: queue depth 900 in [\d.]+ ms$/);
  });

  it('is cut off at its timeout even when the function ignores the signal', async () => {
    const result = await customCheck(() => new Promise<boolean>(() => {}), { timeout: 50 }).run(
      instance,
      never,
    );
    expect(result).toMatchObject({ ok: false, reason: 'custom: check timed out after 50 ms' });
  });

  it('gives the function the instance and a signal', async () => {
    let seen: [string, boolean] | undefined;
    await customCheck((i, signal) => {
      seen = [i.id, signal instanceof AbortSignal];
    }).run(instance, never);
    expect(seen).toEqual([instance.id, true]);
  });

  it('rejects a non-function with PICKET_INVALID_OPTIONS', () => {
    expect(() => customCheck(42 as never)).toThrow(/customCheck expects a function .*got 42/);
  });
});

describe('allChecks', () => {
  it('refuses a list with a hole, naming the index (it threw a TypeError reading `layer`)', () => {
    // biome-ignore lint/suspicious/noSparseArray: the hole is the point
    const sparse = [tcpCheck(), ,] as never;
    expect(() => allChecks(sparse)).toThrow(
      'allChecks: `[1]` must be a health check such as tcpCheck() or httpCheck(), got undefined',
    );
  });

  let server: TestServer;
  beforeAll(async () => {
    server = await testServer();
  });
  afterAll(() => server.close());

  it('runs layers in order and passes when all pass, recording each layer', async () => {
    const check = allChecks([tcpCheck(), httpCheck({ path: '/health' })]);
    const result = await check.run(server.instance, never);
    await check.close?.();
    expect(check.layer).toBe('l7');
    expect(result).toMatchObject({ ok: true, layer: 'l7' });
    expect(result.results?.map((r) => r.layer)).toEqual(['l4', 'l7']);
    expect(result.reason).toMatch(
      /^l4: connected to .* in [\d.]+ ms; l7: status 200 from \/health in [\d.]+ ms$/,
    );
    expect(result.latencyMs).toBeCloseTo(
      (result.results?.[0]?.latencyMs ?? 0) + (result.results?.[1]?.latencyMs ?? 0),
      5,
    );
  });

  it('stops at the first failing layer, and its reason names that layer', async () => {
    const port = await closedPort();
    const http = httpCheck();
    const calls: string[] = [];
    const spy: HealthCheck = {
      layer: 'l7',
      run: (i, s) => {
        calls.push(i.id);
        return http.run(i, s);
      },
    };
    const down = await allChecks([tcpCheck(), spy]).run(toInstance(`http://127.0.0.1:${port}`), never);
    expect(down).toMatchObject({ ok: false, layer: 'l4' });
    expect(down.reason).toMatch(/^l4: connection refused connecting to/);
    expect(calls).toEqual([]);
    server.status = 503;
    const sick = await allChecks([tcpCheck(), http]).run(server.instance, never);
    server.status = 200;
    await http.close?.();
    expect(sick).toMatchObject({ ok: false, layer: 'l7' });
    expect(sick.reason).toMatch(/^l7: status 503 from \/health in [\d.]+ ms$/);
  });

  it('flattens nested results and carries weight and status from any layer', async () => {
    const load: HealthCheck = {
      layer: 'load',
      run: async (): Promise<CheckResult> => ({
        ok: true,
        layer: 'load',
        reason: 'load: ok',
        latencyMs: 1,
        weight: 42,
        status: 'up',
      }),
    };
    const ok: HealthCheck = {
      layer: 'l4',
      run: async () => ({ ok: true, layer: 'l4', reason: 'l4: ok', latencyMs: 1 }),
    };
    const result = await allChecks([allChecks([ok, load]), ok]).run(instance, never);
    expect(result.results?.map((r) => r.layer)).toEqual(['l4', 'load', 'l4']);
    expect(result).toMatchObject({ ok: true, weight: 42, status: 'up', latencyMs: 3 });
  });

  it('closes every check it holds', async () => {
    let closed = 0;
    const closable: HealthCheck = {
      layer: 'l4',
      run: async () => ({ ok: true, layer: 'l4', reason: '', latencyMs: 0 }),
      close: async () => {
        closed++;
      },
    };
    await allChecks([closable, tcpCheck(), closable]).close?.();
    expect(closed).toBe(2);
  });

  it('rejects an empty list or a non-check, naming the index', () => {
    const attempt = (value: unknown) => {
      try {
        allChecks(value as HealthCheck[]);
      } catch (error) {
        expect(isPicketError(error, 'PICKET_INVALID_OPTIONS')).toBe(true);
        return (error as Error).message;
      }
      return 'no error';
    };
    expect(attempt([])).toMatch(/non-empty array of checks, got \[\]/);
    expect(attempt([tcpCheck(), 'l7'])).toMatch(/`\[1\]` must be a health check .*got "l7"/);
  });
});
