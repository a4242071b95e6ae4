import { once } from 'node:events';
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadReportSchema } from './load-report.ts';
import { type LoadReporter, type LoadReporterOptions, loadReporter } from './reporter.ts';
import { waitFor } from './test-support.ts';

const CONTRACT = [
  'status',
  'cpu',
  'loadAvg1',
  'cpus',
  'eventLoopDelayMs',
  'eventLoopUtilization',
  'inFlight',
  'rssBytes',
];

interface Got {
  status: number;
  headers: IncomingMessage['headers'];
  body: string;
}

function get(port: number, path: string, method = 'GET'): Promise<Got> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  vi.useRealTimers();
});

function reporter(options?: LoadReporterOptions): LoadReporter {
  const r = loadReporter(options);
  cleanups.push(() => r.close());
  return r;
}

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<number> {
  const server: Server = createServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(() => {
    server.closeAllConnections();
    server.close();
  });
  return (server.address() as { port: number }).port;
}

describe('loadReporter', () => {
  it('serves exactly the contract fields as JSON on /load, valid for loadCheck', async () => {
    const port = await serve(reporter());
    const got = await get(port, '/load?x=1');
    expect(got.status).toBe(200);
    expect(got.headers['content-type']).toBe('application/json');
    expect(got.headers['cache-control']).toBe('no-store');
    const report = JSON.parse(got.body) as Record<string, unknown>;
    expect(Object.keys(report)).toEqual(CONTRACT);
    expect(loadReportSchema.strict().parse(report)).toEqual(report);
    expect(report).toMatchObject({ status: 'up', inFlight: 0 });
    expect(report.rssBytes as number).toBeGreaterThan(1_000_000);
    expect(report.cpus as number).toBeGreaterThanOrEqual(1);
  });

  it('includes a weight when one is configured, as a number or a function', async () => {
    expect(reporter({ weight: 40 }).report()).toMatchObject({ weight: 40 });
    let w: number | undefined = 7;
    const r = reporter({ weight: () => w });
    expect(Object.keys(r.report())).toEqual(['status', 'weight', ...CONTRACT.slice(1)]);
    w = undefined;
    expect('weight' in r.report()).toBe(false);
  });

  it('answers 503 with status drain or down, and 200 again after up()', async () => {
    const r = reporter();
    const port = await serve(r);
    r.drain();
    let got = await get(port, '/load');
    expect(got.status).toBe(503);
    expect(JSON.parse(got.body)).toMatchObject({ status: 'drain' });
    r.down();
    expect(JSON.parse((await get(port, '/load')).body)).toMatchObject({ status: 'down' });
    r.up();
    got = await get(port, '/load');
    expect(got.status).toBe(200);
    expect(r.status).toBe('up');
  });

  it('counts tracked requests in flight until their responses close', async () => {
    const r = reporter();
    const held: ServerResponse[] = [];
    const port = await serve((req, res) => {
      if (req.url === '/load') return r(req, res);
      r.track(req, res);
      r.track(req, res); // counted once
      held.push(res);
    });
    const pending = [get(port, '/work'), get(port, '/work')];
    await waitFor(() => held.length === 2, 'both requests to arrive');
    expect(JSON.parse((await get(port, '/load')).body)).toMatchObject({ inFlight: 2 });
    for (const res of held) res.end('done');
    await Promise.all(pending);
    await waitFor(() => r.report().inFlight === 0, 'the in-flight count to fall to 0');
  });

  it('counts begin()/end() work, never below zero, and takes an inFlight callback instead', () => {
    const r = reporter();
    const done = r.begin();
    r.begin();
    expect(r.report().inFlight).toBe(2);
    done();
    done(); // idempotent
    expect(r.report().inFlight).toBe(1);
    r.end();
    r.end();
    expect(r.report().inFlight).toBe(0);
    expect(reporter({ inFlight: () => 12 }).report().inFlight).toBe(12);
  });

  it('works as middleware: passes other paths to next() counted in flight, honours mount paths', async () => {
    const r = reporter();
    const seen: number[] = [];
    const port = await serve((req, res) => {
      r(req, res, () => {
        seen.push(r.report().inFlight);
        res.end('app');
      });
    });
    expect((await get(port, '/orders')).body).toBe('app');
    expect(seen).toEqual([1]);
    // Express under app.use('/load', reporter) rewrites req.url and keeps originalUrl.
    const res = { writeHead: vi.fn(), end: vi.fn() } as unknown as ServerResponse;
    const next = vi.fn();
    r(
      { url: '/', originalUrl: '/load', method: 'GET' } as IncomingMessage & { originalUrl: string },
      res,
      next,
    );
    expect(next).not.toHaveBeenCalled();
    expect(res.writeHead).toHaveBeenCalledWith(
      200,
      expect.objectContaining({ 'content-type': 'application/json' }),
    );
  });

  it('answers 404 for other paths without next, headers only for HEAD, and 405 for POST', async () => {
    const port = await serve(reporter({ path: '/lb/load' }));
    expect((await get(port, '/load')).status).toBe(404);
    const head = await get(port, '/lb/load', 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    expect(Number(head.headers['content-length'])).toBeGreaterThan(50);
    const post = await get(port, '/lb/load', 'POST');
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
  });

  it('works as Koa middleware', async () => {
    const r = reporter();
    // Collected in the handler, judged after: an expectation failing in there would not surface.
    const respond = new Map<string | undefined, boolean | undefined>();
    const port = await serve(async (req, res) => {
      const ctx: { req: IncomingMessage; res: ServerResponse; respond?: boolean } = { req, res };
      await r.koa(ctx, async () => {
        res.end('koa app');
      });
      respond.set(req.url, ctx.respond);
    });
    expect(JSON.parse((await get(port, '/load')).body)).toMatchObject({ status: 'up' });
    expect((await get(port, '/other')).body).toBe('koa app');
    // The reporter answered /load itself and told Koa not to; the app answered the rest.
    expect(Object.fromEntries(respond)).toEqual({ '/load': false, '/other': undefined });
  });

  it('measures a blocked event loop as event-loop delay and utilisation, and busy time as cpu', async () => {
    const r = reporter({ sampleIntervalMs: 100 });
    await waitFor(() => r.report().eventLoopDelayMs < 50, 'a quiet loop first');
    const until = performance.now() + 300;
    while (performance.now() < until) {
      // burn the CPU on the event loop, as a stuck handler would
    }
    await waitFor(() => r.report().eventLoopDelayMs >= 150, 'the block to show as delay', 3000);
    const report = r.report();
    expect(report.eventLoopUtilization).toBeGreaterThan(0.3);
    expect(report.cpu).toBeGreaterThan(0.1); // CPU time, not wall time: a busy 2-core box may preempt us
  });

  it('stops its sampling timer on close(), once', () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setImmediate'] });
    const r = loadReporter();
    expect(vi.getTimerCount()).toBe(1);
    r.close();
    r.close();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('rejects invalid options naming the field and value', () => {
    expect(() => loadReporter({ sampleIntervalMs: 0 })).toThrow(
      /`sampleIntervalMs` must be a number of milliseconds from 1 to 2147483647, got 0/,
    );
    expect(() => loadReporter({ weight: -2 })).toThrow(/`weight` .*, got -2/);
  });
});
