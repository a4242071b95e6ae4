// `picket watch` options: the usage text, and the arguments parsed and checked into settings
// (bad ones throw a UsageError naming the argument).

import type { SubsetOptions } from '@picket/core';
import { type HealthCheck, httpCheck, loadCheck, tcpCheck } from '@picket/health';
import { type DiscoverySpec, parseDiscoverySpec } from './spec.ts';
import { milliseconds, type Parsed, parse, required, UsageError, wholeNumber } from './usage.ts';

export const WATCH_USAGE = `Usage: picket watch --service NAME --discovery SPEC [options]

Shows a service's instances live, as Picket's balancer sees them: state, requests per second,
health-check latency (p50/p99), in-flight requests and ejections. Ctrl-C stops it.

Options:
  --service NAME     the service's name (the host of http://NAME/… URLs)
  --discovery SPEC   where the instances come from:
                       http://HOST:PORT,http://HOST:PORT   a fixed list
                       dns:NAME:PORT[@SERVER]              every A/AAAA record of NAME
                       srv:_SERVICE._PROTO.NAME[@SERVER]   SRV records
                       etcd:http://HOST:2379/PREFIX/       keys under PREFIX in etcd
                       file:PATH                           a JSON or YAML file, re-read on change
  --check KIND       l7 (HTTP GET of --path, default), l4 (TCP connect), load (a loadReporter's
                     report at --path), or none
  --path PATH        path for --check l7 (default /health) or load (default /load)
  --interval MS      time between checks of each instance, and between redraws (default 1000)
  --timeout MS       deadline for one check (default 2000)
  --request PATH     also send GET PATH through Picket --rate times a second, to see the spread
  --rate N           requests per second for --request (default 10)
  --subset N         use only N of the instances, as a caller with subsetting would (random
                     mode: the rendezvous top N for --caller-id); the table marks each one
                     member or grown and counts those outside
  --caller-id ID     the caller id for --subset (default: PICKET_CALLER_ID, else the host name)
  --peers I/N        deterministic subsetting: this caller is number I (from 0) of N
  --once             print once, after every instance has been checked, and exit
  --json             JSON instead of the table: one object per line, or a single one with --once
  --web              the web dashboard instead of the table: prints its URL (and opens it in a
                     browser when run in a terminal); read-only, on loopback
  --web-port N       port for --web (default 0: any free port)
  --web-host HOST    address for --web to listen on (default 127.0.0.1)
  -h, --help         show this help

Exit status: 0 normally; with --once, 1 when no instance is healthy or discovery failed;
2 for bad arguments.`;

const SERVICE_NAME = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/;

export interface WatchSettings {
  service: string;
  spec: DiscoverySpec;
  check: HealthCheck | undefined;
  checkLabel: string;
  interval: number;
  timeout: number;
  request: string | undefined;
  rate: number;
  once: boolean;
  json: boolean;
  /** `--web`: the dashboard's address, or undefined for the table. */
  web: { host: string; port: number } | undefined;
  /** `--subset` (with `--caller-id`, `--peers`), or undefined to use every instance. */
  subset: SubsetOptions | undefined;
}

function checkOf(kind: string, path: string | undefined, timeout: number): HealthCheck | undefined {
  switch (kind) {
    case 'l7':
      return httpCheck({ path: path ?? '/health', timeout });
    case 'l4':
      return tcpCheck({ timeout });
    case 'load':
      return loadCheck({ path: path ?? '/load', timeout });
    case 'none':
      return undefined;
    default:
      throw new UsageError(`\`--check\` must be l7, l4, load or none, got ${JSON.stringify(kind)}`);
  }
}

function webOf(values: Parsed['values']): WatchSettings['web'] {
  const port = values['web-port'];
  const host = values['web-host'];
  if (values.web !== true) {
    if (port !== undefined || host !== undefined)
      throw new UsageError('`--web-port` and `--web-host` need `--web`');
    return undefined;
  }
  if (values.once === true || values.json === true) {
    throw new UsageError(
      '`--web` shows the page instead of the table: it takes neither `--once` nor `--json`',
    );
  }
  const n = port === undefined ? 0 : wholeNumber(port);
  if (!(n >= 0 && n <= 65535)) {
    throw new UsageError(
      `\`--web-port\` must be a port number from 0 (any free port) to 65535, got ${JSON.stringify(port)}`,
    );
  }
  if (host !== undefined && (typeof host !== 'string' || host.trim() === '')) {
    throw new UsageError('`--web-host` must be a host name or IP address');
  }
  return { host: typeof host === 'string' ? host.trim() : '127.0.0.1', port: n };
}

function subsetOf(values: Parsed['values']): SubsetOptions | undefined {
  const { subset, peers } = values;
  const callerId = values['caller-id'];
  if (subset === undefined) {
    if (callerId !== undefined || peers !== undefined)
      throw new UsageError('`--caller-id` and `--peers` need `--subset N`');
    return undefined;
  }
  const size = wholeNumber(subset);
  if (!(size >= 1 && size <= 100_000)) {
    throw new UsageError(
      `\`--subset\` must be a number of instances from 1 to 100000, got ${JSON.stringify(subset)}`,
    );
  }
  if (callerId !== undefined && (typeof callerId !== 'string' || callerId.trim() === '')) {
    throw new UsageError('`--caller-id` must not be empty');
  }
  const id = typeof callerId === 'string' ? { callerId: callerId.trim() } : {};
  if (peers === undefined) return { size, mode: 'random', ...id };
  const match = /^(\d+)\/(\d+)$/.exec(String(peers).trim());
  const index = Number(match?.[1]);
  const count = Number(match?.[2]);
  if (match === null || !(count >= 1 && index < count)) {
    throw new UsageError(
      `\`--peers\` must be INDEX/COUNT with 0 ≤ INDEX < COUNT (this caller's place among its peers), got ${JSON.stringify(peers)}`,
    );
  }
  return { size, mode: 'deterministic', peers: { index, count }, ...id };
}

export function settingsFrom(args: readonly string[]): WatchSettings {
  const { values, positionals } = parse(
    args,
    {
      service: { type: 'string' },
      discovery: { type: 'string' },
      check: { type: 'string' },
      path: { type: 'string' },
      interval: { type: 'string' },
      timeout: { type: 'string' },
      request: { type: 'string' },
      rate: { type: 'string' },
      once: { type: 'boolean' },
      json: { type: 'boolean' },
      web: { type: 'boolean' },
      'web-port': { type: 'string' },
      'web-host': { type: 'string' },
      subset: { type: 'string' },
      'caller-id': { type: 'string' },
      peers: { type: 'string' },
    },
    true,
  );
  if (positionals.length > 0) {
    throw new UsageError(
      `\`picket watch\` takes no arguments besides options, got ${JSON.stringify(positionals[0])}`,
    );
  }
  const service = required('service', values.service, 'inventory');
  if (!SERVICE_NAME.test(service)) {
    throw new UsageError(
      `\`--service\` must be a host-name-like name (letters, digits, dots and dashes), got ${JSON.stringify(service)}`,
    );
  }
  const spec = parseDiscoverySpec(
    required('discovery', values.discovery, 'http://127.0.0.1:8001,http://127.0.0.1:8002'),
  );
  const interval = milliseconds('interval', values.interval, 1000);
  const timeout = milliseconds('timeout', values.timeout, 2000);
  const path = values.path as string | undefined;
  if (path !== undefined && (!path.startsWith('/') || /[\s#]/.test(path))) {
    throw new UsageError(`\`--path\` must start with / and have no spaces, got ${JSON.stringify(path)}`);
  }
  const kind = (values.check as string | undefined) ?? 'l7';
  const check = checkOf(kind, path, timeout);
  const request = values.request as string | undefined;
  if (request !== undefined && (!request.startsWith('/') || /[\s#]/.test(request))) {
    throw new UsageError(`\`--request\` must be a path starting with /, got ${JSON.stringify(request)}`);
  }
  let rate = 10;
  if (values.rate !== undefined) {
    rate = Number(values.rate);
    if (!(rate >= 1 && rate <= 1000)) {
      throw new UsageError(
        `\`--rate\` must be a number of requests per second from 1 to 1000, got ${JSON.stringify(values.rate)}`,
      );
    }
    if (request === undefined) throw new UsageError('`--rate` needs `--request PATH`');
  }
  const labels: Record<string, string> = {
    l7: `HTTP GET ${path ?? '/health'}`,
    l4: 'TCP connect',
    load: `load report ${path ?? '/load'}`,
    none: 'no health checks',
  };
  const checkLabel = labels[kind] ?? kind;
  return {
    service,
    spec,
    web: webOf(values),
    subset: subsetOf(values),
    check,
    checkLabel,
    interval,
    timeout,
    request,
    rate,
    once: values.once === true,
    json: values.json === true,
  };
}
