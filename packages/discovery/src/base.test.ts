import { isPicketError, PicketError } from '@picket/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { backoff } from './backoff.ts';
import { createProvider, type ProviderContext, retryLoop } from './base.ts';
import type { ProviderEvents } from './provider.ts';

function capture(provider: ReturnType<typeof createProvider>) {
  const events = {
    snapshots: [] as ProviderEvents['snapshot'][],
    errors: [] as ProviderEvents['discovery-error'][],
    invalid: [] as ProviderEvents['invalid-record'][],
  };
  provider.on('snapshot', (e) => events.snapshots.push(e));
  provider.on('discovery-error', (e) => events.errors.push(e));
  provider.on('invalid-record', (e) => events.invalid.push(e));
  return events;
}

function withContext(secrets: string[] = []) {
  let ctx!: ProviderContext;
  const run = vi.fn((c: ProviderContext) => {
    ctx = c;
  });
  const provider = createProvider({ name: 'test', run, secrets: () => secrets });
  const events = capture(provider);
  provider.start();
  return { provider, events, run, ctx: () => ctx };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('createProvider', () => {
  it('refuses a spec that is not one, typed and by field (null threw a TypeError)', () => {
    expect(() => createProvider(null as never)).toThrow(/^Invalid provider spec: /);
    expect(() => createProvider({ name: 'x' } as never)).toThrow(
      'Invalid provider spec: `run` must be a function, got undefined',
    );
    expect(() => createProvider({ name: '', run: () => {} })).toThrow('`name` must not be empty');
  });

  it('runs once however often start() is called, and not before', () => {
    const run = vi.fn();
    const provider = createProvider({ name: 'test', run });
    expect(run).not.toHaveBeenCalled();
    provider.start();
    provider.start();
    expect(run).toHaveBeenCalledTimes(1);
  });

  it('publishes valid records and skips and reports invalid ones with the reason', () => {
    const { provider, events, ctx } = withContext();
    ctx().publish(['http://10.0.0.1:80', 'ftp://10.0.0.2', { host: '10.0.0.3', port: 70000 }]);
    expect(provider.current()?.map((i) => i.url)).toEqual(['http://10.0.0.1:80']);
    expect(events.snapshots).toHaveLength(1);
    expect(events.invalid.map((e) => e.reason)).toEqual([
      expect.stringContaining('ftp:'),
      expect.stringContaining('`port`'),
    ]);
    expect(events.invalid[0]?.provider).toBe('test');
  });

  it('skips a record whose metadata JSON cannot hold, saying which field', () => {
    const { provider, events, ctx } = withContext();
    ctx().publish(['http://10.0.0.1:80', { url: 'http://10.0.0.2:80', metadata: { n: 1n } }]);
    expect(provider.current()?.map((i) => i.url)).toEqual(['http://10.0.0.1:80']);
    expect(events.invalid.map((e) => e.reason)).toEqual([
      '`metadata.n` must be JSON data, not a BigInt, got 1n',
    ]);
  });

  it('reports an invalid record once while it stays, and again when it comes back', () => {
    const { events, ctx } = withContext();
    ctx().publish(['http://a:1', 'bad']);
    ctx().publish(['http://a:1', 'bad']);
    expect(events.invalid).toHaveLength(1);
    ctx().publish(['http://a:1']);
    ctx().publish(['http://a:1', 'bad']);
    expect(events.invalid).toHaveLength(2);
  });

  it('does not re-emit an unchanged snapshot, but does emit a changed one', () => {
    const { events, ctx } = withContext();
    ctx().publish(['http://a:1', { url: 'http://b:1', metadata: { v: 1 } }]);
    ctx().publish(['http://a:1', { url: 'http://b:1', metadata: { v: 1 } }]);
    expect(events.snapshots).toHaveLength(1);
    ctx().publish(['http://a:1', { url: 'http://b:1', metadata: { v: 2 } }]);
    ctx().publish(['http://a:1', { url: 'http://b:1', metadata: { v: 2 }, weight: 3 }]);
    expect(events.snapshots).toHaveLength(3);
  });

  it('reuses the instance of a record that is unchanged since the last round', () => {
    const { provider, ctx } = withContext();
    ctx().publish(['http://a:1', { url: 'http://b:1', metadata: { v: 1 } }]);
    const [a1, b1] = provider.current()!;
    ctx().publish(['http://a:1', { url: 'http://b:1', metadata: { v: 2 } }]);
    const [a2, b2] = provider.current()!;
    expect(a2).toBe(a1);
    expect(b2).not.toBe(b1);
    expect(b2?.metadata).toEqual({ v: 2 });
  });

  it('publishes an empty snapshot when the registry says there are none', () => {
    const { provider, events, ctx } = withContext();
    ctx().publish([]);
    expect(provider.current()).toEqual([]);
    expect(events.snapshots).toHaveLength(1);
  });

  it('keeps the last good snapshot on failure, reports it, and clears the error on recovery', () => {
    const { provider, events, ctx } = withContext();
    ctx().publish(['http://a:1']);
    const error = ctx().fail(new Error('connection refused'), 'listing');
    expect(isPicketError(error, 'PICKET_DISCOVERY_FAILED')).toBe(true);
    expect(error.message).toBe('test: listing: connection refused');
    expect(provider.current()?.map((i) => i.id)).toEqual(['http://a:1']);
    expect(provider.lastError()).toBe(error);
    expect(events.errors).toEqual([{ error, provider: 'test' }]);
    // Same list again: the recovery is announced with a snapshot all the same.
    ctx().publish(['http://a:1']);
    expect(provider.lastError()).toBeUndefined();
    expect(events.snapshots).toHaveLength(2);
  });

  it('refuses an answer over maxRecords and keeps the last snapshot', () => {
    let ctx!: ProviderContext;
    const provider = createProvider({
      name: 'test',
      limits: { maxRecords: 2, maxRecordBytes: 1000 },
      run: (c) => {
        ctx = c;
      },
    });
    const events = capture(provider);
    provider.start();
    ctx.publish(['http://a:1']);
    expect(ctx.publish(['http://a:1', 'http://b:1', 'http://c:1'])).toBe(false);
    expect(provider.current()).toHaveLength(1);
    expect(events.errors[0]?.error.message).toContain('maxRecords');
  });

  it('skips a record larger than maxRecordBytes', () => {
    let ctx!: ProviderContext;
    const provider = createProvider({
      name: 'test',
      limits: { maxRecords: 10, maxRecordBytes: 100 },
      run: (c) => {
        ctx = c;
      },
    });
    const events = capture(provider);
    provider.start();
    ctx.publish(['http://a:1', { url: 'http://b:1', metadata: { blob: 'x'.repeat(200) } }]);
    expect(provider.current()).toHaveLength(1);
    expect(events.invalid[0]?.reason).toMatch(/more than the 100 allowed/);
  });

  it('skips a later record with an id already used, and reports it', () => {
    const { provider, events, ctx } = withContext();
    ctx().publish(['http://a:1', { url: 'http://b:1', id: 'x' }, { url: 'http://c:1', id: 'x' }]);
    expect(provider.current()?.map((i) => i.url)).toEqual(['http://a:1', 'http://b:1']);
    expect(events.invalid[0]?.reason).toContain('"x" is used by an earlier record');
  });

  it('masks secrets in error messages and causes', () => {
    const { events, ctx } = withContext(['s3cret-token']);
    ctx().fail(new Error('denied for s3cret-token', { cause: new Error('token s3cret-token') }), 'auth');
    const error = events.errors[0]!.error;
    expect(error.message).not.toContain('s3cret-token');
    expect(String((error.cause as Error).message)).not.toContain('s3cret-token');
    expect(String(((error.cause as Error).cause as Error).message)).not.toContain('s3cret-token');
  });

  it('passes a discovery error through unchanged when no context is added', () => {
    const { events, ctx } = withContext();
    const original = new PicketError('PICKET_DISCOVERY_FAILED', 'x');
    expect(ctx().fail(original)).toBe(original);
    expect(events.errors[0]?.error).toBe(original);
  });

  it('reports a rejected run() as a discovery error', async () => {
    const provider = createProvider({
      name: 'test',
      run: async () => {
        throw new Error('boom');
      },
    });
    const events = capture(provider);
    provider.start();
    await vi.waitFor(() => expect(events.errors).toHaveLength(1));
    expect(provider.lastError()?.message).toContain('boom');
    await provider.close();
  });

  it('keeps delivering events when a listener throws', () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const { provider, events, ctx } = withContext();
    provider.on('snapshot', () => {
      throw new Error('listener bug');
    });
    ctx().publish(['http://a:1']);
    ctx().publish(['http://b:1']);
    expect(events.snapshots).toHaveLength(2);
    warn.mockRestore();
  });

  it('close() aborts, cancels sleeps and timers, runs closers in reverse, and is idempotent', async () => {
    vi.useFakeTimers();
    const order: string[] = [];
    let slept: Promise<boolean> | undefined;
    const fired = vi.fn();
    const provider = createProvider({
      name: 'test',
      run: async (ctx) => {
        ctx.onClose(() => {
          order.push('first');
        });
        ctx.onClose(async () => {
          order.push('second');
        });
        ctx.setTimer(fired, 1000);
        slept = ctx.sleep(60_000);
        await slept;
        order.push('run-ended');
        ctx.publish(['http://late:1']);
      },
    });
    const events = capture(provider);
    provider.start();
    const closing = provider.close();
    expect(provider.close()).toBe(closing);
    await closing;
    expect(await slept).toBe(false);
    expect(order).toEqual(['run-ended', 'second', 'first']);
    vi.advanceTimersByTime(2000);
    expect(fired).not.toHaveBeenCalled();
    expect(vi.getTimerCount()).toBe(0);
    expect(events.snapshots).toHaveLength(0);
    provider.start();
    expect(provider.current()).toBeUndefined();
  });
});

describe('retryLoop', () => {
  it('backs off after failures, resets after a success, and stops on close', async () => {
    vi.useFakeTimers();
    const calls: number[] = [];
    let outcome: 'fail' | 'ok' = 'fail';
    const provider = createProvider({
      name: 'loop',
      run: (ctx) =>
        retryLoop(
          ctx,
          backoff({ initialMs: 100, maxMs: 400 }, () => 1),
          async () => {
            calls.push(Date.now());
            if (outcome === 'fail') throw new Error('down');
            return 1000;
          },
        ),
    });
    const events = capture(provider);
    const start = Date.now();
    provider.start();
    await vi.advanceTimersByTimeAsync(0);
    await vi.advanceTimersByTimeAsync(100 + 200 + 400 + 400);
    expect(calls.map((t) => t - start)).toEqual([0, 100, 300, 700, 1100]);
    expect(events.errors).toHaveLength(5);
    outcome = 'ok';
    await vi.advanceTimersByTimeAsync(400);
    await vi.advanceTimersByTimeAsync(1000);
    expect(calls.map((t) => t - start).slice(5)).toEqual([1500, 2500]);
    outcome = 'fail';
    await vi.advanceTimersByTimeAsync(1000);
    await vi.advanceTimersByTimeAsync(100);
    // After the success the backoff started over at 100 ms.
    expect(calls.map((t) => t - start).slice(7)).toEqual([3500, 3600]);
    await provider.close();
    const count = calls.length;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(calls).toHaveLength(count);
  });
});
