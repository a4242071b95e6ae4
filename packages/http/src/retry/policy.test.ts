import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parseClientOptions } from '../config.ts';
import { isIdempotent, isReplayableBody, retryAfterMs, statusRetryDelay } from './policy.ts';

const retry = parseClientOptions({ service: 's', discovery: [] }).retry;

describe('retry policy', () => {
  it('replays buffers and strings, never streams or iterables', () => {
    expect(isReplayableBody(undefined)).toBe(true);
    expect(isReplayableBody('x')).toBe(true);
    expect(isReplayableBody(Buffer.from('x'))).toBe(true);
    expect(isReplayableBody(new Uint8Array(2))).toBe(true);
    expect(isReplayableBody(Readable.from(['x']))).toBe(false);
    expect(isReplayableBody((async function* () {})())).toBe(false);
  });

  it('treats idempotent methods as replayable, and lets a request opt in or out', () => {
    expect(isIdempotent(retry, 'GET', undefined)).toBe(true);
    expect(isIdempotent(retry, 'PUT', undefined)).toBe(true);
    expect(isIdempotent(retry, 'POST', undefined)).toBe(false);
    expect(isIdempotent(retry, 'POST', true)).toBe(true);
    expect(isIdempotent(retry, 'GET', false)).toBe(false);
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    expect(retryAfterMs('2')).toBe(2000);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 7000)).toBe(3000);
    expect(retryAfterMs('soon')).toBe(-1);
    expect(retryAfterMs(undefined)).toBe(-1);
  });

  it('retries 502/503/504, honours a short Retry-After, and returns a long one', () => {
    expect(statusRetryDelay(retry, 503, {})).toBe(0);
    expect(statusRetryDelay(retry, 500, {})).toBe(-1);
    expect(statusRetryDelay(retry, 503, { 'retry-after': '1' })).toBe(1000);
    expect(statusRetryDelay(retry, 503, { 'retry-after': '5' })).toBe(-1);
  });

  it('retries 429 only when it says when', () => {
    expect(statusRetryDelay(retry, 429, {})).toBe(-1);
    expect(statusRetryDelay(retry, 429, { 'retry-after': '0' })).toBe(0);
    expect(statusRetryDelay({ ...retry, rateLimited: false }, 429, { 'retry-after': '0' })).toBe(-1);
  });
});
