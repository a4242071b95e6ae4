// The server side of loadCheck: a request handler that serves this process's load as JSON from
// Node's own measurements, plus an in-flight counter and drain()/down() for graceful shutdown.
// Usable as a node:http handler, Express/Connect middleware, with Fastify's raw req/res, and Koa.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { availableParallelism, loadavg, totalmem } from 'node:os';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import {
  type Agrees,
  integer,
  LOAD_FORMAT_HEADER,
  LOAD_HEADER,
  NOT_PROCESSED_HEADER,
  parseWith,
} from '@picket/core/internal';
import { z } from 'zod';
import type { LoadStatus } from './check.ts';
import { fn, positiveMs, requestPath } from './fields.ts';
import type { FullLoadReport } from './load-report.ts';

export interface LoadReporterOptions {
  /** Path the report is served on. Default `'/load'`. */
  path?: string;
  /** Requests in flight, if the app counts them itself. Default: the reporter's own counter. */
  inFlight?: () => number;
  /** A weight to ask callers to balance with: a number, or a function read on each report. Default: none. */
  weight?: number | (() => number | undefined);
  /** Window over which CPU, event-loop delay and utilisation are measured, ms. Default 1000. */
  sampleIntervalMs?: number;
  /**
   * In-band load reports (ORCA): `endpoint-load-metrics` on the responses of requests that ask
   * for one with `endpoint-load-metrics-format: TEXT` or `JSON` (`'requested'`, the default), on
   * every response (`'always'`, in TEXT unless asked for JSON), or never (`false`). The figures
   * are the sample window's, formatted once per window.
   */
  inBand?: 'requested' | 'always' | false;
  /**
   * Sheds load: a request that arrives while the server is over a limit is answered at once with
   * 503, `Retry-After` and `picket-not-processed: true` (Finagle's "nack"), and never reaches the
   * application. A Picket caller retries it on another instance, for any method, since the server
   * promises it did nothing. Off by default.
   */
  shed?: {
    /** Requests in flight at which new ones are shed. */
    maxInFlight?: number;
    /** Event-loop delay (the last window's p99, ms) over which new requests are shed. */
    eventLoopDelayMs?: number;
    /** `Retry-After` sent with a shed request, seconds. Default 1. */
    retryAfterSeconds?: number;
  };
}

type Next = (error?: unknown) => void;

/** Koa's context, as far as the reporter needs it. */
export interface KoaLikeContext {
  /** Node's request. */
  req: IncomingMessage;
  /** Node's response. */
  res: ServerResponse;
  /** Set to false by the reporter when it has answered itself (Koa then leaves the response alone). */
  respond?: boolean;
}

export interface LoadReporter {
  /** Serves the report on `path`; other requests go to `next` (counted in flight) or get 404 without it. */
  (req: IncomingMessage, res: ServerResponse, next?: Next): void;
  /** The path the report is served on (`path` option). */
  readonly path: string;
  /** What the server says about itself now: `up`, or `drain`/`down` after `drain()`/`down()`. */
  readonly status: LoadStatus;
  /** The report as it would be served now. */
  report(): FullLoadReport;
  /** Counts a request in flight until its response closes. Counting the same request twice is a no-op. */
  track(req: IncomingMessage, res: ServerResponse): void;
  /** Counts one unit of work in flight; call the returned function (or `end()`) when it is done. */
  begin(): () => void;
  /** Ends one unit of work `begin()` counted. */
  end(): void;
  /** Serve again (status `up`). */
  up(): void;
  /** Ask callers to stop sending new requests before shutdown (status `drain`, HTTP 503). */
  drain(): void;
  /** Out of service (status `down`, HTTP 503). */
  down(): void;
  /** Koa middleware: `app.use(reporter.koa)`. */
  koa(ctx: KoaLikeContext, next: () => Promise<unknown>): Promise<unknown>;
  /** Stops the measurements' timer and histogram. Idempotent. */
  close(): void;
}

const schema = z.strictObject({
  path: requestPath.default('/load'),
  inFlight: fn<() => number>().optional(),
  weight: z
    .union(
      [
        z
          .number()
          .refine((n) => Number.isFinite(n) && n > 0, { error: 'must be a positive number or a function' }),
        fn<() => number | undefined>(),
      ],
      {
        error: 'must be a positive number or a function',
      },
    )
    .optional(),
  sampleIntervalMs: positiveMs.default(1000),
  inBand: z
    .union([z.literal('requested'), z.literal('always'), z.literal(false)], {
      error: "must be 'requested', 'always' or false",
    })
    .default('requested'),
  shed: z
    .strictObject({
      maxInFlight: integer(1).optional(),
      eventLoopDelayMs: positiveMs.optional(),
      retryAfterSeconds: z
        .number({ error: 'must be a whole number of seconds from 0 to 3600' })
        .int({ error: 'must be a whole number of seconds from 0 to 3600' })
        .min(0, { error: 'must be a whole number of seconds from 0 to 3600' })
        .max(3600, { error: 'must be a whole number of seconds from 0 to 3600' })
        .default(1),
    })
    .optional(),
});

// monitorEventLoopDelay records the gap between ticks of a timer this often; the delay is the excess.
const RESOLUTION_MS = 10;

interface Sample {
  cpu: number;
  eventLoopDelayMs: number;
  eventLoopUtilization: number;
}

const round = (n: number, places: number): number => Math.round(n * 10 ** places) / 10 ** places;

/** Measures CPU, event-loop delay and utilisation over fixed windows. */
class Sampler {
  readonly #histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  readonly #timer: ReturnType<typeof setInterval>;
  readonly #intervalMs: number;
  #cpu = process.cpuUsage();
  #elu = performance.eventLoopUtilization();
  #at = performance.now();
  /** How late this window's sampling timer fired, ms: a second view of the loop's delay. */
  #lateMs = 0;
  #last: Sample | undefined;
  #closed = false;

  constructor(intervalMs: number) {
    this.#intervalMs = intervalMs;
    this.#histogram.enable();
    this.#timer = setInterval(() => {
      this.#lateMs = Math.max(0, performance.now() - this.#at - this.#intervalMs);
      // After a long block this timer and the histogram's are both overdue; measuring in the
      // next check phase lets the histogram record the block first.
      setImmediate(this.#sample);
    }, intervalMs);
    this.#timer.unref();
  }

  readonly #sample = (): void => {
    if (this.#closed) return;
    this.#last = this.#measure(true);
  };

  /** The last full window, or the partial one so far before the first completes. */
  current(): Sample {
    return this.#last ?? this.#measure(false);
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#timer);
    this.#histogram.disable();
  }

  #measure(reset: boolean): Sample {
    const now = performance.now();
    const wallMs = now - this.#at;
    const cpu = process.cpuUsage(this.#cpu);
    const elu = performance.eventLoopUtilization(this.#elu);
    const p99 = this.#histogram.count > 0 ? this.#histogram.percentile(99) / 1e6 : RESOLUTION_MS;
    // The histogram skips the first gap after enable() and reset(), so a block that starts right
    // then is missed; the sampling timer's own lateness still shows it.
    const delayMs = Math.max(p99 - RESOLUTION_MS, this.#lateMs, 0);
    const sample: Sample = {
      cpu: wallMs > 0 ? round((cpu.user + cpu.system) / 1000 / wallMs, 4) : 0,
      eventLoopDelayMs: round(delayMs, 3),
      eventLoopUtilization: round(Math.min(1, Math.max(0, elu.utilization)), 4),
    };
    if (reset) {
      this.#cpu = process.cpuUsage();
      this.#elu = performance.eventLoopUtilization();
      this.#at = now;
      this.#lateMs = 0;
      this.#histogram.reset();
    }
    return sample;
  }
}

function pathOf(req: IncomingMessage): string {
  // Express rewrites req.url under a mount point; originalUrl keeps what the client asked for.
  const url = (req as { originalUrl?: string }).originalUrl ?? req.url ?? '/';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

/** Creates a load reporter. Starts measuring at once (a report needs a window behind it). */
export function loadReporter(options: LoadReporterOptions = {}): LoadReporter {
  const o = parseWith(schema, options, 'Invalid loadReporter options');
  const sampler = new Sampler(o.sampleIntervalMs);
  const tracked = new WeakSet<IncomingMessage>();
  let status: LoadStatus = 'up';
  let counted = 0;
  let closed = false;

  const end = (): void => {
    if (counted > 0) counted--;
  };

  function inFlight(): number {
    const n = o.inFlight === undefined ? counted : o.inFlight();
    return Number.isFinite(n) && n > 0 ? Math.round(n) : 0;
  }

  function weight(): number | undefined {
    const w = typeof o.weight === 'function' ? o.weight() : o.weight;
    return w !== undefined && Number.isFinite(w) && w > 0 ? w : undefined;
  }

  function report(): FullLoadReport {
    const s = sampler.current();
    const w = weight();
    return {
      status,
      ...(w === undefined ? {} : { weight: w }),
      cpu: s.cpu,
      loadAvg1: round(loadavg()[0] ?? 0, 3),
      cpus: availableParallelism(),
      eventLoopDelayMs: s.eventLoopDelayMs,
      eventLoopUtilization: s.eventLoopUtilization,
      inFlight: inFlight(),
      rssBytes: process.memoryUsage.rss(),
    };
  }

  // Responses finished, and those with a 5xx, since the reporter started: rates for in-band reports.
  let answered = 0;
  let failed = 0;
  const finished = function (this: ServerResponse): void {
    end();
    answered++;
    if (this.statusCode >= 500) failed++;
  };

  function track(req: IncomingMessage, res: ServerResponse): void {
    if (tracked.has(req)) return;
    tracked.add(req);
    counted++;
    res.once('close', finished);
  }

  // The in-band report, formatted once per sample window.
  let formattedFor: unknown;
  let text = '';
  let json = '';
  let answeredBefore = 0;
  let failedBefore = 0;
  let windowStarted = performance.now();
  function inBandReport(asJson: boolean): string {
    const sample = sampler.current();
    if (sample !== formattedFor) {
      formattedFor = sample;
      const now = performance.now();
      const seconds = Math.max(0.001, (now - windowStarted) / 1000);
      const rps = round((answered - answeredBefore) / seconds, 3);
      const eps = round((failed - failedBefore) / seconds, 3);
      answeredBefore = answered;
      failedBefore = failed;
      windowStarted = now;
      const cpus = availableParallelism();
      const figures = {
        cpu_utilization: round(sample.cpu / cpus, 4),
        mem_utilization: round(process.memoryUsage.rss() / (process.constrainedMemory() || totalmem()), 4),
        application_utilization: sample.eventLoopUtilization,
        rps_fractional: rps,
        eps,
      };
      const named = { event_loop_delay_ms: sample.eventLoopDelayMs, in_flight: inFlight() };
      text = `TEXT ${[
        ...Object.entries(figures).map(([k, v]) => `${k}=${v}`),
        ...Object.entries(named).map(([k, v]) => `named_metrics.${k}=${v}`),
      ].join(', ')}`;
      json = `JSON ${JSON.stringify({ ...figures, named_metrics: named })}`;
    }
    return asJson ? json : text;
  }

  /** Adds the in-band report to a response, when the request asks for one or always. */
  function inBandHeader(req: IncomingMessage, res: ServerResponse): void {
    if (o.inBand === false) return;
    const asked = req.headers[LOAD_FORMAT_HEADER];
    if (asked === undefined && o.inBand !== 'always') return;
    const asJson = typeof asked === 'string' && asked.trim().toUpperCase() === 'JSON';
    res.setHeader(LOAD_HEADER, inBandReport(asJson));
  }

  function serve(req: IncomingMessage, res: ServerResponse): void {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' });
      res.end();
      return;
    }
    const body = JSON.stringify(report());
    // 503 while draining or down, so a plain httpCheck on this path takes the instance out too.
    res.writeHead(status === 'up' ? 200 : 503, {
      'content-type': 'application/json',
      'cache-control': 'no-store',
      'content-length': Buffer.byteLength(body),
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  const shed = o.shed;
  /** Over a shedding limit: the request is refused, unread by the application. */
  function overloaded(): boolean {
    if (shed === undefined) return false;
    if (shed.maxInFlight !== undefined && inFlight() >= shed.maxInFlight) return true;
    return shed.eventLoopDelayMs !== undefined && sampler.current().eventLoopDelayMs > shed.eventLoopDelayMs;
  }

  function refuse(res: ServerResponse): void {
    const body = 'overloaded: not processed, retry elsewhere';
    res.writeHead(503, {
      'content-type': 'text/plain',
      'retry-after': String(shed?.retryAfterSeconds ?? 1),
      [NOT_PROCESSED_HEADER]: 'true',
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
  }

  const handler = (req: IncomingMessage, res: ServerResponse, next?: Next): void => {
    if (pathOf(req) === o.path) {
      serve(req, res);
      return;
    }
    if (next === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('Not Found');
      return;
    }
    if (overloaded()) {
      refuse(res);
      return;
    }
    track(req, res);
    inBandHeader(req, res);
    next();
  };

  // A getter would be copied as a value by Object.assign, so `status` is defined separately.
  Object.defineProperty(handler, 'status', { get: () => status, enumerable: true });
  return Object.assign(handler as typeof handler & { readonly status: LoadStatus }, {
    path: o.path,
    report,
    track,
    begin(): () => void {
      counted++;
      let open = true;
      return () => {
        if (open) end();
        open = false;
      };
    },
    end,
    up: () => {
      status = 'up';
    },
    drain: () => {
      status = 'drain';
    },
    down: () => {
      status = 'down';
    },
    koa(ctx: KoaLikeContext, next: () => Promise<unknown>): Promise<unknown> {
      if (pathOf(ctx.req) === o.path) {
        ctx.respond = false; // Koa must not write a response of its own
        serve(ctx.req, ctx.res);
        return Promise.resolve();
      }
      if (overloaded()) {
        ctx.respond = false;
        refuse(ctx.res);
        return Promise.resolve();
      }
      track(ctx.req, ctx.res);
      inBandHeader(ctx.req, ctx.res);
      return next();
    },
    close(): void {
      if (closed) return;
      closed = true;
      sampler.close();
    },
  });
}

// The documented options are the schema's input, field for field.
true satisfies Agrees<LoadReporterOptions, z.input<typeof schema>>;
