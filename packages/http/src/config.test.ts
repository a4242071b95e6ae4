import { isPicketError } from '@picket/core';
import { describe, expect, it } from 'vitest';
import { createClient } from './client.ts';
import { parseClientOptions } from './config.ts';

function invalid(options: unknown): string {
  try {
    parseClientOptions(options);
  } catch (error) {
    expect(isPicketError(error, 'PICKET_INVALID_OPTIONS')).toBe(true);
    return (error as Error).message;
  }
  throw new Error('expected PICKET_INVALID_OPTIONS');
}

const ok = { service: 'inventory', discovery: ['http://127.0.0.1:8001'] };

describe('parseClientOptions', () => {
  it('fills every default', () => {
    const config = parseClientOptions(ok);
    expect(config.timeout).toBe(30_000);
    expect(config.perTryTimeout).toBeUndefined();
    expect(config.retry.retries).toBe(2);
    expect(config.retry.sameInstance).toBe(0);
    expect([...config.retry.methods]).toEqual(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);
    expect([...config.retry.statuses]).toEqual([502, 503, 504]);
    expect(config.retry.backoff).toEqual({ baseMs: 25, maxMs: 250 });
    expect(config.retry.budget).toEqual({ percent: 20, minPerSecond: 10, windowMs: 10_000 });
    expect(config.pool.connectTimeout).toBe(2000);
    expect(config.hedge).toBe(false);
    expect(config.breaker).toMatchObject({ errorThresholdPercentage: 50, volumeThreshold: 10 });
    expect(config.balancer).toEqual({ strategy: 'peak-ewma' });
  });

  it('accepts 0 where 0 means something (no `||` defaults)', () => {
    const config = parseClientOptions({
      ...ok,
      retry: { retries: 0, budget: { percent: 0, minPerSecond: 0 } },
    });
    expect(config.retry.retries).toBe(0);
    expect(config.retry.budget).toMatchObject({ percent: 0, minPerSecond: 0 });
  });

  it('names an instance URL that is not a URL, with its index and value', () => {
    const message = invalid({ service: 'inventory', discovery: ['http://127.0.0.1:8001', 'not a url'] });
    expect(message).toContain('`discovery[1]`');
    expect(message).toContain('not a url');
  });

  it('names retry.retries: -1', () => {
    const message = invalid({ ...ok, retry: { retries: -1 } });
    expect(message).toContain('`retry.retries`');
    expect(message).toContain('-1');
  });

  it('names an unknown strategy', () => {
    const message = invalid({ ...ok, strategy: 'fastest' });
    expect(message).toContain('`strategy`');
    expect(message).toContain('"fastest"');
    expect(message).toContain("'peak-ewma'");
  });

  it('names a missing service', () => {
    const message = invalid({ discovery: ['http://127.0.0.1:8001'] });
    expect(message).toContain('`service`');
    expect(message).toContain('undefined');
  });

  it('rejects unknown options by name', () => {
    expect(invalid({ ...ok, retires: 3 })).toContain('`retires`');
  });

  it('rejects a hedge delay that is neither a number nor p95', () => {
    expect(invalid({ ...ok, hedge: { delayMs: 'p99' } })).toContain('`hedge.delayMs`');
  });

  it('passes balancer layers through untouched', () => {
    const config = parseClientOptions({ ...ok, strategy: 'round-robin', panicThreshold: 30, zone: 'eu-1' });
    expect(config.balancer).toEqual({ strategy: 'round-robin', panicThreshold: 30, zone: 'eu-1' });
  });

  it('accepts a discovery provider by its shape', () => {
    const provider = {
      start() {},
      on: () => () => {},
      current: () => undefined,
      lastError: () => undefined,
      close: async () => {},
    };
    expect(parseClientOptions({ service: 'inventory', discovery: provider }).discovery).toBe(provider);
  });
});

describe('durations (Picket’s one rule: 0 to 2147483647 ms, the longest a Node timer holds)', () => {
  const BAD: [unknown, string][] = [
    [3e9, '3000000000'],
    [Infinity, 'Infinity'],
    [NaN, 'NaN'],
    [-1, '-1'],
    ['5000', '"5000"'],
  ];
  const RULE = 'must be a number of milliseconds from 1 to 2147483647';
  const at = (path: string, value: unknown): Record<string, unknown> => {
    if (path === 'timeout') return { timeout: value };
    if (path === 'breaker.resetTimeoutMs') return { breaker: { resetTimeoutMs: value } };
    return { hedge: { delayMs: value } };
  };

  for (const path of ['timeout', 'breaker.resetTimeoutMs', 'hedge.delayMs']) {
    it(`createClient refuses \`${path}\` beyond a timer, infinite, NaN, negative or a string, naming it`, () => {
      for (const [value, shown] of BAD) {
        let error: unknown;
        try {
          createClient({ ...ok, ...at(path, value) } as never);
        } catch (e) {
          error = e;
        }
        expect(isPicketError(error, 'PICKET_INVALID_OPTIONS')).toBe(true);
        const rule = path === 'hedge.delayMs' ? `${RULE}, or 'p95'` : RULE;
        expect((error as Error).message).toBe(`Invalid client options: \`${path}\` ${rule}, got ${shown}`);
      }
    });
  }

  it('accepts 2147483647 in each, and 0 where 0 means none (bodyTimeout) or never (maxRetryAfterMs)', () => {
    const config = parseClientOptions({
      ...ok,
      timeout: 2147483647,
      breaker: { resetTimeoutMs: 2147483647 },
      hedge: { delayMs: 2147483647 },
      retry: { maxRetryAfterMs: 0 },
      pool: { bodyTimeout: 0 },
    });
    expect(config.timeout).toBe(2147483647);
    expect(config.breaker).toMatchObject({ resetTimeoutMs: 2147483647 });
    expect(config.hedge).toMatchObject({ delayMs: 2147483647 });
    expect(config.retry.maxRetryAfterMs).toBe(0);
    expect(config.pool.bodyTimeout).toBe(0);
  });

  it('refuses every other duration option past the limit, by its path', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ perTryTimeout: 3e9 }, 'perTryTimeout'],
      [{ retry: { backoff: { baseMs: 3e9 } } }, 'retry.backoff.baseMs'],
      [{ retry: { maxRetryAfterMs: 3e9 } }, 'retry.maxRetryAfterMs'],
      [{ retry: { budget: { windowMs: 3e9 } } }, 'retry.budget.windowMs'],
      [{ breaker: { windowMs: 3e9 } }, 'breaker.windowMs'],
      [{ pool: { keepAliveTimeout: 3e9 } }, 'pool.keepAliveTimeout'],
      [{ pool: { connectTimeout: 3e9 } }, 'pool.connectTimeout'],
      [{ pool: { bodyTimeout: 3e9 } }, 'pool.bodyTimeout'],
      [{ slowStart: { windowMs: 3e9 } }, 'slowStart.windowMs'],
      [{ outlierDetection: { baseEjectionMs: 3e9 } }, 'outlierDetection.baseEjectionMs'],
    ];
    for (const [options, path] of cases) {
      expect(() => createClient({ ...ok, ...options } as never)).toThrow(
        new RegExp(
          `\`${path.replace(/\./g, '\\.')}\` must be a number of milliseconds from [01] to 2147483647, got 3000000000`,
        ),
      );
    }
  });
});

describe('one rule per option, shared with the balancer', () => {
  it('refuses a strategy object without a name as a client option (it passed, and the balancer said "Invalid input")', () => {
    expect(invalid({ ...ok, strategy: { create() {} } })).toBe(
      "Invalid client options: `strategy` must be one of 'round-robin', 'random', 'least-request', 'peak-ewma', " +
        "'weighted-response-time', 'ring-hash', 'maglev', 'weighted-round-robin', or a strategy factory, got {}",
    );
  });

  it.each([
    [{ retry: { budget: { percent: 101 } } }, 'retry.budget.percent'],
    [{ breaker: { errorThresholdPercentage: 101 } }, 'breaker.errorThresholdPercentage'],
  ])('says every percentage the same way as the balancer: %j', (options, path) => {
    // The client's own percentages said "between 0 and 100", the balancer's "from 0 to 100".
    expect(invalid({ ...ok, ...options })).toBe(
      `Invalid client options: \`${path}\` must be a percentage from 0 to 100, got 101`,
    );
  });

  it('says every non-negative number the same way (a load limit said "must not be negative")', () => {
    expect(invalid({ ...ok, loadReports: { max: { cpuUtilization: -1 } } })).toBe(
      'Invalid client options: `loadReports.max.cpuUtilization` must be a non-negative number, got -1',
    );
    expect(invalid({ ...ok, retry: { budget: { minPerSecond: -1 } } })).toBe(
      'Invalid client options: `retry.budget.minPerSecond` must be a non-negative number, got -1',
    );
  });

  it('fills the budget from its own defaults, whether `retry` or `retry.budget` is left out', () => {
    const expected = { percent: 20, minPerSecond: 10, windowMs: 10_000 };
    expect(parseClientOptions(ok).retry.budget).toEqual(expected);
    expect(parseClientOptions({ ...ok, retry: { budget: {} } }).retry.budget).toEqual(expected);
    expect(parseClientOptions({ ...ok, retry: { budget: { percent: 5 } } }).retry.budget).toEqual({
      ...expected,
      percent: 5,
    });
  });
});
