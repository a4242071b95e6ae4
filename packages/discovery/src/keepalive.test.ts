import { isPicketError } from '@picket/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createBackoff } from './backoff.ts';
import { createKeepAliveRegistrar, type KeepAliveSpec } from './keepalive.ts';
import type { RegistrarEvents } from './registrar.ts';

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

function setup(overrides: Partial<KeepAliveSpec> = {}) {
  const calls: string[] = [];
  const spec: KeepAliveSpec = {
    name: 'test-registrar',
    intervalMs: 1_000,
    backoff: createBackoff({ initialMs: 100, maxMs: 5_000, factor: 2 }, () => 1),
    deregisterTimeoutMs: 500,
    register: vi.fn(async () => {
      calls.push('register');
    }),
    renew: vi.fn(async () => {
      calls.push('renew');
      return true;
    }),
    deregister: vi.fn(async () => {
      calls.push('deregister');
    }),
    dispose: vi.fn(async () => {
      calls.push('dispose');
    }),
    ...overrides,
  };
  const registrar = createKeepAliveRegistrar(spec);
  const errors: RegistrarEvents['registration-error'][] = [];
  const registered: RegistrarEvents['registered'][] = [];
  registrar.on('registration-error', (e) => errors.push(e));
  registrar.on('registered', (e) => registered.push(e));
  return { registrar, spec, calls, errors, registered };
}

describe('createKeepAliveRegistrar', () => {
  it('does nothing until start(), then registers and renews once per interval', async () => {
    const { registrar, calls } = setup();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(calls).toEqual([]);
    await registrar.start();
    expect(registrar.registered()).toBe(true);
    await vi.advanceTimersByTimeAsync(999);
    expect(calls).toEqual(['register']);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toEqual(['register', 'renew']);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(calls).toEqual(['register', 'renew', 'renew', 'renew']);
    await registrar.close();
  });

  it('registers again at once when a renewal finds the registration forgotten', async () => {
    let known = true;
    const { registrar, calls, registered } = setup({
      renew: async () => {
        calls.push('renew');
        return known;
      },
    });
    await registrar.start();
    known = false;
    await vi.advanceTimersByTimeAsync(1_000);
    expect(calls).toEqual(['register', 'renew', 'register']);
    expect(registered).toHaveLength(2);
    await registrar.close();
  });

  it('retries a failing registration with backoff, reporting each failure, and resolves start() on success', async () => {
    let failures = 3;
    const { registrar, errors, calls } = setup({
      register: async () => {
        calls.push('register');
        if (failures-- > 0) throw new Error('agent unreachable');
      },
    });
    let done = false;
    const started = registrar.start().then(() => {
      done = true;
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.error.code).toBe('PICKET_DISCOVERY_FAILED');
    expect(errors[0]?.error.message).toContain('registration failed: agent unreachable');
    await vi.advanceTimersByTimeAsync(100 + 200 - 1);
    expect(calls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1 + 400);
    await started;
    expect(done).toBe(true);
    expect(calls).toHaveLength(4);
    expect(errors).toHaveLength(3);
    await registrar.close();
  });

  it('retries a failed renewal sooner than the interval, but never later', async () => {
    let fail = true;
    const { registrar, calls, errors } = setup({
      intervalMs: 300,
      backoff: createBackoff({ initialMs: 1_000, maxMs: 5_000, factor: 2 }, () => 1),
      renew: async () => {
        calls.push('renew');
        if (fail) throw new Error('timeout');
        return true;
      },
    });
    await registrar.start();
    await vi.advanceTimersByTimeAsync(300);
    expect(errors).toHaveLength(1);
    fail = false;
    // The backoff says 1000 ms; the renewal interval (300 ms) wins.
    await vi.advanceTimersByTimeAsync(300);
    expect(calls).toEqual(['register', 'renew', 'renew']);
    expect(registrar.registered()).toBe(true);
    await registrar.close();
  });

  it('deregisters and disposes on close(), once however often it is called, and stops renewing', async () => {
    const { registrar, calls } = setup();
    await registrar.start();
    await Promise.all([registrar.close(), registrar.close()]);
    expect(calls).toEqual(['register', 'deregister', 'dispose']);
    expect(registrar.registered()).toBe(false);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(calls).toEqual(['register', 'deregister', 'dispose']);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('rejects start() when closed before the first registration, and skips deregistering what was never sent', async () => {
    const { registrar, calls } = setup();
    await registrar.close();
    const error = await registrar.start().catch((e: unknown) => e);
    expect(isPicketError(error, 'PICKET_ABORTED')).toBe(true);
    expect(calls).toEqual(['dispose']);
  });

  it('rejects a pending start() on close() and still tries to deregister a registration in flight', async () => {
    const { registrar, calls } = setup({
      register: (signal) =>
        new Promise((_, reject) => {
          calls.push('register');
          signal.addEventListener('abort', () => reject(new Error('aborted')));
        }),
    });
    const started = registrar.start();
    await vi.advanceTimersByTimeAsync(0);
    await registrar.close();
    await expect(started).rejects.toMatchObject({ code: 'PICKET_ABORTED' });
    expect(calls).toEqual(['register', 'deregister', 'dispose']);
  });

  it('bounds the deregistration on close() and reports its failure with secrets masked', async () => {
    const { registrar, errors } = setup({
      secrets: () => ['token-abcdef'],
      deregister: (signal) =>
        new Promise((_, reject) => {
          signal.addEventListener('abort', () => reject(new Error('gave up, token-abcdef')));
        }),
    });
    await registrar.start();
    const closing = registrar.close();
    await vi.advanceTimersByTimeAsync(500);
    await closing;
    expect(errors).toHaveLength(1);
    expect(errors[0]?.error.message).toContain('deregistration failed: gave up, [redacted]');
  });
});
