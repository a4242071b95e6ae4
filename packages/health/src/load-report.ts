// The load report: the JSON a server's loadReporter serves and loadCheck reads. Its field names
// are the contract between the two sides, so both use this one schema.

import { type Agrees, fraction, parseWith } from '@picket/core/internal';
import { z } from 'zod';
import type { LoadStatus } from './check.ts';

const nonNegative = z
  .number({ error: 'must be a number' })
  .refine((n) => Number.isFinite(n) && n >= 0, { error: 'must be a non-negative number' });
const count = z
  .number({ error: 'must be a number' })
  .int({ error: 'must be an integer' })
  .min(0, { error: 'must be a non-negative integer' });

// JSON has no "undefined": many serializers (Jackson, System.Text.Json) write `null` for a value
// they do not have, so `null` means "not reported" as much as a missing field does.
const notReported = (value: unknown) => (value === null ? undefined : value);
const figure = <T extends z.ZodType>(schema: T) => z.preprocess(notReported, schema.optional());

/**
 * Validates a load report. Only `status` is required: a server reports the figures it knows (a
 * Java service its load average, not its event-loop delay), and a limit on a figure it leaves out
 * is not judged. A figure that is there must be valid. Unknown fields are ignored (not rejected),
 * so a newer server that reports more does not take itself out of rotation with older callers.
 */
export const loadReportSchema = z.object({
  status: z.enum(['up', 'drain', 'down'], {
    error: (issue) =>
      issue.input === undefined ? "is required ('up', 'drain' or 'down')" : "must be 'up', 'drain' or 'down'",
  }),
  weight: figure(
    z
      .number({ error: 'must be a number' })
      .refine((n) => Number.isFinite(n) && n > 0, { error: 'must be a positive number' }),
  ),
  cpu: figure(nonNegative),
  loadAvg1: z.preprocess(
    (value) => (typeof value === 'number' && value < 0 ? undefined : notReported(value)),
    nonNegative.optional(),
  ),
  cpus: figure(count.min(1, { error: 'must be at least 1' })),
  eventLoopDelayMs: figure(nonNegative),
  eventLoopUtilization: figure(fraction),
  inFlight: figure(count),
  rssBytes: figure(count),
});

/**
 * A load report as loadCheck reads it: `status`, and whichever figures the server knows. (Not
 * @picket/core's `LoadReport`, the ORCA figures `balancer.reportLoad` takes.)
 */
export interface LoadReport {
  /** `up` serves; `drain` asks callers to stop sending new requests; `down` is out. */
  status: LoadStatus;
  /** A weight the server asks to be balanced with, when it sets one. */
  weight?: number | undefined;
  /** The process's CPU time over the last sample window, as a fraction of one core (1 = one core busy). */
  cpu?: number | undefined;
  /**
   * The machine's 1-minute load average. A negative one is Java's "not available"
   * (`OperatingSystemMXBean.getSystemLoadAverage()` returns -1 where it cannot tell, on Windows
   * for one): not reported, not invalid.
   */
  loadAvg1?: number | undefined;
  /** CPUs available to the process (`os.availableParallelism()`). */
  cpus?: number | undefined;
  /** 99th percentile event-loop delay over the last sample window, ms. */
  eventLoopDelayMs?: number | undefined;
  /** Share of the last sample window the event loop was busy, 0 to 1. */
  eventLoopUtilization?: number | undefined;
  /** Requests being served now. */
  inFlight?: number | undefined;
  /** Resident set size, bytes. */
  rssBytes?: number | undefined;
}
true satisfies Agrees<LoadReport, z.output<typeof loadReportSchema>>;

type Figures = Exclude<keyof LoadReport, 'status' | 'weight'>;

/** What loadReporter serves: every figure (and `weight` when one is set). */
export type FullLoadReport = Omit<LoadReport, Figures> & { [K in Figures]-?: NonNullable<LoadReport[K]> };

/** Parses a load report, throwing PICKET_HEALTH_CHECK_FAILED naming each wrong field and value. */
export function parseLoadReport(input: unknown): LoadReport {
  return parseWith(loadReportSchema, input, 'Invalid load report', 'PICKET_HEALTH_CHECK_FAILED');
}
