// Instance records: what discovery hands to the balancer. Records are validated with zod and
// normalised into immutable `Instance`s with a stable id.

import { z } from 'zod';
import { describeValue, PicketError } from './errors.ts';
import { describeIssues } from './options.ts';

/** A record as discovery or the user gives it. */
export type InstanceRecord =
  | string
  | {
      /** `http://host:port` or `https://host:port`, optionally with a base path. */
      url: string;
      /** Stable identity across updates. Default: the URL's origin (plus base path). */
      id?: string;
      /** Zone or locality, for zone preference. */
      zone?: string;
      /** Relative share of traffic. Default 1. */
      weight?: number;
      /** Priority group: 0 is preferred, higher numbers are backups. Default 0. */
      priority?: number;
      /** Anything else the registry knows; filtered on by `where()` in discovery. */
      metadata?: Record<string, unknown>;
    }
  | {
      host: string;
      port: number;
      /** `https` when true. Default false. */
      secure?: boolean;
      id?: string;
      zone?: string;
      weight?: number;
      priority?: number;
      metadata?: Record<string, unknown>;
    };

/** A validated, normalised instance. Immutable; identity is `id`. */
export interface Instance {
  /** Stable identity across updates: the record's `id`, else its URL's origin (plus base path). */
  readonly id: string;
  /** Origin plus base path, without a trailing slash: `http://10.0.0.1:8080` or `http://h:1/api`. */
  readonly url: string;
  /** `http://host:port`, what a connection pool is keyed on. */
  readonly origin: string;
  /** Base path to prefix to request paths; `''` when none. */
  readonly basePath: string;
  /** Host name or IP address (an IPv6 one without brackets). */
  readonly host: string;
  /** TCP port. */
  readonly port: number;
  /** Spoken to over `https`. */
  readonly secure: boolean;
  /** Zone or locality, for zone preference; undefined when the record gave none. */
  readonly zone: string | undefined;
  /** Relative share of traffic. Default 1. */
  readonly weight: number;
  /** Priority group: 0 is preferred, higher numbers are backups. Default 0. */
  readonly priority: number;
  /** Anything else the registry knows; `{}` when nothing. */
  readonly metadata: Readonly<Record<string, unknown>>;
}

export const MAX_WEIGHT = 1_000_000;
export const MAX_PRIORITY = 127;

const common = {
  id: z.string({ error: 'must be a string' }).min(1, { error: 'must not be empty' }).max(512, {
    error: 'must be at most 512 characters',
  }),
  zone: z.string({ error: 'must be a string' }).max(256, { error: 'must be at most 256 characters' }),
  weight: z
    .number({ error: 'must be a number' })
    .refine((w) => Number.isFinite(w) && w > 0 && w <= MAX_WEIGHT, {
      error: `must be a positive number up to ${MAX_WEIGHT}`,
    }),
  priority: z
    .number({ error: 'must be a number' })
    .int({ error: 'must be an integer' })
    .min(0, { error: 'must be at least 0' })
    .max(MAX_PRIORITY, { error: `must be at most ${MAX_PRIORITY}` }),
  // Metadata is compared and keyed as JSON (discovery, the balancer): it must serialise.
  metadata: z.record(z.string(), z.unknown(), { error: 'must be an object' }).superRefine((value, ctx) => {
    const problem = jsonProblem(value);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', ...problem });
  }),
};

/** Where `value` stops being JSON data, with why; undefined when JSON.stringify takes it. */
function jsonProblem(value: unknown): { path: PropertyKey[]; message: string } | undefined {
  try {
    JSON.stringify(value);
    return undefined;
  } catch (error) {
    return locateJsonProblem(value, [], []) ?? { path: [], message: `must be JSON data (${String(error)})` };
  }
}

function locateJsonProblem(
  value: unknown,
  path: PropertyKey[],
  ancestors: object[],
): { path: PropertyKey[]; message: string } | undefined {
  if (typeof value === 'bigint') return { path, message: 'must be JSON data, not a BigInt' };
  if (value === null || typeof value !== 'object') return undefined;
  if (ancestors.includes(value)) return { path, message: 'must be JSON data, not a circular reference' };
  ancestors.push(value);
  const array = Array.isArray(value);
  for (const key of Object.keys(value)) {
    const at = [...path, array ? Number(key) : key];
    const found = locateJsonProblem((value as Record<string, unknown>)[key], at, ancestors);
    if (found !== undefined) return found;
  }
  ancestors.pop();
  return undefined;
}

/**
 * True when `value` is plain JSON data at a glance: strings, numbers, booleans, null, and plain
 * objects and arrays of them, a few levels deep. Anything else (a BigInt, a function, a Date, a
 * deep or circular structure) is left to the schema, which checks it exactly.
 */
function isPlainJson(value: unknown, depth: number): boolean {
  if (value === null) return true;
  const type = typeof value;
  if (type !== 'object') return type === 'string' || type === 'number' || type === 'boolean';
  if (depth === 0) return false;
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== Array.prototype && proto !== null) return false;
  for (const key in value) {
    if (!isPlainJson((value as Record<string, unknown>)[key], depth - 1)) return false;
  }
  return true;
}

const urlField = z.string({ error: 'must be a string' }).superRefine((value, ctx) => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be an absolute http:// or https:// URL' });
    return;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    ctx.addIssue({ code: 'custom', message: `must use http: or https:, not ${url.protocol}` });
  } else if (url.username !== '' || url.password !== '') {
    ctx.addIssue({ code: 'custom', message: 'must not carry credentials; pass them as headers' });
  } else if (url.search !== '' || url.hash !== '') {
    ctx.addIssue({ code: 'custom', message: 'must not have a query or fragment' });
  } else if (url.port === '0') {
    // The same limits as a `{ host, port }` record's.
    ctx.addIssue({ code: 'custom', message: 'must have a port between 1 and 65535' });
  } else if (url.hostname.replace(/^\[|\]$/g, '').length > 253) {
    ctx.addIssue({ code: 'custom', message: 'must have a host of at most 253 characters' });
  }
});

const urlRecord = z.strictObject({
  url: urlField,
  id: common.id.optional(),
  zone: common.zone.optional(),
  weight: common.weight.optional(),
  priority: common.priority.optional(),
  metadata: common.metadata.optional(),
});

const hostRecord = z.strictObject({
  host: z
    .string({ error: 'must be a string' })
    .min(1, { error: 'must not be empty' })
    .max(253, { error: 'must be at most 253 characters' })
    .refine((h) => !/[\s/?#@]/.test(h) && URL.canParse(`http://${hostForUrl(h)}:1`), {
      error: 'must be a host name or IP address',
    }),
  port: z
    .number({ error: 'must be a number' })
    .int({ error: 'must be an integer' })
    .min(1, { error: 'must be between 1 and 65535' })
    .max(65535, { error: 'must be between 1 and 65535' }),
  secure: z.boolean({ error: 'must be a boolean' }).optional(),
  id: common.id.optional(),
  zone: common.zone.optional(),
  weight: common.weight.optional(),
  priority: common.priority.optional(),
  metadata: common.metadata.optional(),
});

const recordSchema = z.union([urlField, hostRecord, urlRecord], {
  error: 'must be a URL string or an object with `url` or `host` and `port`',
});

// Instances made here, so that re-validating them (10,000 per discovery update) can be skipped.
const made = new WeakSet<object>();

/** True for an `Instance` produced by `toInstance`/`checkInstance` (already validated). */
export function isInstance(value: unknown): value is Instance {
  return typeof value === 'object' && value !== null && made.has(value);
}

export type InstanceCheck = { ok: true; instance: Instance } | { ok: false; reason: string };

function hostForUrl(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

function fromUrl(raw: string): Pick<Instance, 'url' | 'origin' | 'basePath' | 'host' | 'port' | 'secure'> {
  const url = new URL(raw);
  const secure = url.protocol === 'https:';
  const port = url.port === '' ? (secure ? 443 : 80) : Number(url.port);
  const basePath = url.pathname === '/' ? '' : url.pathname.replace(/\/+$/, '');
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const origin = `${url.protocol}//${hostForUrl(host)}:${port}`;
  return { url: origin + basePath, origin, basePath, host, port, secure };
}

// A union reports one list of issues per branch; show the branch the record was trying to be.
function chooseBranchIssues(error: z.ZodError, input: unknown): z.core.$ZodIssue[] {
  const first = error.issues[0];
  if (first?.code !== 'invalid_union') return error.issues;
  // Branch order as in recordSchema: URL string, host record, URL record.
  const [asString, asHost, asUrl] = first.errors;
  if (typeof input === 'string') return asString ?? error.issues;
  if (input !== null && typeof input === 'object') {
    if ('host' in input || 'port' in input) return asHost ?? error.issues;
    if ('url' in input) return asUrl ?? error.issues;
  }
  return [
    {
      code: 'custom',
      path: [],
      message: 'must be a URL string or an object with `url` or `host` and `port`',
      input,
    },
  ];
}

// The fast path: discovery hands over thousands of records at a time, and zod with a URL parse
// costs tens of microseconds each. Well-formed records are checked here by hand; anything this
// does not accept goes through the schema, which either accepts it too or explains what is wrong.
const SIMPLE_URL = /^(https?):\/\/([a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?):(\d{1,5})(\/[A-Za-z0-9._~/-]*)?$/;
const DOTTED_QUAD = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
const NUMERIC_LAST_LABEL = /(?:^|\.)\d+$/;
const RECORD_KEYS = new Set(['url', 'id', 'zone', 'weight', 'priority', 'metadata']);

function fastUrl(
  value: string,
): Pick<Instance, 'url' | 'origin' | 'basePath' | 'host' | 'port' | 'secure'> | undefined {
  const m = SIMPLE_URL.exec(value);
  if (m === null) return undefined;
  const port = Number(m[3]);
  if (port < 1 || port > 65535 || (m[3] as string).startsWith('0')) return undefined;
  const path = m[4] ?? '';
  if (path.includes('//') || path.includes('/.')) return undefined;
  const host = m[2] as string;
  // WHATWG URL reads numeric hosts as IPv4 (leading zeros as octal); leave those to it.
  if (NUMERIC_LAST_LABEL.test(host) && !DOTTED_QUAD.test(host)) return undefined;
  const secure = m[1] === 'https';
  const basePath = path === '/' ? '' : path.replace(/\/+$/, '');
  const origin = `${m[1]}://${host}:${port}`;
  return { url: origin + basePath, origin, basePath, host, port, secure };
}

function fastCheck(record: unknown): Instance | undefined {
  if (typeof record === 'string') {
    const where = fastUrl(record);
    return where === undefined ? undefined : build(where, {});
  }
  if (record === null || typeof record !== 'object' || Array.isArray(record)) return undefined;
  const r = record as Record<string, unknown>;
  for (const key in r) if (!RECORD_KEYS.has(key)) return undefined;
  if (typeof r.url !== 'string') return undefined;
  const { id, zone, weight, priority, metadata } = r;
  if (id !== undefined && (typeof id !== 'string' || id.length === 0 || id.length > 512)) return undefined;
  if (zone !== undefined && (typeof zone !== 'string' || zone.length > 256)) return undefined;
  if (weight !== undefined && (typeof weight !== 'number' || !(weight > 0 && weight <= MAX_WEIGHT)))
    return undefined;
  if (
    priority !== undefined &&
    (typeof priority !== 'number' || !Number.isInteger(priority) || priority < 0 || priority > MAX_PRIORITY)
  ) {
    return undefined;
  }
  if (
    metadata !== undefined &&
    (metadata === null ||
      typeof metadata !== 'object' ||
      Array.isArray(metadata) ||
      !isPlainJson(metadata, 4))
  ) {
    return undefined;
  }
  const where = fastUrl(r.url);
  return where === undefined ? undefined : build(where, r as Partial<Fields>);
}

type Fields = Pick<Instance, 'id' | 'zone' | 'weight' | 'priority'> & { metadata?: Record<string, unknown> };

function build(
  where: Pick<Instance, 'url' | 'origin' | 'basePath' | 'host' | 'port' | 'secure'>,
  fields: Partial<Fields>,
): Instance {
  const instance: Instance = Object.freeze({
    url: where.url,
    origin: where.origin,
    basePath: where.basePath,
    host: where.host,
    port: where.port,
    secure: where.secure,
    id: fields.id ?? where.url,
    zone: fields.zone,
    weight: fields.weight ?? 1,
    priority: fields.priority ?? 0,
    metadata: Object.freeze({ ...(fields.metadata ?? {}) }),
  });
  made.add(instance);
  return instance;
}

/** Validates and normalises one record, returning a reason instead of throwing. */
export function checkInstance(record: unknown): InstanceCheck {
  if (isInstance(record)) return { ok: true, instance: record };
  const fast = fastCheck(record);
  if (fast !== undefined) return { ok: true, instance: fast };
  return checkWithSchema(record);
}

/** The schema path alone (internal; tests compare it with the fast path). */
export function checkWithSchema(record: unknown): InstanceCheck {
  const parsed = recordSchema.safeParse(record);
  if (!parsed.success) {
    const issues = chooseBranchIssues(parsed.error, record);
    const reason =
      issues.length === 1 && issues[0]?.path.length === 0 && issues[0].code !== 'unrecognized_keys'
        ? `${issues[0]?.message}, got ${describeValue(record)}`
        : describeIssues(issues, record);
    return { ok: false, reason };
  }
  const data = parsed.data;
  const where =
    typeof data === 'string'
      ? fromUrl(data)
      : 'url' in data
        ? fromUrl(data.url)
        : fromUrl(`${data.secure ? 'https' : 'http'}://${hostForUrl(data.host)}:${data.port}`);
  const fields: Partial<Fields> = typeof data === 'string' ? {} : data;
  return { ok: true, instance: build(where, fields) };
}

/** Validates and normalises one record, throwing `PICKET_INVALID_INSTANCE` naming the index. */
export function toInstance(record: unknown, index = 0): Instance {
  const result = checkInstance(record);
  if (result.ok) return result.instance;
  throw new PicketError(
    'PICKET_INVALID_INSTANCE',
    `Invalid instance record at index ${index}: ${result.reason}`,
    {
      details: { index },
    },
  );
}

/**
 * Validates a whole list. Throws on the first invalid record; duplicate ids are an error too,
 * since two records with one identity would share stats and state.
 */
export function toInstances(records: readonly unknown[]): Instance[] {
  if (!Array.isArray(records)) {
    throw new PicketError(
      'PICKET_INVALID_INSTANCE',
      `Expected an array of instance records, got ${describeValue(records)}`,
    );
  }
  const seen = new Set<string>();
  const out: Instance[] = [];
  for (let i = 0; i < records.length; i++) {
    const instance = toInstance(records[i], i);
    if (seen.has(instance.id)) {
      throw new PicketError(
        'PICKET_INVALID_INSTANCE',
        `Invalid instance record at index ${i}: \`id\` ${JSON.stringify(instance.id)} is used by an earlier record; ids must be unique`,
        { details: { index: i } },
      );
    }
    seen.add(instance.id);
    out.push(instance);
  }
  return out;
}
