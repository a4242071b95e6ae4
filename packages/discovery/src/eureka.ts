// eureka(): an application's UP instances from a Eureka server, as Eureka's own client follows
// it: one full registry fetch, then delta fetches applied locally and checked against the server's
// `apps__hashcode`, with a full fetch again whenever they disagree. Given several servers (a
// Eureka cluster's peers), it stays with the one that answers and moves to the next, within the
// same fetch, when that one fails, as Eureka's client does with `serviceUrl.defaultZone`.

import { type Agrees, parseWith } from '@picket/core/internal';
import { z } from 'zod';
import { type BackoffOptions, backoffSchema, createBackoff } from './backoff.ts';
import { createProvider, limitsShape, type ProviderContext, type ProviderLimits, retryLoop } from './base.ts';
import { EurekaPeers, eurekaUrls } from './eureka-peers.ts';
import { wholeMs } from './fields.ts';
import { createHttpJson, httpShape, type TlsOptions } from './http-json.ts';
import type { Provider } from './provider.ts';

export interface EurekaOptions extends ProviderLimits {
  /**
   * The Eureka service URL, e.g. `http://eureka:8761/eureka` (the part before `/apps`), or the
   * URLs of several peers of one cluster, tried in order when one fails.
   */
  url: string | readonly string[];
  /** Application name (Eureka compares it upper-cased). */
  app: string;
  /** Time between delta fetches, ms. Default 30000, as Eureka's client. */
  deltaIntervalMs?: number;
  /** Dial `ipAddr` instead of `hostName`. Default false. */
  preferIpAddress?: boolean;
  /** Instance metadata key that holds the zone. Default `'zone'` (Spring Cloud's). */
  zoneMetadataKey?: string;
  /** TLS for an `https` Eureka server: a private CA, a client certificate. */
  tls?: TlsOptions;
  /** Connect time limit, ms. Default 5000. */
  connectTimeoutMs?: number;
  /** Time limit for one call (a fetch or a delta), ms. Default 10000. */
  requestTimeoutMs?: number;
  /** Largest response, bytes. Default 16 MiB. */
  maxResponseBytes?: number;
  /** Retry delays while Eureka fails. Default 500 ms doubling to 30 s. */
  backoff?: BackoffOptions;
}

export const eurekaName = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[^/?#\s]+$/, { error: 'must be an application name without /, ?, # or spaces' });

const eurekaSchema = z.strictObject({
  url: eurekaUrls,
  app: eurekaName,
  deltaIntervalMs: wholeMs(100, 3_600_000).default(30_000),
  preferIpAddress: z.boolean().default(false),
  zoneMetadataKey: z.string().min(1).default('zone'),
  backoff: backoffSchema.prefault({}),
  ...httpShape,
  ...limitsShape,
});

type Resolved = z.output<typeof eurekaSchema>;
type Json = Record<string, unknown>;

/** The whole registry is tracked (statuses only) for the hash; beyond this it is not a registry. */
const MAX_REGISTRY_INSTANCES = 1_000_000;

function asObject(value: unknown): Json | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : undefined;
}

/** Eureka's older codecs write a one-element list as the element itself. */
function listOf(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  return value === undefined || value === null ? [] : [value];
}

/** InstanceInfo.getId(): the instance id, else the host name. */
function instanceKey(instance: Json | undefined): string | undefined {
  const id = instance?.instanceId;
  if (typeof id === 'string' && id !== '') return id;
  return typeof instance?.hostName === 'string' && instance.hostName !== '' ? instance.hostName : undefined;
}

function portOf(value: unknown, enabledByDefault: boolean): number | undefined {
  const port = asObject(value);
  if (port === undefined) return undefined;
  const enabled = port['@enabled'] === undefined ? enabledByDefault : String(port['@enabled']) === 'true';
  if (!enabled) return undefined;
  const number = typeof port.$ === 'string' && /^\d+$/.test(port.$) ? Number(port.$) : port.$;
  return number as number;
}

/** Eureka's reconcile hash: `STATUS_count_` per status over every instance, sorted by status. */
export function reconcileHash(statuses: Iterable<string>): string {
  const counts = new Map<string, number>();
  for (const status of statuses) counts.set(status, (counts.get(status) ?? 0) + 1);
  return [...counts.keys()]
    .sort()
    .map((status) => `${status}_${counts.get(status)}_`)
    .join('');
}

/** An UP instance to a record; a string is why it cannot be one; undefined means not UP. */
export function eurekaRecord(instance: unknown, opts: Pick<Resolved, 'preferIpAddress' | 'zoneMetadataKey'>) {
  const info = asObject(instance);
  if (info === undefined) return 'an instance must be an object';
  if (info.status !== 'UP') return undefined;
  const securePort = portOf(info.securePort, false);
  const port = securePort ?? portOf(info.port, true);
  if (port === undefined) return 'neither `port` nor `securePort` is enabled';
  const metadata = { ...asObject(info.metadata) };
  delete metadata['@class'];
  const zone =
    metadata[opts.zoneMetadataKey] ??
    asObject(asObject(info.dataCenterInfo)?.metadata)?.['availability-zone'];
  const id = instanceKey(info);
  return {
    host: opts.preferIpAddress ? info.ipAddr : info.hostName,
    port,
    secure: securePort !== undefined,
    ...(id === undefined ? {} : { id }),
    ...(typeof zone === 'string' && zone !== '' ? { zone } : {}),
    metadata: { app: info.app, instanceId: id, vipAddress: info.vipAddress, metadata },
  };
}

/** Eureka provider for one application. Options are checked here; start() begins I/O. */
export function eureka(options: EurekaOptions): Provider {
  const opts = parseWith(eurekaSchema, options, 'Invalid eureka options');
  return createProvider({
    name: `eureka:${opts.app.toUpperCase()}`,
    limits: { maxRecords: opts.maxRecords, maxRecordBytes: opts.maxRecordBytes },
    run: (ctx) => follow(ctx, opts),
  });
}

async function follow(ctx: ProviderContext, opts: Resolved): Promise<void> {
  const http = createHttpJson(opts);
  ctx.onClose(() => http.close());
  const app = opts.app.toUpperCase();
  // Another server's deltas do not follow on from this one's: after a move, a full fetch.
  const peers = new EurekaPeers(http, opts.url, () => {
    needFull = true;
  });
  // Every instance's status (for the hash), and this application's instances in full.
  const statuses = new Map<string, string>();
  const mine = new Map<string, unknown>();
  let needFull = true;
  let deltas = true;
  let reportedBefore = new Set<string>();

  const publish = () => {
    const reported = new Set<string>();
    const records: unknown[] = [];
    for (const instance of mine.values()) {
      const record = eurekaRecord(instance, opts);
      if (typeof record === 'string') {
        const key = `${record}\u0000${JSON.stringify(instance)}`;
        reported.add(key);
        if (!reportedBefore.has(key)) ctx.reportInvalid(instance, record);
      } else if (record !== undefined) {
        records.push(record);
      }
    }
    reportedBefore = reported;
    ctx.publish(records);
  };

  const applications = (data: unknown): { name: string; instances: unknown[] }[] => {
    const apps = asObject(asObject(data)?.applications);
    if (apps === undefined) throw new Error('the answer has no `applications`; is this a Eureka server?');
    return listOf(apps.application).map((a) => ({
      name: String(asObject(a)?.name ?? '').toUpperCase(),
      instances: listOf(asObject(a)?.instance),
    }));
  };

  const fetch = (path: string) => peers.request(path, { signal: ctx.signal });

  const full = async () => {
    const res = http.expectOk(await fetch('apps'), 'eureka registry fetch');
    statuses.clear();
    mine.clear();
    for (const { name, instances } of applications(res.data)) {
      for (const [n, raw] of instances.entries()) {
        const info = asObject(raw);
        const key = instanceKey(info) ?? `(no id ${n})`;
        statuses.set(`${name}\u0000${key}`, String(info?.status));
        if (name === app) mine.set(key, raw);
      }
      if (statuses.size > MAX_REGISTRY_INSTANCES)
        throw new Error('the registry is larger than any Eureka could be');
    }
    needFull = false;
    publish();
  };

  const delta = async () => {
    const res = await fetch('apps/delta');
    if (res.status === 403) {
      deltas = false; // the server runs with deltas disabled: full fetches from now on
      return full();
    }
    http.expectOk(res, 'eureka delta fetch');
    const expected = asObject(asObject(res.data)?.applications)?.apps__hashcode;
    for (const { name, instances } of applications(res.data)) {
      for (const raw of instances) {
        const info = asObject(raw);
        const key = instanceKey(info);
        if (key === undefined) continue; // cannot be applied; the hash check will catch the gap
        if (info?.actionType === 'DELETED') {
          statuses.delete(`${name}\u0000${key}`);
          if (name === app) mine.delete(key);
        } else if (info?.actionType === 'ADDED' || info?.actionType === 'MODIFIED') {
          statuses.set(`${name}\u0000${key}`, String(info.status));
          // Stored as the InstanceInfo a full fetch would give, so that it compares equal.
          const { actionType: _, ...instance } = info;
          if (name === app) mine.set(key, instance);
        }
      }
    }
    // Deltas cover only the last few minutes: a mismatch means we missed some, so start over.
    if (typeof expected !== 'string' || reconcileHash(statuses.values()) !== expected) return full();
    publish();
  };

  await retryLoop(ctx, createBackoff(opts.backoff), async () => {
    try {
      await (needFull || !deltas ? full() : delta());
    } catch (error) {
      // After a failure, deltas may have been missed in ways the hash cannot show.
      needFull = true;
      throw error;
    }
    return opts.deltaIntervalMs;
  });
}

// The documented options are the schema's input, field for field.
true satisfies Agrees<EurekaOptions, z.input<typeof eurekaSchema>>;
