// dashboard() options: the zod schema they are parsed with once, at construction, into a
// fully-defaulted form; a wrong option throws PICKET_INVALID_OPTIONS naming it and its value.

import { type Agrees, durationSchema, parseWith } from '@picket/core/internal';
import type { Client } from '@picket/http';
import { z } from 'zod';

/** What the dashboard reads of a client: its snapshot and its events (any installed copy). */
function isClient(value: unknown): value is Client {
  if (value === null || typeof value !== 'object') return false;
  const c = value as Partial<Client>;
  return typeof c.snapshot === 'function' && typeof c.on === 'function' && typeof c.service === 'string';
}

const HOST = 'must be a host name or IP address to listen on';
const PORT = 'must be a whole number from 0 (any free port) to 65535';
const TOKEN = 'must be a non-empty string of printable ASCII';

export const dashboardSchema = z
  .object({
    clients: z
      .array(z.custom<Client>(isClient, { error: 'must be a Picket client (from createClient)' }), {
        error: 'must be an array of Picket clients',
      })
      .min(1, { error: 'must list at least one client' })
      .readonly(),
    host: z.string({ error: HOST }).trim().min(1, { error: HOST }).default('127.0.0.1'),
    port: z
      .number({ error: PORT })
      .int({ error: PORT })
      .min(0, { error: PORT })
      .max(65535, { error: PORT })
      .default(0),
    token: z
      .string({ error: TOKEN })
      .regex(/^[\x21-\x7e]+$/, { error: TOKEN })
      .optional(),
    // Picket's duration rule, from 100 ms: a faster tick only burns the page's CPU and the client's.
    intervalMs: durationSchema({ min: 100 }).default(1000),
  })
  .strict();

export interface DashboardOptions {
  /** The clients shown, one section each, in this order. At least one. */
  clients: readonly Client[];
  /** Address to listen on. Default `'127.0.0.1'` (loopback only): anything else is opt-in. */
  host?: string;
  /** Port to listen on; 0 takes any free port (read it from `url`). Default 0. */
  port?: number;
  /**
   * When set, the page and the stream answer only requests carrying it (`?token=…` on the page's
   * URL, which `url` includes, or `Authorization: Bearer …`). Default: none.
   */
  token?: string;
  /** Time between snapshots on the stream, ms (100 to 2³¹−1). Default 1000. */
  intervalMs?: number;
}

export type DashboardSettings = z.output<typeof dashboardSchema>;

export function parseDashboardOptions(options: DashboardOptions): DashboardSettings {
  return parseWith(dashboardSchema, options, 'Invalid dashboard options');
}

// The documented options are the schema's input, field for field.
true satisfies Agrees<DashboardOptions, z.input<typeof dashboardSchema>>;
