import { afterEach, describe, expect, it, vi } from 'vitest';
import { isPicketError } from './errors.ts';
import { sleep } from './sleep.ts';

afterEach(() => {
  vi.useRealTimers();
});

describe('sleep', () => {
  it('resolves after the delay and not before', async () => {
    vi.useFakeTimers();
    let done = false;
    const slept = sleep(1000).then(() => {
      done = true;
    });
    await vi.advanceTimersByTimeAsync(999);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await slept;
    expect(done).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('rejects with the signal’s own reason when aborted, and clears its timer', async () => {
    vi.useFakeTimers();
    const abort = new AbortController();
    const slept = sleep(60_000, { signal: abort.signal });
    expect(vi.getTimerCount()).toBe(1);
    const reason = new Error('closing');
    abort.abort(reason);
    await expect(slept).rejects.toBe(reason);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('rejects at once, starting no timer, when the signal has already aborted', async () => {
    vi.useFakeTimers();
    const reason = new Error('gone');
    const slept = sleep(1000, { signal: AbortSignal.abort(reason) });
    expect(vi.getTimerCount()).toBe(0);
    await expect(slept).rejects.toBe(reason);
  });

  it('removes its abort listener when the delay passes', async () => {
    vi.useFakeTimers();
    const abort = new AbortController();
    const slept = sleep(10, { signal: abort.signal });
    await vi.advanceTimersByTimeAsync(10);
    await slept;
    // Aborting later settles nothing and throws nothing.
    abort.abort(new Error('late'));
    await expect(slept).resolves.toBeUndefined();
  });

  it('is unref’d unless asked to keep the process alive', () => {
    const made: NodeJS.Timeout[] = [];
    const real = globalThis.setTimeout;
    const spy = vi.spyOn(globalThis, 'setTimeout').mockImplementation(((fn: () => void, ms: number) => {
      const t = real(fn, ms);
      made.push(t);
      return t;
    }) as typeof setTimeout);
    const abort = new AbortController();
    const a = sleep(5000, { signal: abort.signal });
    const b = sleep(5000, { signal: abort.signal, ref: true });
    spy.mockRestore();
    expect(made.map((t) => t.hasRef())).toEqual([false, true]);
    abort.abort();
    return Promise.allSettled([a, b]);
  });

  it.each([
    [-1, 'got -1'],
    [2 ** 31, 'got 2147483648'],
    [Number.NaN, 'got NaN'],
    [Number.POSITIVE_INFINITY, 'got Infinity'],
    ['10', 'got "10"'],
  ])('rejects a delay of %s with a typed error naming it', async (ms, got) => {
    const error = await sleep(ms as number).catch((e: unknown) => e);
    expect(isPicketError(error, 'PICKET_INVALID_OPTIONS')).toBe(true);
    expect((error as Error).message).toBe(
      `sleep: \`ms\` must be a number of milliseconds from 0 to 2147483647, ${got}`,
    );
  });

  it('rejects a signal that is not an AbortSignal', async () => {
    await expect(sleep(1, { signal: {} as AbortSignal })).rejects.toThrowError(
      'sleep: `signal` must be an AbortSignal, got {}',
    );
  });
});
