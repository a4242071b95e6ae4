// What a client does with in-band load reports: made only when something uses them (the
// weighted-round-robin strategy, or `loadReports.max`), it asks each instance for a report at
// most once per interval (a server's figures change once per sample window, so asking more often
// only fetches the same text again), reads every report that arrives, asked for or not, hands it
// to the balancer (for the strategy's weights), and takes an instance whose report is over a
// limit out of rotation at once, until a report (or an active check) says it is back under. A
// report that cannot be read is counted and ignored: a request never fails for it.

import type { Balancer, HealthSource, Instance } from '@picket/core';
import { type FoundReport, findLoadReport, type OrcaReport, parseFound } from './orca.ts';

type Headers = Record<string, string | string[] | undefined>;

/** Limits on the figures of in-band reports; an instance over any is taken out. */
export interface LoadReportLimits {
  /** `cpu_utilization`, a fraction of the instance's CPU. */
  cpuUtilization?: number;
  /** `application_utilization` (event-loop utilization for a Node server), 0..1. */
  applicationUtilization?: number;
  /** `named_metrics.event_loop_delay_ms`. */
  eventLoopDelayMs?: number;
  /** `named_metrics.in_flight`. */
  inFlight?: number;
}

/**
 * What the client knows of one instance's reports: when it last asked for one (or received one),
 * and the last report text with what it said (report null: it could not be read).
 */
interface Seen {
  askedAt: number;
  header: FoundReport['header'] | null;
  value: string;
  report: OrcaReport | null;
}

/** The health source in-band limits report as. */
const LOAD_REPORT_SOURCE = 'load-report';

/**
 * How long an instance taken out for its report stays out before it gets traffic again (and so a
 * new report): out of rotation, it sends none.
 */
export const RECHECK_MS = 5000;

/** `loadReports.intervalMs`'s default: `loadReporter`'s sample window, in which its figures stay the same. */
export const ASK_INTERVAL_MS = 1000;

export class InBandLoad {
  readonly #balancer: Balancer;
  readonly #max: LoadReportLimits | undefined;
  readonly #health: HealthSource;
  readonly #intervalMs: number;
  /** Instances this client took out for a report over a limit, with the timer that lets them back. */
  readonly #over = new Map<string, NodeJS.Timeout>();
  /** Reports that could not be read. */
  malformed = 0;
  /** Reports read. */
  reports = 0;

  constructor(balancer: Balancer, max: LoadReportLimits | undefined, intervalMs = ASK_INTERVAL_MS) {
    this.#balancer = balancer;
    this.#health = balancer.healthSource(LOAD_REPORT_SOURCE);
    this.#max = max;
    this.#intervalMs = intervalMs;
  }

  // Each instance's asks and last report, kept as long as the instance object lives.
  readonly #seen = new WeakMap<Instance, Seen>();

  /**
   * Whether an attempt sent to `instance` at `now` (ms) asks for a report: when it never asked,
   * or its last ask or report is at least the interval old (0: every attempt asks). A yes is
   * noted as the instance's last ask.
   */
  ask(instance: Instance, now: number): boolean {
    const seen = this.#seen.get(instance);
    if (seen === undefined) {
      this.#seen.set(instance, { askedAt: now, header: null, value: '', report: null });
      return true;
    }
    if (now - seen.askedAt < this.#intervalMs) return false;
    seen.askedAt = now;
    return true;
  }

  /**
   * Reads the report in a response's headers, if any, received at `now` (ms). No cost beyond
   * three lookups without one.
   */
  observe(instance: Instance, headers: Headers, now: number): void {
    const report = this.#read(instance, headers, now);
    if (report === undefined) return;
    if (report === null) {
      this.malformed++;
      return;
    }
    this.reports++;
    this.#balancer.reportLoad(instance.id, report);
    if (this.#max !== undefined) this.#judge(instance, report, this.#max);
  }

  // A server's figures change once per sample window, and it sends the same text until then (a
  // server that reports on every response, unasked): each instance's last text is kept with what
  // it said, and a response repeating it is not parsed again (comparing the text costs less than
  // hashing it for a shared table would). A report received counts as an ask answered.
  #read(instance: Instance, headers: Headers, now: number): OrcaReport | null | undefined {
    const found = findLoadReport(headers);
    if (found === undefined) return undefined;
    const seen = this.#seen.get(instance);
    if (seen === undefined) {
      const report = parseFound(found);
      this.#seen.set(instance, { askedAt: now, header: found.header, value: found.value, report });
      return report;
    }
    seen.askedAt = now;
    if (seen.value !== found.value || seen.header !== found.header) {
      seen.header = found.header;
      seen.value = found.value;
      seen.report = parseFound(found);
    }
    return seen.report;
  }

  #judge(instance: Instance, report: OrcaReport, max: LoadReportLimits): void {
    const over = overLimit(report, max);
    const id = instance.id;
    if (over !== undefined) {
      clearTimeout(this.#over.get(id));
      const timer = setTimeout(() => this.clear(id, 'out for its load report; traffic again'), RECHECK_MS);
      timer.unref();
      this.#over.set(id, timer);
      // Its next attempt, once it is back in rotation, asks again whatever the interval.
      this.#seen.get(instance)!.askedAt = Number.NEGATIVE_INFINITY;
      this.#health.set(id, 'unhealthy', `load report over limit: ${over}`);
    } else {
      this.clear(id, 'load report under its limits');
    }
  }

  /** Puts an instance taken out for its report back (a report under the limits, a passing check, time). */
  clear(id: string, reason: string): void {
    const timer = this.#over.get(id);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.#over.delete(id);
    if (!this.#balancer.closed) this.#health.set(id, 'healthy', reason);
  }

  close(): void {
    for (const timer of this.#over.values()) clearTimeout(timer);
    this.#over.clear();
  }
}

/** The first figure over its limit, as `name value > limit`; undefined when none is. */
function overLimit(report: OrcaReport, max: LoadReportLimits): string | undefined {
  const check = (name: string, value: number | undefined, limit: number | undefined) =>
    value !== undefined && limit !== undefined && value > limit ? `${name} ${value} > ${limit}` : undefined;
  return (
    check('cpu_utilization', report.cpuUtilization, max.cpuUtilization) ??
    check('application_utilization', report.applicationUtilization, max.applicationUtilization) ??
    check('event_loop_delay_ms', report.named?.event_loop_delay_ms, max.eventLoopDelayMs) ??
    check('in_flight', report.named?.in_flight, max.inFlight)
  );
}
