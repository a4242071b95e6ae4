import { isPicketError } from '@picket/core';
import { describe, expect, it } from 'vitest';
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
