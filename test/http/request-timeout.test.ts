// A per-request `timeout` follows Picket's duration rule like the client's own: one Node's timers
// cannot hold (or that is not a number) fails that call at once, typed, on every front, before
// any instance is picked: never sent, never retried, never charged to an instance.

import { isPicketError, type PicketError } from '@picket/core';
import { createClient } from '@picket/http';
import type { Dispatcher } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { echo, testResources } from '../fixtures/http-servers.ts';

const resources = testResources({ destroy: true });

const BAD: [unknown, string][] = [
  [3e9, '3000000000'],
  [Infinity, 'Infinity'],
  [NaN, 'NaN'],
  [-1, '-1'],
  [0, '0'],
  ['5000', '"5000"'],
  [null, 'null'],
];

function expectRefused(error: unknown, shown: string): void {
  expect(isPicketError(error, 'PICKET_INVALID_OPTIONS')).toBe(true);
  expect((error as PicketError).message).toBe(
    `Invalid request options: \`timeout\` must be a number of milliseconds from 1 to 2147483647, got ${shown}`,
  );
}

/** dispatch() with a handler that records how the call ended. */
function dispatchOnce(dispatcher: Dispatcher, options: Record<string, unknown>): Promise<unknown> {
  return new Promise((resolve) => {
    dispatcher.dispatch({ path: '/', method: 'GET', ...options } as Dispatcher.DispatchOptions, {
      onRequestStart() {},
      onResponseStart() {},
      onResponseData() {},
      onResponseEnd() {
        resolve('answered');
      },
      onResponseError(_controller, error) {
        resolve(error);
      },
    });
  });
}

describe('a per-request timeout outside the duration rule', () => {
  const warnings: Error[] = [];
  const onWarning = (warning: Error) => warnings.push(warning);
  beforeEach(() => {
    warnings.length = 0;
    process.on('warning', onWarning);
  });
  afterEach(() => {
    process.off('warning', onWarning);
  });

  async function setup() {
    const instance = await resources.server(echo('a'));
    const client = resources.track(createClient({ service: 's', discovery: [instance.url] }));
    const retries: unknown[] = [];
    client.on('retry', (e) => retries.push(e));
    return { instance, client, retries };
  }

  function expectUntouched(
    instance: { connections: number; requests: number },
    client: ReturnType<typeof createClient>,
    retries: unknown[],
  ): void {
    expect(instance.connections).toBe(0);
    expect(instance.requests).toBe(0);
    expect(retries).toEqual([]);
    const [snapshot] = client.snapshot().instances;
    expect(snapshot).toMatchObject({ requests: 0, failures: 0, active: 0, state: 'healthy' });
    expect(warnings.filter((w) => w.name === 'TimeoutOverflowWarning')).toEqual([]);
  }

  it('fails client.request with PICKET_INVALID_OPTIONS naming it, and no instance is contacted', async () => {
    const { instance, client, retries } = await setup();
    for (const [value, shown] of BAD) {
      const error = await client.request({ path: '/', timeout: value as number }).catch((e: unknown) => e);
      expectRefused(error, shown);
    }
    expectUntouched(instance, client, retries);
  });

  it('fails client.fetch the same way (the typed error as the cause)', async () => {
    const { instance, client, retries } = await setup();
    for (const [value, shown] of BAD) {
      const error = await client.fetch('/', { timeout: value as number }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TypeError);
      expectRefused((error as Error).cause, shown);
    }
    expectUntouched(instance, client, retries);
  });

  it('fails dispatcher.dispatch through the handler’s onResponseError', async () => {
    const { instance, client, retries } = await setup();
    for (const [value, shown] of BAD) {
      expectRefused(await dispatchOnce(client.dispatcher, { timeout: value }), shown);
    }
    expectUntouched(instance, client, retries);
  });

  it('takes 2147483647 (about 24.8 days) on every front, and the call is answered', async () => {
    const { instance, client } = await setup();
    const res = await client.request({ path: '/', timeout: 2147483647 });
    expect(res.statusCode).toBe(200);
    await res.body.text();
    const fetched = await client.fetch('/', { timeout: 2147483647 });
    expect(fetched.status).toBe(200);
    await fetched.text();
    expect(await dispatchOnce(client.dispatcher, { timeout: 2147483647 })).toBe('answered');
    expect(instance.requests).toBe(3);
    expect(warnings.filter((w) => w.name === 'TimeoutOverflowWarning')).toEqual([]);
  });
});
