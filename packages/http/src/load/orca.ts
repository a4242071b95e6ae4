// In-band load reports (ORCA, as gRPC and Envoy carry them): an instance's load in a header of
// every response, so a caller learns it at the rate it sends, with no extra request. Three
// spellings are read: `endpoint-load-metrics: TEXT k=v, …` or `… JSON {…}` (Envoy's), the same
// JSON bare in `endpoint-load-metrics-json`, and the `OrcaLoadReport` protobuf, base64, in
// `endpoint-load-metrics-bin` (gRPC's), decoded here by hand for the fields Picket uses.

import { LOAD_BIN_HEADER, LOAD_HEADER, LOAD_JSON_HEADER } from '@picket/core/internal';

/** The figures of one report Picket uses; any may be absent. */
export interface OrcaReport {
  /** CPU in use as a fraction of what the instance has (0..1, may exceed 1). */
  cpuUtilization?: number;
  /** Memory in use, as a fraction. */
  memUtilization?: number;
  /** The application's own utilization (a Node server's event-loop utilization), 0..1+. */
  applicationUtilization?: number;
  /** Requests per second the instance is serving. */
  rps?: number;
  /** Errors per second. */
  eps?: number;
  /** Named metrics (`named_metrics.<name>`), such as `event_loop_delay_ms` and `in_flight`. */
  named?: Record<string, number>;
}

type Headers = Record<string, string | string[] | undefined>;

const first = (value: string | string[] | undefined): string | undefined =>
  Array.isArray(value) ? value[0] : value;

/**
 * The report in a response's headers: undefined when there is none, null when one is there but
 * cannot be read (the caller counts it; a request never fails for it).
 */
export function readLoadReport(headers: Headers): OrcaReport | null | undefined {
  const found = findLoadReport(headers);
  return found === undefined ? undefined : parseFound(found);
}

/** Which of the three headers carries a report, and its value. */
export interface FoundReport {
  readonly header: typeof LOAD_HEADER | typeof LOAD_JSON_HEADER | typeof LOAD_BIN_HEADER;
  readonly value: string;
}

// Read on every response of a client that reads reports, most of which carry none: three lookups
// by constant name, which cost a third of what a loop over the names (keyed lookups) does.
export function findLoadReport(headers: Headers): FoundReport | undefined {
  const text = first(headers[LOAD_HEADER]);
  if (text !== undefined) return { header: LOAD_HEADER, value: text };
  const json = first(headers[LOAD_JSON_HEADER]);
  if (json !== undefined) return { header: LOAD_JSON_HEADER, value: json };
  const bin = first(headers[LOAD_BIN_HEADER]);
  if (bin !== undefined) return { header: LOAD_BIN_HEADER, value: bin };
  return undefined;
}

/** The report in a header `findLoadReport` found; null when it cannot be read. */
export function parseFound({ header, value }: FoundReport): OrcaReport | null {
  if (header === LOAD_HEADER) return parseLoadMetrics(value);
  if (header === LOAD_JSON_HEADER) return parseJson(value);
  return parseBinary(value);
}

/** `TEXT k=v, …` or `JSON {…}` (a bare JSON object is taken too). Null when unreadable. */
export function parseLoadMetrics(value: string): OrcaReport | null {
  const trimmed = value.trim();
  if (trimmed.startsWith('TEXT ')) return parseText(trimmed.slice(5));
  if (trimmed.startsWith('JSON ')) return parseJson(trimmed.slice(5));
  if (trimmed.startsWith('{')) return parseJson(trimmed);
  return null;
}

const FIELDS: Record<string, keyof Omit<OrcaReport, 'named'>> = {
  cpu_utilization: 'cpuUtilization',
  mem_utilization: 'memUtilization',
  application_utilization: 'applicationUtilization',
  rps_fractional: 'rps',
  eps: 'eps',
};

function put(report: OrcaReport, key: string, value: number): boolean {
  if (!Number.isFinite(value) || value < 0) return false;
  const field = FIELDS[key];
  if (field !== undefined) {
    report[field] = value;
    return true;
  }
  if (key.startsWith('named_metrics.')) {
    report.named ??= {};
    report.named[key.slice('named_metrics.'.length)] = value;
    return true;
  }
  return true; // an unknown figure is ignored, not an error
}

function parseText(body: string): OrcaReport | null {
  const report: OrcaReport = {};
  for (const part of body.split(',')) {
    const pair = part.trim();
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    if (eq <= 0) return null;
    const value = Number(pair.slice(eq + 1).trim());
    if (!put(report, pair.slice(0, eq).trim(), value)) return null;
  }
  return report;
}

function parseJson(body: string): OrcaReport | null {
  let data: unknown;
  try {
    data = JSON.parse(body);
  } catch {
    return null;
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) return null;
  const report: OrcaReport = {};
  for (const [key, value] of Object.entries(data as Record<string, unknown>)) {
    if (key === 'named_metrics' && value !== null && typeof value === 'object') {
      for (const [name, v] of Object.entries(value as Record<string, unknown>)) {
        if (typeof v !== 'number' || !put(report, `named_metrics.${name}`, v)) return null;
      }
    } else if (key in FIELDS) {
      if (typeof value !== 'number' || !put(report, key, value)) return null;
    }
  }
  return report;
}

// OrcaLoadReport (xds/data/orca/v3/orca_load_report.proto): the fields read here, by their names
// in FIELDS.
const PB_DOUBLES: Record<number, string> = {
  1: 'cpu_utilization',
  2: 'mem_utilization',
  6: 'rps_fractional',
  7: 'eps',
  9: 'application_utilization',
};
const PB_NAMED_METRICS = 8;

function parseBinary(base64: string): OrcaReport | null {
  const bytes = Buffer.from(base64, 'base64');
  if (bytes.length === 0) return null;
  const report: OrcaReport = {};
  let at = 0;
  const varint = (): number => {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (at >= bytes.length || shift > 49) throw new RangeError('truncated varint');
      const b = bytes[at++]!;
      result += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return result;
      shift += 7;
    }
  };
  try {
    while (at < bytes.length) {
      const key = varint();
      const field = Math.floor(key / 8);
      const wire = key % 8;
      if (wire === 1) {
        if (at + 8 > bytes.length) return null;
        const value = bytes.readDoubleLE(at);
        at += 8;
        const name = PB_DOUBLES[field];
        if (name !== undefined && !put(report, name, value)) return null;
      } else if (wire === 0) {
        varint();
      } else if (wire === 2) {
        const length = varint();
        if (at + length > bytes.length) return null;
        if (field === PB_NAMED_METRICS) readNamedMetric(bytes.subarray(at, at + length), report);
        at += length;
      } else if (wire === 5) {
        at += 4;
      } else {
        return null;
      }
    }
  } catch {
    return null;
  }
  return report;
}

/** One `map<string, double>` entry: field 1 the name, field 2 the value. */
function readNamedMetric(entry: Buffer, report: OrcaReport): void {
  let name: string | undefined;
  let value: number | undefined;
  let at = 0;
  while (at < entry.length) {
    const key = entry[at++]!;
    if (key === 0x0a) {
      const length = entry[at++]!;
      name = entry.subarray(at, at + length).toString('utf8');
      at += length;
    } else if (key === 0x11) {
      value = entry.readDoubleLE(at);
      at += 8;
    } else {
      return;
    }
  }
  if (name !== undefined && value !== undefined) put(report, `named_metrics.${name}`, value);
}
