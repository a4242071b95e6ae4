// A caller giving up, through every front: its abort at each phase of a call, its own deadline
// shorter than the client's, and the client's destroy() while attempts are in flight. Each call
// settles at once with its front's error, and no instance is charged for what was not its doing.

import { isPicketError } from '@picket/core';
import type { Client, ClientOptions, ProviderLike } from '@picket/http';
import { axiosAdapter } from '@picket/http/axios';
import axios, { type AxiosError } from 'axios';
import { request as undiciRequest } from 'undici';
import { describe, expect, it } from 'vitest';
import { callerFaultClients, failure, uncharged } from '../fixtures/caller-faults.ts';
import { type Handler, never, status, type TestServer, testResources } from '../fixtures/http-servers.ts';
import { waitFor } from '../fixtures/instances.ts';

const resources = testResources({ destroy: true });
const { client: tracked, fleet } = callerFaultClients(resources);

describe('destroy() with attempts in flight', () => {
  it('fails them on every front without charging the instances they were on', async () => {
    // Headers, then a body that never ends: one call waits for headers (`never`), one reads a body.
    const { client, servers } = await fleet(
      (req, res) => {
        if (req.url === '/body') {
          res.writeHead(200, { 'content-type': 'text/plain' });
          res.write('part of it');
        }
      },
      { hedge: { delayMs: 20 } },
    );
    const ejections: unknown[] = [];
    client.on('eject', (e) => ejections.push(e));
    const api = axios.create({ adapter: axiosAdapter(client) });
    const reading = await client.request({ path: '/body' });
    const calls = [
      failure(() => reading.body.text()),
      // Hedged: two attempts on two instances, both in flight.
      failure(() => client.request({ path: '/' })),
      failure(() => undiciRequest('http://inventory/', { dispatcher: client.dispatcher })),
      failure(() => client.fetch('/')),
      failure(() => api.get('/')),
    ];
    await waitFor(() => servers.reduce((n, s) => n + s.requests, 0) >= 6, 'every call to reach an instance');
    await client.destroy();
    for (const error of await Promise.all(calls)) expect(error).toBeInstanceOf(Error);
    expect(ejections).toEqual([]);
    uncharged(client);
  });
});

describe('a handler that never answers', () => {
  it('is charged for a call the client’s own timeout ends (so the checks here can see a charge)', async () => {
    const { client } = await fleet(never, { timeout: 200, hedge: false });
    const error = await failure(() => client.request({ path: '/' }));
    expect(isPicketError(error, 'PICKET_TIMEOUT'), String(error)).toBe(true);
    expect(client.snapshot().instances.reduce((n, i) => n + i.failures, 0)).toBe(1);
  });
});

describe("a caller's abort at each phase of a call", () => {
  // Each front rejects as its peer does: undici's request and fetch (Node's or undici's) with
  // the signal's reason, axios with its CanceledError. Settling at once is what the test waits
  // for: a backoff or an answer would come only long after the test's own timeout.
  type Call = (client: Client, signal: AbortSignal, answered: () => void) => Promise<unknown>;
  const fronts: Array<[string, Call]> = [
    [
      'client.request',
      (client, signal, answered) =>
        client.request({ path: '/', signal }).then((r) => {
          answered();
          return r.body.text();
        }),
    ],
    [
      "undici's request",
      (client, signal, answered) =>
        undiciRequest('http://inventory/', { dispatcher: client.dispatcher, signal }).then((r) => {
          answered();
          return r.body.text();
        }),
    ],
    [
      'client.fetch',
      (client, signal, answered) =>
        client.fetch('/', { signal }).then((r) => {
          answered();
          return r.text();
        }),
    ],
    [
      "Node's fetch",
      (client, signal, answered) =>
        globalThis
          .fetch('http://inventory/', { dispatcher: client.dispatcher, signal } as RequestInit)
          .then((r) => {
            answered();
            return r.text();
          }),
    ],
    [
      'axios',
      (client, signal, answered) =>
        axios.create({ adapter: axiosAdapter(client) }).get('/', { signal, onDownloadProgress: answered }),
    ],
  ];
  interface Progress {
    /** Requests the instances have received since the call. */
    sent: number;
    /** Retries the client has started or scheduled since the call. */
    retries: number;
    /** The caller has the response headers. */
    answered: boolean;
  }
  /** [phase, the instances' handler, client options, when the call is in that phase] */
  const phases: Array<
    [string, Handler, Omit<ClientOptions, 'service' | 'discovery'>, (p: Progress) => boolean]
  > = [
    // The first retry goes at once; the second waits out a backoff far longer than the test.
    [
      'during a retry backoff',
      status(503),
      { breaker: false, retry: { retries: 3, backoff: { baseMs: 120_000, maxMs: 120_000 } } },
      (p) => p.retries >= 2,
    ],
    ['during a hedge, both attempts in flight', never, { hedge: { delayMs: 10 } }, (p) => p.sent >= 2],
    [
      'while the body is read',
      (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('the first part');
      },
      {},
      (p) => p.answered,
    ],
  ];
  const requests = (servers: TestServer[]) => servers.reduce((n, s) => n + s.requests, 0);
  const charges = (client: Client) =>
    client.snapshot().instances.map((i) => [i.failures, i.breaker?.failures ?? 0, i.state]);
  const idle = (client: Client) => client.snapshot().instances.every((i) => i.active === 0);

  for (const [phase, handler, options, inPhase] of phases) {
    it(`(${phase}) settles at once on every front, as its peer does, and charges nothing`, async () => {
      const { client, servers } = await fleet(handler, options);
      let retries = 0;
      client.on('retry', () => retries++);
      for (const [front, call] of fronts) {
        const start = { sent: requests(servers), retries };
        let answered = false;
        const controller = new AbortController();
        const pending = failure(() => call(client, controller.signal, () => (answered = true)));
        const progress = () => ({
          sent: requests(servers) - start.sent,
          retries: retries - start.retries,
          answered,
        });
        await waitFor(() => inPhase(progress()), `${front} to be ${phase}`);
        // The answers an instance gave before the abort (two 503s) are its own, and count.
        await waitFor(() => phase !== 'during a retry backoff' || idle(client), 'the 503s to be read');
        const before = charges(client);
        const reason = new Error(`${front} gave up`);
        controller.abort(reason);
        const error = await pending;
        if (front === 'axios') expect((error as AxiosError).code, front).toBe('ERR_CANCELED');
        else expect(error, front).toBe(reason);
        await waitFor(() => idle(client), 'no attempt in flight');
        expect(charges(client), front).toEqual(before);
      }
    });
  }

  it('(waiting for discovery) settles at once on every front, as its peer does', async () => {
    const client = tracked({ service: 'inventory', discovery: silentProvider() });
    for (const [front, call] of fronts) {
      const controller = new AbortController();
      const pending = failure(() => call(client, controller.signal, () => {}));
      const reason = new Error(`${front} gave up`);
      controller.abort(reason);
      const error = await pending;
      if (front === 'axios') expect((error as AxiosError).code, front).toBe('ERR_CANCELED');
      else expect(error, front).toBe(reason);
    }
  });
});

/** A discovery provider that never delivers a snapshot. */
function silentProvider(): ProviderLike {
  return {
    name: 'silent',
    start() {},
    on: () => () => {},
    current: () => undefined,
    lastError: () => undefined,
    close: async () => {},
  };
}

describe("a per-request timeout shorter than the client's", () => {
  // Often the time left of an upstream deadline: how long this caller could wait, not a failure
  // of the instance. The client's own `timeout` (and a per-request one at least as long) is the
  // service's rule for how long an instance may take, and still charges it.
  it('fails PICKET_TIMEOUT on every front without charging the instance, which is still heard as slow', async () => {
    const { client } = await fleet(never, { hedge: false, timeout: 5_000 });
    const calls = [
      () => client.request({ path: '/', timeout: 50 }),
      () => undiciRequest('http://inventory/', { dispatcher: client.dispatcher, timeout: 50 } as never),
      () => client.fetch('/', { timeout: 50 }),
    ];
    for (const call of calls) {
      const error = await failure(call);
      const picket = isPicketError(error) ? error : (error as Error).cause;
      expect(isPicketError(picket, 'PICKET_TIMEOUT'), String(error)).toBe(true);
    }
    uncharged(client);
    const slow = client.snapshot().instances.filter((i) => (i.meanLatencyMs ?? 0) >= 40);
    expect(slow.length, 'instances heard as slow').toBeGreaterThan(0);
  });

  it('as long as the client’s own still charges the instance', async () => {
    const { client } = await fleet(never, { hedge: false, timeout: 100 });
    const error = await failure(() => client.request({ path: '/', timeout: 100 }));
    expect(isPicketError(error, 'PICKET_TIMEOUT'), String(error)).toBe(true);
    expect(client.snapshot().instances.reduce((n, i) => n + i.failures, 0)).toBe(1);
  });
});
