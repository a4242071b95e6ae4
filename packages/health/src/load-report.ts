// The load report: the JSON a server's loadReporter serves and loadCheck reads. Its field names
// are the contract between the two sides, so both use this one schema.

import { parseWith } from '@picket/core';
import { z } from 'zod';

const nonNegative = z
  .number({ error: 'must be a number' })
  .refine((n) => Number.isFinite(n) && n >= 0, { error: 'must be a non-negative number' });
const count = z
  .number({ error: 'must be a number' })
  .int({ error: 'must be an integer' })
  .min(0, { error: 'must be a non-negative integer' });

/**
 * Validates a load report. Unknown fields are ignored (not rejected), so a newer server that
 * reports more does not take itself out of rotation with older callers.
 */
export const loadReportSchema = z.object({
  /** `up` serves; `drain` asks callers to stop sending new requests; `down` is out. */
  status: z.enum(['up', 'drain', 'down'], { error: "must be 'up', 'drain' or 'down'" }),
  /** A weight the server asks to be balanced with, when it sets one. */
  weight: z
    .number({ error: 'must be a number' })
    .refine((n) => Number.isFinite(n) && n > 0, { error: 'must be a positive number' })
    .optional(),
  /** The process's CPU time over the last sample window, as a fraction of one core (1 = one core busy). */
  cpu: nonNegative,
  /** The machine's 1-minute load average. */
  loadAvg1: nonNegative,
  /** CPUs available to the process (`os.availableParallelism()`). */
  cpus: count.min(1, { error: 'must be at least 1' }),
  /** 99th percentile event-loop delay over the last sample window, ms. */
  eventLoopDelayMs: nonNegative,
  /** Share of the last sample window the event loop was busy, 0 to 1. */
  eventLoopUtilization: nonNegative.refine((n) => n <= 1, { error: 'must be between 0 and 1' }),
  /** Requests being served now. */
  inFlight: count,
  /** Resident set size, bytes. */
  rssBytes: count,
});

export type LoadReport = z.output<typeof loadReportSchema>;

/** Parses a load report, throwing PICKET_HEALTH_CHECK_FAILED naming each wrong field and value. */
export function parseLoadReport(input: unknown): LoadReport {
  return parseWith(loadReportSchema, input, 'Invalid load report', 'PICKET_HEALTH_CHECK_FAILED');
}
