// `dns()`: every A/AAAA address of a name as an instance, refreshed when the TTL runs out, so the
// client balances over all addresses itself instead of sticking to one cached answer. With
// `srv`, SRV records instead (see dns-srv.ts). A failing server leaves the last answer in force;
// one family failing while the other answers is an answer (reported once, see FamilyStreaks).

import { type Agrees, parseWith } from '@picket/core/internal';
import { z } from 'zod';
import { type BackoffOptions, backoffSchema, createBackoff } from './backoff.ts';
import { createProvider, limitsShape, retryLoop } from './base.ts';
import {
  type Address,
  addressId,
  createResolver,
  FamilyStreaks,
  parseServer,
  resolveAddresses,
} from './dns-resolve.ts';
import { runSrv } from './dns-srv.ts';
import { integer, port, wholeMs } from './fields.ts';
import type { Provider } from './provider.ts';

export interface DnsOptions {
  /** Name whose A/AAAA records are the instances. Give this and `port`, or `srv`. */
  hostname?: string;
  /** Port of every instance found by `hostname`. */
  port?: number;
  /** SRV name (`_http._tcp.inventory.example`): priority, weight, port and target per record. */
  srv?: string;
  /** DNS servers as `ip`, `ip:port` or `[ipv6]:port`. Default: the system's. */
  servers?: readonly string[];
  /** 4 for A only, 6 for AAAA only, 0 for both. Default 0. */
  family?: 0 | 4 | 6;
  /** Instances speak https. Default false. */
  secure?: boolean;
  /** Zone given to every instance found. Default none. */
  zone?: string;
  /** Shortest time between refreshes, whatever the TTL, ms. Default 1000. */
  minTtlMs?: number;
  /** Longest time between refreshes, whatever the TTL, ms. Default 300000. */
  maxTtlMs?: number;
  /** Refresh interval, ms: SRV's (default 30000); for A/AAAA, a fixed interval instead of TTLs. */
  refreshMs?: number;
  /** Per-query time limit, ms. Default 2000. */
  timeoutMs?: number;
  /** Attempts per query. Default 2. */
  tries?: number;
  /** Retry delays after a failed refresh. Default 500 ms doubling to 30 s. */
  backoff?: BackoffOptions;
  /** Most instances in a snapshot. Default 10000. */
  maxRecords?: number;
  /** Largest record, bytes. Default 65536. */
  maxRecordBytes?: number;
}

const hostname = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[A-Za-z0-9_.:-]+$/, { error: 'must be a DNS name' });

/** The options, parsed once (the README table is checked against its keys). */
export const dnsSchema = z
  .strictObject({
    hostname: hostname.optional(),
    port: port.optional(),
    srv: hostname.optional(),
    servers: z
      .array(
        z
          .string()
          .refine((s) => parseServer(s) !== undefined, { error: 'must be `ip`, `ip:port` or `[ipv6]:port`' }),
      )
      .min(1)
      .readonly()
      .optional(),
    family: z.union([z.literal(0), z.literal(4), z.literal(6)]).default(0),
    secure: z.boolean().default(false),
    zone: z.string().min(1).max(256).optional(),
    minTtlMs: wholeMs(1, 86_400_000).default(1_000),
    maxTtlMs: wholeMs(1, 86_400_000).default(300_000),
    refreshMs: wholeMs(1, 86_400_000).optional(),
    timeoutMs: wholeMs(1, 60_000).default(2_000),
    tries: integer(1, 10).default(2),
    backoff: backoffSchema.prefault({}),
    ...limitsShape,
  })
  .superRefine((o, ctx) => {
    if (o.hostname === undefined && o.srv === undefined) {
      ctx.addIssue({ code: 'custom', path: ['hostname'], message: 'is required (with `port`), or `srv`' });
    } else if (o.hostname !== undefined && o.srv !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['srv'],
        message: 'replaces `hostname` and `port`; give one or the other',
      });
    } else if (o.hostname !== undefined && o.port === undefined) {
      ctx.addIssue({ code: 'custom', path: ['port'], message: 'is required with `hostname`' });
    } else if (o.srv !== undefined && o.port !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['port'], message: 'comes from the SRV records; remove it' });
    }
    if (o.minTtlMs > o.maxTtlMs) {
      ctx.addIssue({ code: 'custom', path: ['minTtlMs'], message: 'must not exceed `maxTtlMs`' });
    }
  });

export type ResolvedDnsOptions = z.output<typeof dnsSchema>;

/** When to look again: at the shortest TTL, held between `minTtlMs` and `maxTtlMs`, or every `refreshMs`. */
export function refreshDelay(
  addresses: readonly Address[],
  opts: Pick<ResolvedDnsOptions, 'refreshMs' | 'minTtlMs' | 'maxTtlMs'>,
): number {
  if (opts.refreshMs !== undefined) return opts.refreshMs;
  let ttl = Number.POSITIVE_INFINITY;
  for (const a of addresses) ttl = Math.min(ttl, a.ttl);
  const ttlMs = Number.isFinite(ttl) ? ttl * 1000 : opts.maxTtlMs;
  return Math.min(opts.maxTtlMs, Math.max(opts.minTtlMs, ttlMs));
}

/** Resolves DNS records into instances. Ids are `address:port`, so an address that stays keeps its stats. */
export function dns(options: DnsOptions): Provider {
  const opts = parseWith(dnsSchema, options, 'Invalid dns options');
  const limits = { maxRecords: opts.maxRecords, maxRecordBytes: opts.maxRecordBytes };
  const retry = createBackoff(opts.backoff);

  if (opts.srv !== undefined) {
    const srv = opts.srv;
    return createProvider({
      name: `dns-srv:${srv}`,
      limits,
      run: (ctx) => runSrv(ctx, srv, opts, retry),
    });
  }

  const host = opts.hostname!;
  const port = opts.port!;
  return createProvider({
    name: `dns:${host}:${port}`,
    limits,
    run(ctx) {
      const resolver = createResolver(opts.servers, opts.timeoutMs, opts.tries);
      ctx.onClose(() => resolver.cancel());
      ctx.signal.addEventListener('abort', () => resolver.cancel(), { once: true });
      const streaks = new FamilyStreaks();
      return retryLoop(
        ctx,
        retry,
        async () => {
          const resolved = await resolveAddresses(resolver, host, opts.family);
          if (ctx.signal.aborted) return undefined;
          const { addresses } = resolved;
          if (addresses.length > opts.maxRecords) {
            throw new Error(`${addresses.length} addresses, more than \`maxRecords\` (${opts.maxRecords})`);
          }
          // Reported before publishing, so that the snapshot that follows clears lastError(): the
          // provider is answering, with what one family gave.
          for (const error of streaks.update(ctx.name, host, resolved)) ctx.fail(error);
          ctx.publish(
            addresses.map((a) => ({
              host: a.address,
              port,
              secure: opts.secure,
              id: addressId(a.address, port),
              ...(opts.zone === undefined ? {} : { zone: opts.zone }),
              metadata: { hostname: host },
            })),
          );
          return refreshDelay(addresses, opts);
        },
        `resolving ${host}`,
      );
    },
  });
}

// The documented options are the schema's input, field for field.
true satisfies Agrees<DnsOptions, z.input<typeof dnsSchema>>;
