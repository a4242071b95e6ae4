// A server that sheds load (loadReporter's `shed`) answers 503 with `picket-not-processed`, and
// a Picket caller resends such a request on another instance for any method, POST included,
// because the server promises it did nothing. Every other 503 keeps the idempotency rules.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadReporter } from '@picket/health';
import { afterEach, describe, expect, it } from 'vitest';
import { testClients } from '../fixtures/clients.ts';
import { status, testResources } from '../fixtures/http-servers.ts';
import { waitFor } from '../fixtures/instances.ts';

const resources = testResources({ destroy: true });
const { inOrder } = testClients(resources);

interface App {
  url: string;
  /** Bodies of the POSTs the application itself handled. */
  orders: string[];
  /** Answers every held GET /slow. */
  release(): void;
  /** Requests the reporter counts in flight. */
  inFlight(): number;
  close(): Promise<void>;
}

const apps: App[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

/** An application behind loadReporter's shedding: GET /slow is held, POST /orders recorded. */
async function app(shed: { maxInFlight: number; retryAfterSeconds?: number }): Promise<App> {
  const reporter = loadReporter({ shed });
  const held: ServerResponse[] = [];
  const orders: string[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) =>
    reporter(req, res, () => {
      if (req.url === '/slow') {
        held.push(res);
        return;
      }
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c;
      });
      req.on('end', () => {
        orders.push(body);
        res.writeHead(201).end('created');
      });
    }),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const a: App = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    orders,
    inFlight: () => reporter.report().inFlight,
    release: () => {
      for (const res of held.splice(0)) res.end('slow done');
    },
    close: async () => {
      a.release();
      reporter.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  apps.push(a);
  return a;
}

describe('load shedding', () => {
  it('a POST shed by a busy instance is served by another, exactly once', async () => {
    // Retry-After 0: the resend need not wait (the default is 1 s).
    const busy = await app({ maxInFlight: 1, retryAfterSeconds: 0 });
    const spare = await app({ maxInFlight: 1 });
    const client = inOrder(busy, spare, { outlierDetection: false });
    // The busy instance holds one request: its next is over maxInFlight.
    const slow = client.request({ path: '/slow' });
    await waitFor(() => busy.inFlight() === 1, 'the slow request to be in flight');
    for (let i = 0; i < 3; i++) {
      const res = await client.request({ path: '/orders', method: 'POST', body: `order-${i}` });
      expect(res.statusCode).toBe(201);
      await res.body.dump();
    }
    expect(busy.orders).toEqual([]);
    expect(spare.orders).toEqual(['order-0', 'order-1', 'order-2']);
    busy.release();
    await (await slow).body.dump();
  });

  it('answers over its limit with 503, Retry-After and picket-not-processed, before the application', async () => {
    const busy = await app({ maxInFlight: 1 });
    const held = fetch(`${busy.url}/slow`);
    await waitFor(() => busy.inFlight() === 1, 'the slow request to be in flight');
    const shed = await fetch(`${busy.url}/orders`, { method: 'POST', body: 'x' });
    expect(shed.status).toBe(503);
    expect(shed.headers.get('retry-after')).toBe('1');
    expect(shed.headers.get('picket-not-processed')).toBe('true');
    await shed.text();
    expect(busy.orders).toEqual([]);
    busy.release();
    await (await held).text();
  });

  it('a plain 503 (no such promise) to a POST is not resent', async () => {
    const plain = await resources.server(status(503));
    const spare = await app({ maxInFlight: 10 });
    const client = inOrder(plain, spare, { outlierDetection: false });
    const res = await client.request({ path: '/orders', method: 'POST', body: 'order' });
    expect(res.statusCode).toBe(503);
    await res.body.dump();
    expect(spare.orders).toEqual([]);
    expect(plain.requests).toBe(1);
  });

  it('is load, not a fault: shed answers open no breaker and eject no instance', async () => {
    // An instance that sheds everything (its one slot held), beside a spare.
    const busy = await app({ maxInFlight: 1, retryAfterSeconds: 0 });
    const spare = await app({ maxInFlight: 100 });
    const client = inOrder(busy, spare, {
      breaker: { volumeThreshold: 1, errorThresholdPercentage: 1 },
      outlierDetection: { consecutiveFailures: 2 },
    });
    const slow = client.request({ path: '/slow' });
    await waitFor(() => busy.inFlight() === 1, 'the slow request to be in flight');
    for (let i = 0; i < 10; i++) {
      const res = await client.request({ path: '/orders', method: 'POST', body: `order-${i}` });
      expect(res.statusCode).toBe(201);
      await res.body.dump();
    }
    const view = client.snapshot().instances.find((i) => i.url === busy.url);
    expect(view).toMatchObject({ state: 'healthy', failures: 0, ejections: 0 });
    expect(view?.breaker?.state ?? 'closed').toBe('closed');
    busy.release();
    await (await slow).body.dump();
  });
});
