// consul(): a service's instances from Consul's health API, followed with blocking queries
// (index/wait long polls) as Consul documents them, including their awkward parts: answers
// without change, an index that goes backwards or is 0, hung connections, and churn.

import { type Agrees, parseWith } from '@picket/core/internal';
import { z } from 'zod';
import { type BackoffOptions, backoffSchema, createBackoff } from './backoff.ts';
import { createProvider, limitsShape, type ProviderContext, type ProviderLimits, retryLoop } from './base.ts';
import { wholeMs } from './fields.ts';
import { createHttpJson, httpShape, type TlsOptions } from './http-json.ts';
import type { Provider } from './provider.ts';
import { registryUrl } from './registry-url.ts';

export interface ConsulOptions extends ProviderLimits {
  /** The Consul agent or server, `http(s)://host:8500`, without credentials. */
  url: string;
  /** Service name as registered in Consul. */
  service: string;
  /** Only instances whose checks all pass (`?passing`). When false, `warning` instances are kept too
   * (weighted by `Weights.Warning`); `critical` ones never are, as in Consul's DNS. Default true. */
  passingOnly?: boolean;
  /** Datacenter to query. Default: the agent's own. */
  dc?: string;
  /** Only instances with this tag. Default: every instance. */
  tag?: string;
  /** ACL token, sent as `X-Consul-Token`; never logged or put in errors. */
  token?: string;
  /** How long Consul may hold each blocking query, ms (Consul caps it at 10 minutes). Default 30000. */
  waitMs?: number;
  /** Under churn, blocking queries degrade to one per this many ms (a token bucket of 2). Default 1000. */
  minQueryIntervalMs?: number;
  /** A service tag `<prefix><zone>` gives the instance's zone. Default `'zone='`. */
  zoneTagPrefix?: string;
  /** Else this key of the node's `Meta` gives the zone. Default `'zone'`. */
  zoneNodeMeta?: string;
  /** Connect to instances over HTTPS (also when a service's `Meta.scheme` is `https`). Default false. */
  secure?: boolean;
  /** TLS for an `https` Consul: a private CA, a client certificate. */
  tls?: TlsOptions;
  /** Connect time limit, ms. Default 5000. */
  connectTimeoutMs?: number;
  /** Time limit for the first, non-blocking query, ms. Default 10000. */
  requestTimeoutMs?: number;
  /** Largest answer accepted, bytes. Default 16 MiB. */
  maxResponseBytes?: number;
  /** Retry pacing while Consul fails. Default 500 ms doubling to 30 s. */
  backoff?: BackoffOptions;
}

/** Past `wait × 1.0625` (Consul adds up to wait/16 of jitter), how long to allow for the answer. */
export const BLOCKING_MARGIN_MS = 2_000;

export const consulSchema = z.strictObject({
  url: registryUrl,
  service: z.string().min(1).max(256),
  passingOnly: z.boolean().default(true),
  dc: z.string().min(1).max(256).optional(),
  tag: z.string().min(1).max(256).optional(),
  token: z.string().min(1).optional(),
  waitMs: wholeMs(100, 600_000).default(30_000),
  minQueryIntervalMs: wholeMs(0, 600_000).default(1_000),
  zoneTagPrefix: z.string().min(1).default('zone='),
  zoneNodeMeta: z.string().min(1).default('zone'),
  secure: z.boolean().default(false),
  backoff: backoffSchema.prefault({}),
  ...httpShape,
  ...limitsShape,
});

type Resolved = z.output<typeof consulSchema>;

const SEVERITY: Record<string, number> = { passing: 0, warning: 1, critical: 2, maintenance: 2 };

function asObject(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** Worst status among an entry's checks (node checks included, as Consul's `?passing` does). */
function aggregate(checks: unknown): 'passing' | 'warning' | 'critical' {
  let worst = 0;
  if (Array.isArray(checks)) {
    for (const check of checks) {
      const status = asObject(check)?.Status;
      worst = Math.max(worst, typeof status === 'string' ? (SEVERITY[status] ?? 2) : 2);
    }
  }
  return worst === 0 ? 'passing' : worst === 1 ? 'warning' : 'critical';
}

/**
 * One ServiceEntry to an instance record; a string is the reason it cannot be one, undefined
 * means the entry is deliberately left out (critical, or weight 0).
 */
export function consulRecord(entry: unknown, opts: Resolved): Record<string, unknown> | string | undefined {
  const node = asObject(asObject(entry)?.Node);
  const service = asObject(asObject(entry)?.Service);
  if (node === undefined || service === undefined) return 'a health entry needs `Node` and `Service` objects';
  const health = aggregate(asObject(entry)?.Checks);
  if (health === 'critical' || (opts.passingOnly && health !== 'passing')) return undefined;
  const serviceAddress = typeof service.Address === 'string' ? service.Address : '';
  // Consul documents that an empty Service.Address means "use the node's address".
  const host = serviceAddress !== '' ? serviceAddress : node.Address;
  const weights = asObject(service.Weights);
  const weight = health === 'passing' ? (weights?.Passing ?? 1) : (weights?.Warning ?? 1);
  if (weight === 0) return undefined;
  const tags = Array.isArray(service.Tags)
    ? service.Tags.filter((t): t is string => typeof t === 'string')
    : [];
  const meta = asObject(service.Meta) ?? {};
  const zoneTag = tags.find((t) => t.startsWith(opts.zoneTagPrefix));
  const nodeZone = asObject(node.Meta)?.[opts.zoneNodeMeta];
  const zone =
    zoneTag !== undefined
      ? zoneTag.slice(opts.zoneTagPrefix.length)
      : typeof nodeZone === 'string' && nodeZone !== ''
        ? nodeZone
        : undefined;
  return {
    host,
    port: service.Port,
    secure: opts.secure || meta.scheme === 'https',
    // Service IDs are unique per agent, not per cluster: two nodes may both run "web-1".
    id: `${String(node.Node)}/${String(service.ID)}`,
    weight,
    ...(zone === undefined ? {} : { zone }),
    metadata: {
      node: node.Node,
      serviceId: service.ID,
      datacenter: node.Datacenter,
      tags,
      meta,
      health,
    },
  };
}

function queryUrl(opts: Resolved, index: number): URL {
  const url = new URL(`/v1/health/service/${encodeURIComponent(opts.service)}`, opts.url);
  if (opts.passingOnly) url.searchParams.set('passing', '1');
  if (opts.dc !== undefined) url.searchParams.set('dc', opts.dc);
  if (opts.tag !== undefined) url.searchParams.set('tag', opts.tag);
  if (index > 0) {
    url.searchParams.set('index', String(index));
    url.searchParams.set('wait', `${opts.waitMs}ms`);
  }
  return url;
}

/** Consul's health-API provider for one service. Options are checked here; start() begins I/O. */
export function consul(options: ConsulOptions): Provider {
  const opts = parseWith(consulSchema, options, 'Invalid consul options');
  const secrets = () => [opts.token];
  const where = [
    opts.tag === undefined ? '' : `tag=${opts.tag}`,
    opts.dc === undefined ? '' : `dc=${opts.dc}`,
  ]
    .filter((s) => s !== '')
    .join(',');
  return createProvider({
    name: `consul:${opts.service}${where === '' ? '' : `[${where}]`}`,
    limits: { maxRecords: opts.maxRecords, maxRecordBytes: opts.maxRecordBytes },
    secrets,
    run: (ctx) => watch(ctx, opts, secrets),
  });
}

async function watch(ctx: ProviderContext, opts: Resolved, secrets: () => (string | undefined)[]) {
  const http = createHttpJson({ ...opts, secrets });
  ctx.onClose(() => http.close());
  const headers: Record<string, string> = opts.token === undefined ? {} : { 'X-Consul-Token': opts.token };
  const publish = publisher(ctx, opts);
  let index = 0;
  // Token bucket (burst 2): quick successive answers pass, sustained churn is paced.
  let tokens = 2;
  let refilled = performance.now();

  const step = async (): Promise<number> => {
    if (opts.minQueryIntervalMs > 0) {
      const now = performance.now();
      tokens = Math.min(2, tokens + (now - refilled) / opts.minQueryIntervalMs);
      refilled = now;
      if (tokens < 1) {
        if (!(await ctx.sleep((1 - tokens) * opts.minQueryIntervalMs))) return 0;
        tokens = 1;
        refilled = performance.now();
      }
      tokens -= 1;
    }
    const blocking = index > 0;
    const res = http.expectOk(
      await http.request(queryUrl(opts, index), {
        headers,
        signal: ctx.signal,
        timeoutMs: blocking ? Math.ceil(opts.waitMs * 1.0625) + BLOCKING_MARGIN_MS : opts.requestTimeoutMs,
      }),
      `consul health query for ${opts.service}`,
    );
    const raw = res.headers['x-consul-index'];
    const next = Number(Array.isArray(raw) ? raw[0] : raw);
    if (raw === undefined || !Number.isFinite(next)) {
      throw new Error('the answer has no numeric X-Consul-Index header; is this a Consul health endpoint?');
    }
    if (!Array.isArray(res.data)) throw new Error('the answer is not a JSON array of health entries');
    // A restored snapshot can send the index backwards: start the blocking loop over. An index
    // below 1 would make every query return at once; 1 always blocks.
    index = next < index ? 0 : Math.max(1, next);
    if (res.data.length === 0 && res.headers['x-consul-results-filtered-by-acls'] === 'true') {
      // Consul hides what a token may not read instead of refusing: an empty list here is a
      // permissions problem, not a service without instances, and must not empty the client.
      throw new Error(
        `Consul filtered every entry of ${opts.service} by ACL; the token needs service:read and node:read`,
      );
    }
    publish(res.data);
    return 0;
  };
  await retryLoop(ctx, createBackoff(opts.backoff), async () => {
    try {
      return await step();
    } catch (error) {
      // The first query after a failure does not block, so that recovery shows at once even
      // when nothing changed meanwhile.
      index = 0;
      throw error;
    }
  });
}

/** Publishes the entries' instances; an entry that cannot be one is reported once while it stays. */
function publisher(ctx: ProviderContext, opts: Resolved) {
  let reportedBefore = new Set<string>();
  return (entries: readonly unknown[]) => {
    const reported = new Set<string>();
    const records: unknown[] = [];
    for (const entry of entries) {
      const record = consulRecord(entry, opts);
      if (typeof record === 'string') {
        const key = `${record}\u0000${JSON.stringify(entry)}`;
        reported.add(key);
        if (!reportedBefore.has(key)) ctx.reportInvalid(entry, record);
      } else if (record !== undefined) {
        records.push(record);
      }
    }
    reportedBefore = reported;
    ctx.publish(records);
  };
}

// The documented options are the schema's input, field for field.
true satisfies Agrees<ConsulOptions, z.input<typeof consulSchema>>;
