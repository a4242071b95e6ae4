// What a client does with in-band load reports: made only when something uses them (the
// weighted-round-robin strategy, or `loadReports.max`), it asks servers for a report with each
// request, hands each report to the balancer (for the strategy's weights), and takes an instance
// whose report is over a limit out of rotation at once, until a report (or an active check) says
// it is back under. A report that cannot be read is counted and ignored: a request never fails
// for it.

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

/** An instance's last report text, with what it said (null: it could not be read). */
interface LastReport {
  header: FoundReport['header'];
  value: string;
  report: OrcaReport | null;
}

/** The health source in-band limits report as. */
export const LOAD_REPORT_SOURCE = 'load-report';

interface LoadSink {
  reportLoad?(
    id: string,
    report: { cpuUtilization?: number; applicationUtilization?: number; rps?: number; eps?: number },
  ): void;
}

/**
 * How long an instance taken out for its report stays out before it gets traffic again (and so a
 * new report): out of rotation, it sends none.
 */
export const RECHECK_MS = 5000;

export class InBandLoad {
  readonly #balancer: Balancer & LoadSink;
  readonly #max: LoadReportLimits | undefined;
  readonly #health: HealthSource;
  /** Instances this client took out for a report over a limit, with the timer that lets them back. */
  readonly #over = new Map<string, NodeJS.Timeout>();
  /** Reports that could not be read. */
  malformed = 0;
  /** Reports read. */
  reports = 0;

  constructor(balancer: Balancer, max: LoadReportLimits | undefined) {
    this.#balancer = balancer as Balancer & LoadSink;
    this.#health = balancer.healthSource(LOAD_REPORT_SOURCE);
    this.#max = max;
  }

  /** Reads the report in a response's headers, if any. No cost beyond three lookups without one. */
  observe(instance: Instance, headers: Headers): void {
    const report = this.#read(instance, headers);
    if (report === undefined) return;
    if (report === null) {
      this.malformed++;
      return;
    }
    this.reports++;
    this.#balancer.reportLoad?.(instance.id, report);
    if (this.#max !== undefined) this.#judge(instance, report, this.#max);
  }

  // A server's figures change once per sample window, and it sends the same text until then: each
  // instance's last text is kept with what it said, and a response repeating it is not parsed
  // again (comparing the text costs less than hashing it for a shared table would).
  readonly #last = new WeakMap<Instance, LastReport>();

  #read(instance: Instance, headers: Headers): OrcaReport | null | undefined {
    const found = findLoadReport(headers);
    if (found === undefined) return undefined;
    const last = this.#last.get(instance);
    if (last === undefined) {
      const report = parseFound(found);
      this.#last.set(instance, { header: found.header, value: found.value, report });
      return report;
    }
    if (last.value !== found.value || last.header !== found.header) {
      last.header = found.header;
      last.value = found.value;
      last.report = parseFound(found);
    }
    return last.report;
  }

  #judge(instance: Instance, report: OrcaReport, max: LoadReportLimits): void {
    const over = overLimit(report, max);
    const id = instance.id;
    if (over !== undefined) {
      clearTimeout(this.#over.get(id));
      const timer = setTimeout(() => this.clear(id, 'out for its load report; traffic again'), RECHECK_MS);
      timer.unref();
      this.#over.set(id, timer);
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
export function overLimit(report: OrcaReport, max: LoadReportLimits): string | undefined {
  const check = (name: string, value: number | undefined, limit: number | undefined) =>
    value !== undefined && limit !== undefined && value > limit ? `${name} ${value} > ${limit}` : undefined;
  return (
    check('cpu_utilization', report.cpuUtilization, max.cpuUtilization) ??
    check('application_utilization', report.applicationUtilization, max.applicationUtilization) ??
    check('event_loop_delay_ms', report.named?.event_loop_delay_ms, max.eventLoopDelayMs) ??
    check('in_flight', report.named?.in_flight, max.inFlight)
  );
}
