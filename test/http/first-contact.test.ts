// What a service meets in its first minutes with a client: a handler that throws, a short script
// whose only pending work is a request, and requests sent before discovery has answered.

import { isPicketError, type PicketError } from '@picket/core';
import { createProvider } from '@picket/discovery';
import { createClient } from '@picket/http';
import type { Dispatcher } from 'undici';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { Retries } from '../../packages/http/src/dispatcher/retry-loop.ts';
import { killStarted, startNode } from '../cli/node-process.ts';
import { after, echo, status, testResources } from '../fixtures/http-servers.ts';

const REFUSED = ['http://127.0.0.1:1', 'http://127.0.0.1:2'];
const resources = testResources({ destroy: true });

afterEach(() => vi.restoreAllMocks());
afterAll(killStarted);

interface Heard {
  error: Error | undefined;
  status: number;
  ended: boolean;
}

/** Dispatches on `dispatcher` with a handler whose `throwIn` callback throws; resolves with what it heard. */
function dispatchThrowing(
  dispatcher: Dispatcher,
  throwIn: 'onRequestStart' | 'onResponseStart' | 'onResponseData',
): Promise<Heard> {
  const heard: Heard = { error: undefined, status: 0, ended: false };
  const boom = () => {
    throw new Error(`handler bug in ${throwIn}`);
  };
  return new Promise((resolve) => {
    dispatcher.dispatch(
      { origin: 'http://inventory', path: '/items', method: 'GET' },
      {
        // undici tells the handler interfaces apart by this method: it is always there.
        onRequestStart() {
          if (throwIn === 'onRequestStart') boom();
        },
        onResponseStart(_c, statusCode) {
          heard.status = statusCode;
          if (throwIn === 'onResponseStart') boom();
        },
        onResponseData() {
          if (throwIn === 'onResponseData') boom();
        },
        onResponseEnd() {
          heard.ended = true;
          resolve(heard);
        },
        onResponseError(_c, error) {
          heard.error = error;
          resolve(heard);
        },
      },
    );
  });
}

describe('an exception inside a handler callback', () => {
  it.each(['onRequestStart', 'onResponseStart', 'onResponseData'] as const)(
    'thrown by the caller in %s fails that request with PICKET_HANDLER_FAILED and charges no instance',
    async (throwIn) => {
      const server = await resources.server(echo('a'));
      const client = resources.track(createClient({ service: 'inventory', discovery: [server.url] }));
      const heard = await dispatchThrowing(client.dispatcher, throwIn);
      expect(heard.ended).toBe(false);
      expect(isPicketError(heard.error, 'PICKET_HANDLER_FAILED'), String(heard.error)).toBe(true);
      const error = heard.error as PicketError;
      expect(error.details).toMatchObject({ callback: throwIn });
      expect((error.cause as Error).message).toBe(`handler bug in ${throwIn}`);
      // The caller's bug says nothing about the instance.
      const [instance] = client.snapshot().instances;
      expect(instance?.failures).toBe(0);
      expect(instance?.state).toBe('healthy');
      // And the client still works.
      const res = await client.request({ path: '/' });
      expect(res.statusCode).toBe(200);
      await res.body.dump();
    },
  );

  it("thrown by Picket's own code while undici reports an error fails the request typed, never as an 'error' event", async () => {
    // The CommonJS build once threw here: a broken retry loop inside undici's onResponseError.
    vi.spyOn(Retries.prototype, 'schedule').mockImplementation(() => {
      throw new TypeError('(0 , import_p_retry.default) is not a function');
    });
    const client = resources.track(
      createClient({ service: 'inventory', strategy: 'round-robin', discovery: REFUSED }),
    );
    const failure = await client.request({ path: '/' }).catch((error: unknown) => error);
    expect(isPicketError(failure, 'PICKET_HANDLER_FAILED'), String(failure)).toBe(true);
    expect((failure as PicketError).details).toMatchObject({ callback: 'onResponseError' });
    expect((failure as PicketError).cause).toBeInstanceOf(TypeError);
  });
});

describe('a pending request', () => {
  // The child's own event loop is the thing under test: nothing but the request may hold it.
  const script = (body: string) => [
    '--input-type=module',
    '-e',
    `import { createClient } from 'picket';\n${body}`,
  ];

  it('keeps the process alive until it settles, through retries and their backoff', async () => {
    const run = startNode(
      script(`
        const empty = createClient({ service: 'empty', discovery: [] });
        try { await empty.request({ path: '/' }); } catch {}
        await empty.close();
        const dead = createClient({ service: 'dead', discovery: ${JSON.stringify(REFUSED)} });
        try {
          await dead.request({ path: '/' });
          console.log('answered');
        } catch (error) {
          console.log('settled', error.code);
        }
        await dead.close();
      `),
    );
    const done = await run.exited(30_000);
    expect(done.stderr).toBe('');
    expect(done.stdout.trim()).toBe('settled PICKET_ATTEMPTS_EXHAUSTED');
    // 13 is Node's "unsettled top-level await": the loop emptied while the request was pending.
    expect(done.code).toBe(0);
  });

  it('held by a slow instance keeps the process alive, and an idle client (never closed) does not', async () => {
    const slow = await resources.server(after(400, 'slow'));
    const run = startNode(
      script(`
        const client = createClient({ service: 'slow', discovery: ['${slow.url}'] });
        const res = await client.request({ path: '/' });
        console.log('status', res.statusCode, (await res.body.json()).server);
        // Not closed: an idle client must let the process end.
      `),
    );
    const done = await run.exited(30_000);
    expect(done.stderr).toBe('');
    expect(done.stdout.trim()).toBe('status 200 slow');
    expect(done.code).toBe(0);
  });
});

describe('a request sent before discovery has answered', () => {
  /** A provider that publishes `urls` after `ms`, as a registry or DNS answering late would. */
  function lateProvider(urls: () => string[], ms: number, failFirst = false) {
    return createProvider({
      name: 'late',
      async run(ctx) {
        if (failFirst) ctx.fail(new Error('registry unreachable'), 'first query');
        if (!(await ctx.sleep(ms))) return;
        ctx.publish(urls());
      },
    });
  }

  it('waits for the first snapshot and is answered (request and fetch)', async () => {
    const server = await resources.server(echo('a'));
    const client = resources.track(
      createClient({ service: 'inventory', discovery: lateProvider(() => [server.url], 200) }),
    );
    const started = performance.now();
    const [res, fetched] = await Promise.all([client.request({ path: '/one' }), client.fetch('/two')]);
    expect(res.statusCode).toBe(200);
    expect(((await res.body.json()) as { url: string }).url).toBe('/one');
    expect(((await fetched.json()) as { url: string }).url).toBe('/two');
    // It did wait for the provider, rather than being answered by chance.
    expect(performance.now() - started).toBeGreaterThanOrEqual(150);
  });

  it('fails with PICKET_TIMEOUT after its own timeout, naming discovery as the cause', async () => {
    const client = resources.track(
      createClient({ service: 'inventory', discovery: lateProvider(() => [], 60_000) }),
    );
    const failure = await client.request({ path: '/', timeout: 100 }).catch((error: unknown) => error);
    expect(isPicketError(failure, 'PICKET_TIMEOUT'), String(failure)).toBe(true);
    expect(isPicketError((failure as PicketError).cause, 'PICKET_NO_INSTANCES')).toBe(true);
  });

  it('ends when its signal aborts', async () => {
    const client = resources.track(
      createClient({ service: 'inventory', discovery: lateProvider(() => [], 60_000) }),
    );
    const controller = new AbortController();
    const pending = client.request({ path: '/', signal: controller.signal }).catch((error: unknown) => error);
    setTimeout(() => controller.abort(new Error('caller gave up')), 50);
    const failure = (await pending) as Error;
    expect(failure.message).toBe('caller gave up');
  });

  it('fails with PICKET_CLIENT_CLOSED when the client closes first', async () => {
    const client = createClient({ service: 'inventory', discovery: lateProvider(() => [], 60_000) });
    const pending = client.request({ path: '/' }).catch((error: unknown) => error);
    await client.close();
    expect(isPicketError(await pending, 'PICKET_CLIENT_CLOSED')).toBe(true);
  });

  it('fails at once with the discovery error when the provider has failed', async () => {
    const server = await resources.server(status(200));
    const client = resources.track(
      createClient({ service: 'inventory', discovery: lateProvider(() => [server.url], 60_000, true) }),
    );
    const failure = await client.request({ path: '/' }).catch((error: unknown) => error);
    expect(isPicketError(failure, 'PICKET_NO_INSTANCES'), String(failure)).toBe(true);
    expect(isPicketError((failure as PicketError).cause, 'PICKET_DISCOVERY_FAILED')).toBe(true);
  });

  it('waiting, fails with the discovery error as soon as the provider fails', async () => {
    const provider = createProvider({
      name: 'late-failure',
      async run(ctx) {
        if (await ctx.sleep(100)) ctx.fail(new Error('registry unreachable'), 'query');
      },
    });
    const client = resources.track(createClient({ service: 'inventory', discovery: provider }));
    const failure = await client.request({ path: '/' }).catch((error: unknown) => error);
    expect(isPicketError(failure, 'PICKET_NO_INSTANCES'), String(failure)).toBe(true);
    expect(isPicketError((failure as PicketError).cause, 'PICKET_DISCOVERY_FAILED')).toBe(true);
  });

  it('sent in a tight loop that retries each failure at once, does not starve discovery', async () => {
    const server = await resources.server(echo('a'));
    const client = resources.track(
      createClient({ service: 'inventory', discovery: lateProvider(() => [server.url], 200, true) }),
    );
    // Each failure is awaited and retried at once. Had failures settled in microtasks alone, the
    // provider's timer could never fire; the bound ends the loop either way.
    let answered = false;
    for (let i = 0; i < 200_000 && !answered; i++) {
      try {
        const res = await client.request({ path: '/' });
        await res.body.dump();
        answered = res.statusCode === 200;
      } catch (error) {
        if (!isPicketError(error, 'PICKET_NO_INSTANCES')) throw error;
      }
    }
    expect(answered).toBe(true);
  });
});
