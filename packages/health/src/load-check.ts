// Server-reported load: reads the JSON a loadReporter serves and takes the instance out when the
// server says `drain`/`down` or a figure passes its limit, before the server fails outright (the
// operations practice of pulling a box from the L4 pool on load average and CPU). Optionally the
// report sets the instance's weight, lower under higher CPU, as gRPC's weighted round robin does
// with ORCA reports. A report need carry only `status`: a limit on a figure it leaves out is not
// judged, and the result says so, so that a server reporting what it knows stays in rotation.

import type { LoadReport as BalancerLoad, TlsOptions } from '@picket/core';
import {
  type Agrees,
  describeIssues,
  durationSchema,
  messageOf,
  parseWith,
  tlsSchema,
} from '@picket/core/internal';
import { z } from 'zod';
import type { CheckResult, HealthCheck } from './check.ts';
import { fn, fraction, headers, port, positiveMs, requestPath } from './fields.ts';
import { CheckPool } from './http-pool.ts';
import { probe, probeAddress, probeHeaders } from './http-probe.ts';
import { type LoadReport, loadReportSchema } from './load-report.ts';
import { formatMs, withDeadline } from './util.ts';

/**
 * Upper limits; a report above any of them fails the check. Each is off when omitted, and not
 * judged against a report that does not carry its figure.
 */
export interface LoadThresholds {
  /** Process CPU as a fraction of one core (`1` = one core busy). */
  cpu?: number;
  /** The 1-minute load average divided by the CPU count (needs both `loadAvg1` and `cpus`). */
  loadAvgPerCpu?: number;
  /** p99 event-loop delay, ms. */
  eventLoopDelayMs?: number;
  /** Share of time the event loop was busy, 0 to 1. */
  eventLoopUtilization?: number;
  /** Requests in flight on the server. */
  inFlight?: number;
  /** Resident set size, bytes. */
  rssBytes?: number;
}

export interface LoadCheckOptions {
  /** Path of the load report, after the instance's base path. Default `'/load'`. */
  path?: string;
  /** Read the report from this port instead of the instance's. Default: the instance's. */
  port?: number;
  /** Extra request headers (for example a token the load endpoint needs). */
  headers?: Record<string, string>;
  /** Limits that take the instance out (with the checker's rise/fall hysteresis). Default: none. */
  max?: LoadThresholds;
  /**
   * Balance on a weight from the report: `true` uses the report's `weight`, or else
   * 100 × (1 − cpu) (at least 1), or leaves the weight alone when the report has neither; a
   * function computes it. Default false (weights untouched).
   */
  weight?: boolean | ((report: LoadReport) => number);
  /** The check's own deadline, ms; the checker's `timeout` applies as well. Default: only the checker's. */
  timeout?: number;
  /** TLS to `https` instances: pass the client's `tls` (a private CA, a client certificate). */
  tls?: TlsOptions;
}

const limit = z
  .number({ error: 'must be a number' })
  .refine((n) => Number.isFinite(n) && n >= 0, { error: 'must be a non-negative number' })
  .optional();

const schema = z.strictObject({
  path: requestPath.default('/load'),
  port: port.optional(),
  headers: headers.default({}),
  max: z
    .strictObject({
      cpu: limit,
      loadAvgPerCpu: limit,
      eventLoopDelayMs: durationSchema().optional(),
      // A share of the loop's time: a limit above 1 would never be passed.
      eventLoopUtilization: fraction.optional(),
      inFlight: limit,
      rssBytes: limit,
    })
    .default({}),
  weight: z
    .union([z.boolean(), fn<(report: LoadReport) => number>()], { error: 'must be a boolean or a function' })
    .default(false),
  timeout: positiveMs.optional(),
  tls: tlsSchema.optional(),
});

const MAX_REPORT_BYTES = 16_384;
const MAX_WEIGHT = 1_000_000;

/** Weight for `weight: true`: the server's own, else the CPU headroom on a 1–100 scale; undefined without either. */
export function weightFromReport(report: LoadReport): number | undefined {
  if (report.weight !== undefined) return Math.min(report.weight, MAX_WEIGHT);
  if (report.cpu === undefined) return undefined;
  return Math.max(1, Math.round(100 * (1 - Math.min(report.cpu, 0.99))));
}

/**
 * The report's figures as the balancer takes them (`reportLoad`, for weighted round robin):
 * event-loop utilization is a Node server's application utilization (the event loop is what
 * saturates first); CPU is `cpu / cpus`, the share of the machine's CPUs in use, as ORCA's
 * `cpu_utilization` (the raw `cpu`, a fraction of one core, when `cpus` is not reported).
 * In-flight requests and event-loop delay are queue lengths, not utilizations: not mapped. No
 * rps: the balancer's strategy measures the rate it sends at. Undefined when neither is there.
 */
function balancerLoadOf(report: LoadReport): BalancerLoad | undefined {
  const { cpu, cpus, eventLoopUtilization } = report;
  if (cpu === undefined && eventLoopUtilization === undefined) return undefined;
  const load: BalancerLoad = {};
  if (cpu !== undefined) load.cpuUtilization = cpus === undefined ? cpu : cpu / cpus;
  if (eventLoopUtilization !== undefined) load.applicationUtilization = eventLoopUtilization;
  return load;
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

type Figure = keyof LoadThresholds;

// Summarised in a passing result when no limit is set: what says most about a Node server.
const SUMMARY: readonly Figure[] = ['cpu', 'eventLoopDelayMs', 'inFlight'];

/** Each limit's figure from the report, undefined where the report does not carry it. */
function figures(report: LoadReport): Record<Figure, number | undefined> {
  const { loadAvg1, cpus } = report;
  return {
    cpu: report.cpu,
    loadAvgPerCpu: loadAvg1 === undefined || cpus === undefined ? undefined : loadAvg1 / cpus,
    eventLoopDelayMs: report.eventLoopDelayMs,
    eventLoopUtilization: report.eventLoopUtilization,
    inFlight: report.inFlight,
    rssBytes: report.rssBytes,
  };
}

/** `rssBytes`, or `loadAvgPerCpu (no cpus)` for a figure worked out from fields that are missing. */
function unreported(report: LoadReport, key: Figure): string {
  if (key !== 'loadAvgPerCpu') return key;
  const missing = (['loadAvg1', 'cpus'] as const).filter((field) => report[field] === undefined);
  return `${key} (no ${missing.join(', ')})`;
}

/** A check that reads a server's load report (see loadReporter) and judges it against limits. */
export function loadCheck(options: LoadCheckOptions = {}): HealthCheck {
  const o = parseWith(schema, options, 'Invalid loadCheck options');
  const weighOf = o.weight === true ? weightFromReport : o.weight === false ? undefined : o.weight;
  const limits = Object.entries(o.max).filter((e): e is [Figure, number] => e[1] !== undefined);
  const summarised = limits.length > 0 ? limits.map(([key]) => key) : SUMMARY;
  const pool = new CheckPool(o.tls);
  const request = {
    path: o.path,
    port: o.port,
    method: 'GET',
    headers: probeHeaders(o.headers),
    readBody: true,
    maxBodyBytes: MAX_REPORT_BYTES,
  };

  function judge(report: LoadReport, head: string, latencyMs: number): CheckResult {
    const result: CheckResult = { ok: true, layer: 'load', reason: '', latencyMs, status: report.status };
    const load = balancerLoadOf(report);
    if (load !== undefined) result.load = load;
    let note = '';
    if (weighOf !== undefined) {
      try {
        const w = weighOf(report);
        if (w === undefined && o.weight === true) note = '; no weight: the report has neither weight nor cpu';
        else if (w !== undefined && Number.isFinite(w) && w > 0) result.weight = Math.min(w, MAX_WEIGHT);
        else note = `; weight ${String(w)} ignored (must be a positive number)`;
      } catch (error) {
        note = `; weight function threw: ${messageOf(error)}`;
      }
    }
    if (report.status !== 'up') {
      result.ok = false;
      result.reason = `${head}: status ${report.status}${note}`;
      return result;
    }
    const now = figures(report);
    const over: string[] = [];
    const notJudged: string[] = [];
    for (const [key, max] of limits) {
      const value = now[key];
      if (value === undefined) notJudged.push(unreported(report, key));
      else if (value > max) over.push(`${key} ${round(value)} > ${max}`);
    }
    const unjudged = notJudged.length === 0 ? '' : `; not reported, so not judged: ${notJudged.join(', ')}`;
    if (over.length > 0) {
      result.ok = false;
      result.reason = `${head}: over limit: ${over.join(', ')}${unjudged}${note}`;
      return result;
    }
    const shown = summarised
      .filter((key) => now[key] !== undefined)
      .map((key) => `${key} ${round(now[key]!)}`);
    if (result.weight !== undefined) shown.push(`weight ${result.weight}`);
    const summary = shown.length === 0 ? '' : ` (${shown.join(', ')})`;
    result.reason = `${head}: up${summary}${unjudged}${note}`;
    return result;
  }

  return {
    layer: 'load',
    async run(instance, signal): Promise<CheckResult> {
      const deadline = withDeadline(signal, o.timeout);
      try {
        const got = await probe(pool, instance, request, deadline.signal);
        if (got.kind === 'failed') {
          const where = `GET ${o.path} on ${probeAddress(instance, o.port)}`;
          const took = got.words.startsWith('timed out') ? '' : `, ${formatMs(got.latencyMs)}`;
          return {
            ok: false,
            layer: 'load',
            reason: `load: ${got.words} (${where}${took})`,
            latencyMs: got.latencyMs,
          };
        }
        const head = `load: ${o.path} in ${formatMs(got.latencyMs)}`;
        const fail = (why: string): CheckResult => ({
          ok: false,
          layer: 'load',
          reason: `${head}: ${why}`,
          latencyMs: got.latencyMs,
        });
        if (got.tooLarge) return fail(`status ${got.status}, report over ${MAX_REPORT_BYTES} bytes`);
        let json: unknown;
        try {
          json = JSON.parse(got.body ?? '');
        } catch {
          return fail(`status ${got.status}, not a load report (not JSON)`);
        }
        const parsed = loadReportSchema.safeParse(json);
        if (!parsed.success) {
          return fail(
            `status ${got.status}, invalid load report: ${describeIssues(parsed.error.issues, json)}`,
          );
        }
        return judge(parsed.data, head, got.latencyMs);
      } finally {
        deadline.dispose();
      }
    },
    close: () => pool.close(),
  };
}

// The documented options are the schema's input, field for field.
true satisfies Agrees<LoadCheckOptions, z.input<typeof schema>>;
