// Server-reported load (ORCA's figures, from in-band response headers or an active load check),
// as the balancer keeps it: the latest report per endpoint, stamped with the balancer's clock, for
// strategies (weighted round robin) to read. Recording one is a few field writes.

/** One load report, as `Balancer.reportLoad` takes it. Any figure may be absent. */
export interface LoadReport {
  /** CPU in use as a fraction of what the instance has (ORCA `cpu_utilization`), 0..1, may exceed 1. */
  cpuUtilization?: number;
  /**
   * The application's own utilization (ORCA `application_utilization`; a Node server's event-loop
   * utilization), 0..1, may exceed 1. Preferred over `cpuUtilization` when present and above 0.
   */
  applicationUtilization?: number;
  /** Requests per second the instance serves, from all its callers (ORCA `rps_fractional`). */
  rps?: number;
  /** Errors per second (ORCA `eps`). */
  eps?: number;
}

/** A figure worth keeping: finite and not negative. */
function figure(value: number | undefined): number {
  return typeof value === 'number' && value >= 0 && value < Number.POSITIVE_INFINITY ? value : Number.NaN;
}

/**
 * The latest report of one endpoint. A figure the report did not carry (or carried as a negative
 * or non-finite number) is NaN rather than undefined: the fields stay plain doubles, so that
 * writing them allocates nothing.
 */
export class LoadReading {
  /** Balancer clock (ms) of the latest report; -1 before the first. */
  at = -1;
  /**
   * Balancer clock of the first report of the current run: reports no more than `runGapMs` apart
   * (gRPC's non_empty_since, which blacks out a weight until reports have come for a while).
   */
  since = -1;
  /**
   * A silence this long ends a run, ms; set by the strategy that reads the reports (weighted
   * round robin: its weight expiration period). Until then one run lasts for good.
   */
  runGapMs = Number.POSITIVE_INFINITY;
  /** Reports recorded, so that a reader can tell a new report from the one it saw last. */
  count = 0;
  cpuUtilization = Number.NaN;
  applicationUtilization = Number.NaN;
  rps = Number.NaN;
  eps = Number.NaN;

  record(report: LoadReport, now: number): void {
    this.cpuUtilization = figure(report.cpuUtilization);
    this.applicationUtilization = figure(report.applicationUtilization);
    this.rps = figure(report.rps);
    this.eps = figure(report.eps);
    if (this.at < 0 || now - this.at >= this.runGapMs) this.since = now;
    this.at = now;
    this.count++;
  }
}
