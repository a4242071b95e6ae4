// The dashboard's server without a browser: options, the page and its token, the SSE stream's
// snapshots and events, rates and percentiles, a port in use, and close() leaving nothing behind.

import { once } from 'node:events';
import { createServer, request } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { toInstance } from '@picket/core/internal';
import type { ProviderLike } from '@picket/http';
import { type Client, createClient, httpCheck, isPicketError, PicketError } from 'picket';
import { type Dashboard, dashboard, type EventView, type SnapshotMessage } from 'picket/dashboard';
import { afterEach, describe, expect, it } from 'vitest';
import { redactText } from '../../src/dashboard/redact.ts';
import { echo, startServer, type TestServer } from '../fixtures/http-servers.ts';
import { waitFor } from '../servers/wait.ts';
import { openStream, type SseStream } from './sse.ts';

const open: { close(): Promise<void> }[] = [];
const track = <T extends { close(): Promise<void> }>(x: T): T => {
  open.push(x);
  return x;
};
const streams: SseStream[] = [];
afterEach(async () => {
  for (const s of streams.splice(0)) s.destroy();
  // Dashboards first, then clients, then servers.
  for (const x of open.splice(0).reverse()) await x.close();
});

/** A discovery provider that delivers one instance, then fails when told to. */
function fakeProvider() {
  const listeners = new Map<string, Set<(payload: never) => void>>();
  let last: PicketError | undefined;
  const emit = (name: string, payload: unknown) => {
    for (const fn of listeners.get(name) ?? []) fn(payload as never);
  };
  const instances = [toInstance('http://127.0.0.1:1')];
  const provider: ProviderLike = {
    name: 'fake',
    start: () => queueMicrotask(() => emit('snapshot', { instances })),
    on(name: string, fn: (payload: never) => void) {
      const set = listeners.get(name) ?? new Set();
      listeners.set(name, set);
      set.add(fn);
      return () => set.delete(fn);
    },
    current: () => instances,
    lastError: () => last,
    close: async () => {},
  } as ProviderLike;
  return {
    provider,
    fail(message: string) {
      last = new PicketError('PICKET_DISCOVERY_FAILED', message);
      emit('discovery-error', { error: last, provider: 'fake' });
    },
  };
}

async function server(handler = echo('x')): Promise<TestServer> {
  return track(await startServer(handler));
}

function client(service: string, urls: string[], extra: Partial<Parameters<typeof createClient>[0]> = {}) {
  return track(createClient({ service, discovery: urls, ...extra }));
}

async function start(options: Parameters<typeof dashboard>[0]): Promise<Dashboard> {
  return track(await dashboard(options));
}

async function stream(url: string, headers: Record<string, string> = {}): Promise<SseStream> {
  const s = await openStream(url, headers);
  streams.push(s);
  return s;
}

function get(
  url: string,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.once('error', reject);
    req.end();
  });
}

const snapshotOf = (m: { data: string }) => JSON.parse(m.data) as SnapshotMessage;
const isSnapshot = (test: (s: SnapshotMessage) => boolean) => (m: { event: string; data: string }) =>
  m.event === 'snapshot' && test(snapshotOf(m));

describe('dashboard options', () => {
  const c = () => client('inventory', ['http://127.0.0.1:1']);

  it.each([
    [{ port: -1 }, '`port` must be a whole number from 0 (any free port) to 65535, got -1'],
    [{ port: 70000 }, 'got 70000'],
    [
      { intervalMs: 3e9 },
      '`intervalMs` must be a number of milliseconds from 100 to 2147483647, got 3000000000',
    ],
    [
      { intervalMs: Number.NaN },
      '`intervalMs` must be a number of milliseconds from 100 to 2147483647, got NaN',
    ],
    [{ token: '' }, '`token` must be a non-empty string of printable ASCII, got ""'],
    [{ host: '' }, '`host` must be a host name or IP address to listen on'],
    [{ colour: 'red' }, 'unknown option `colour`'],
  ])('rejects %j with PICKET_INVALID_OPTIONS naming the option and the value', async (bad, message) => {
    const error = await dashboard({ clients: [c()], ...bad } as never).catch((e: unknown) => e);
    expect(isPicketError(error, 'PICKET_INVALID_OPTIONS')).toBe(true);
    expect((error as Error).message).toContain(message);
  });

  it('rejects an empty client list and a value that is not a client', async () => {
    const empty = await dashboard({ clients: [] }).catch((e: unknown) => e);
    expect((empty as Error).message).toContain('`clients` must list at least one client');
    const notClient = await dashboard({ clients: [{ service: 'x' } as never] }).catch((e: unknown) => e);
    expect(isPicketError(notClient, 'PICKET_INVALID_OPTIONS')).toBe(true);
    expect((notClient as Error).message).toContain(
      '`clients[0]` must be a Picket client (from createClient)',
    );
  });
});

describe('dashboard server', () => {
  it('serves the page on 127.0.0.1 by default, with files that name no other origin', async () => {
    const d = await start({ clients: [client('inventory', ['http://127.0.0.1:1'])] });
    expect(d.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await get(d.url);
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['content-security-policy']).toContain("default-src 'none'");
    expect(page.headers['content-security-policy']).toContain("connect-src 'self'");
    for (const path of ['', 'dashboard.css', 'dashboard.js']) {
      const file = await get(new URL(path, d.url).href);
      expect(file.status).toBe(200);
      // The SVG namespace is a name, not a request.
      const origins = file.body
        .replaceAll('http://www.w3.org/2000/svg', '')
        .match(/(https?:)?\/\/[a-z0-9.-]+\.[a-z]/gi);
      expect(origins, path).toBeNull();
    }
    expect((await get(new URL('/nothing', d.url).href)).status).toBe(404);
  });

  it('is read-only: anything but GET and HEAD is refused with 405', async () => {
    const d = await start({ clients: [client('inventory', ['http://127.0.0.1:1'])] });
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      const res = await get(d.url, {}, method);
      expect(res.status, method).toBe(405);
      expect(res.headers.allow).toBe('GET, HEAD');
    }
  });

  it('answers a request line whose URL cannot be read with 400, and goes on serving', async () => {
    const d = await start({ clients: [client('inventory', ['http://127.0.0.1:1'])] });
    const { hostname, port } = new URL(d.url);
    const socket = connect(Number(port), hostname);
    socket.write(`GET //[ HTTP/1.1\r\nHost: ${hostname}:${port}\r\nConnection: close\r\n\r\n`);
    let answer = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => {
      answer += chunk;
    });
    await once(socket, 'close');
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect((await get(d.url)).status).toBe(200);
  });

  it('answers only loopback host names while bound to loopback (no DNS rebinding)', async () => {
    const d = await start({ clients: [client('inventory', ['http://127.0.0.1:1'])] });
    expect((await get(d.url, { host: 'evil.example:80' })).status).toBe(403);
    expect((await get(new URL('/events', d.url).href, { host: 'evil.example' })).status).toBe(403);
    expect((await get(d.url, { host: `localhost:${new URL(d.url).port}` })).status).toBe(200);
  });

  it('with a token, the page and the stream need it (query or Bearer); the static files do not', async () => {
    const d = await start({ clients: [client('inventory', ['http://127.0.0.1:1'])], token: 's3cret/+' });
    expect(d.url).toMatch(/\/\?token=s3cret%2F%2B$/);
    const base = d.url.slice(0, d.url.indexOf('?'));
    expect((await get(base)).status).toBe(401);
    expect((await get(`${base}?token=wrong`)).status).toBe(401);
    expect((await get(d.url)).status).toBe(200);
    expect((await get(`${base}events`)).status).toBe(401);
    expect((await get(`${base}events`, { authorization: 'Bearer nope' })).status).toBe(401);
    const s = await stream(`${base}events`, { authorization: 'Bearer s3cret/+' });
    expect(s.response.statusCode).toBe(200);
    await s.next((m) => m.event === 'snapshot');
    expect((await get(`${base}dashboard.js`)).status).toBe(200);
  });

  it('streams a snapshot of every client at once and then every tick', async () => {
    const a = await server(echo('a'));
    const b = await server(echo('b'));
    const inventory = client('inventory', [a.url, b.url]);
    const payments = client('payments', [b.url]);
    const d = await start({ clients: [inventory, payments], intervalMs: 200 });
    const s = await stream(new URL('/events', d.url).href);
    expect(s.response.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    const first = snapshotOf(await s.next((m) => m.event === 'snapshot', 5000));
    expect(first.services.map((x) => [x.index, x.service, x.instances.map((i) => i.url).sort()])).toEqual([
      [0, 'inventory', [a.url, b.url].sort()],
      [1, 'payments', [b.url]],
    ]);
    const later = await s.next(isSnapshot((x) => x.at > first.at));
    expect(later.event).toBe('snapshot');
  });

  it('shows discovery errors without the credentials in them', async () => {
    const failing = fakeProvider();
    const c = client('inventory', [], { discovery: failing.provider });
    const d = await start({ clients: [c], intervalMs: 200 });
    const s = await stream(new URL('/events', d.url).href);
    await s.next((m) => m.event === 'snapshot');
    failing.fail('etcd at http://root:hunter2@127.0.0.1:2379/v3/watch?auth_token=xyz refused the watch');
    const event = await s.next((m) => m.event === 'event' && m.data.includes('discovery-error'));
    expect(event.data).toContain('http://127.0.0.1:2379/v3/watch?auth_token=[REDACTED] refused');
    const m = await s.next(isSnapshot((x) => x.services[0]!.discovery.lastError !== null));
    expect(snapshotOf(m).services[0]!.discovery.lastError).toContain(
      'http://127.0.0.1:2379/v3/watch?auth_token=[REDACTED]',
    );
    expect(s.messages.map((x) => x.data).join('')).not.toMatch(/hunter2|xyz/);
  });

  it('computes requests per second, error rate and p50/p99 per instance from the traffic', async () => {
    const fast = await server(echo('fast'));
    const failing = await server((_req, res) => {
      setTimeout(() => res.writeHead(500).end(), 20);
    });
    const c = client('inventory', [fast.url, failing.url], {
      retry: false,
      breaker: false,
      outlierDetection: false,
    });
    const d = await start({ clients: [c], intervalMs: 250 });
    const s = await stream(new URL('/events', d.url).href);
    await s.next((m) => m.event === 'snapshot');
    for (let i = 0; i < 40; i++) await (await c.request('/x')).body.dump();
    const m = await s.next(
      isSnapshot((x) => x.services[0]!.instances.every((i) => i.p50Ms !== null && i.errorRate !== null)),
    );
    const byUrl = new Map(snapshotOf(m).services[0]!.instances.map((i) => [i.url, i]));
    const f = byUrl.get(fast.url)!;
    const bad = byUrl.get(failing.url)!;
    expect(f.errorRate).toBe(0);
    expect(bad.errorRate).toBe(1);
    // The failing instance answers after 20 ms: its percentiles say so, within a bin's width.
    expect(bad.p50Ms!).toBeGreaterThan(18);
    expect(bad.p99Ms!).toBeGreaterThanOrEqual(bad.p50Ms!);
    expect(f.p50Ms!).toBeLessThan(bad.p50Ms!);
    const rps = snapshotOf(m).services[0]!.instances.flatMap((i) => i.spark.rps);
    expect(Math.max(...rps)).toBeGreaterThan(0);
  });

  it('sends events as they happen, and a backlog to a page that opens later', async () => {
    let healthy = true;
    const a = await server((req, res) => {
      if (req.url === '/health') res.writeHead(healthy ? 200 : 503).end();
      else echo('a')(req, res, Buffer.alloc(0));
    });
    const c = client('inventory', [a.url], {
      health: {
        check: httpCheck({ path: '/health' }),
        interval: 100,
        healthyThreshold: 1,
        unhealthyThreshold: 1,
      },
    });
    const d = await start({ clients: [c], intervalMs: 200 });
    const s = await stream(new URL('/events', d.url).href);
    await s.next(isSnapshot((x) => x.services[0]!.instances[0]?.state === 'healthy'));
    healthy = false;
    const event = JSON.parse(
      (await s.next((m) => m.event === 'event' && (JSON.parse(m.data) as EventView).state === 'unhealthy'))
        .data,
    ) as EventView;
    expect(event).toMatchObject({ index: 0, kind: 'instance-state', instance: expect.any(String) });
    expect(event.text).toContain('healthy → unhealthy');
    const seen = await s.next(isSnapshot((x) => x.services[0]!.instances[0]?.state === 'unhealthy'));
    const health = snapshotOf(seen).services[0]!.instances[0]!.health;
    expect(health).toContainEqual(expect.objectContaining({ layer: 'l7', state: 'unhealthy' }));
    const later = await stream(new URL('/events', d.url).href);
    const backlog = JSON.parse((await later.next((m) => m.event === 'backlog')).data) as EventView[];
    expect(backlog.map((e) => e.seq)).toContain(event.seq);
  });

  it("shows a checker's verdicts once, by layer, whatever its health source is called", async () => {
    const a = await server((req, res) => {
      if (req.url === '/health') res.writeHead(503).end();
      else echo('a')(req, res, Buffer.alloc(0));
    });
    const c = client('inventory', [a.url], {
      health: {
        check: httpCheck({ path: '/health' }),
        interval: 100,
        unhealthyThreshold: 1,
        source: 'probe',
      },
    });
    const d = await start({ clients: [c], intervalMs: 200 });
    const s = await stream(new URL('/events', d.url).href);
    const seen = await s.next(isSnapshot((x) => x.services[0]!.instances[0]?.state === 'unhealthy'));
    const health = snapshotOf(seen).services[0]!.instances[0]!.health;
    expect(health.map((h) => `${h.layer}: ${h.state}`)).toEqual(['l7: unhealthy']);
  });

  it('shows a closed client as closed', async () => {
    const c = createClient({ service: 'inventory', discovery: ['http://127.0.0.1:1'] });
    const d = await start({ clients: [c], intervalMs: 200 });
    const s = await stream(new URL('/events', d.url).href);
    await s.next(isSnapshot((x) => x.services[0]!.closed === false));
    await c.close();
    await s.next(isSnapshot((x) => x.services[0]!.closed === true));
  });

  it('forgets a stream whose browser went away', async () => {
    const d = await start({ clients: [client('inventory', ['http://127.0.0.1:1'])], intervalMs: 200 });
    const s = await stream(new URL('/events', d.url).href);
    const streamsOpen = () => (d as unknown as { streams: number }).streams;
    await s.next((m) => m.event === 'snapshot');
    expect(streamsOpen()).toBe(1);
    s.destroy();
    await waitFor(() => streamsOpen() === 0, { timeoutMs: 10_000, message: 'stream forgotten' });
  });

  it('fails with PICKET_ADDRESS_IN_USE naming the port when the port is taken', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    track({ close: () => new Promise<void>((resolve) => taken.close(() => resolve())) });
    const port = (taken.address() as AddressInfo).port;
    const error = await dashboard({ clients: [client('inventory', ['http://127.0.0.1:1'])], port }).catch(
      (e: unknown) => e,
    );
    expect(isPicketError(error, 'PICKET_ADDRESS_IN_USE')).toBe(true);
    expect((error as Error).message).toContain(`port ${port} on 127.0.0.1 is in use`);
    expect((error as { details: unknown }).details).toEqual({ host: '127.0.0.1', port });
  });

  it('close() ends every stream, stops listening, is idempotent and leaves no handle behind', async () => {
    const c: Client = client('inventory', ['http://127.0.0.1:1']);
    const before = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap').length;
    const d = await dashboard({ clients: [c], intervalMs: 100 });
    const s = await openStream(new URL('/events', d.url).href);
    await s.next((m) => m.event === 'snapshot');
    const closing = d.close();
    expect(d.close()).toBe(closing);
    await closing;
    await s.ended;
    await expect(get(d.url)).rejects.toThrow(/ECONNREFUSED/);
    await waitFor(() => process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap').length <= before, {
      timeoutMs: 5000,
      message: `handles back to ${before}: ${process.getActiveResourcesInfo().join(', ')}`,
    });
    await d.close();
  });
});

describe('redaction', () => {
  it('removes userinfo and token-like query values from every URL in a text', () => {
    expect(redactText('etcd at http://root:pw@10.0.0.1:2379/v3/watch failed (see http://h/x?token=1).')).toBe(
      'etcd at http://10.0.0.1:2379/v3/watch failed (see http://h/x?token=[REDACTED]).',
    );
    expect(redactText('no url here')).toBe('no url here');
  });
});
