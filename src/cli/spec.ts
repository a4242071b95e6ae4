// `--discovery SPEC`: one string naming where a service's instances come from, parsed into a
// description (unit-tested on its own) and then into a provider. Bad specs fail with a message
// that names the form expected and gives an example.

import { isIP } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { InstanceRecord } from '@picket/core';
import { checkInstance } from '@picket/core/internal';
import { dns, etcd, fileList, type Provider } from '@picket/discovery';
import { UsageError } from './usage.ts';

export type DiscoverySpec =
  | { kind: 'list'; urls: string[] }
  | { kind: 'dns'; hostname: string; port: number; server: string | undefined }
  | { kind: 'srv'; name: string; server: string | undefined }
  | { kind: 'etcd'; endpoint: string; prefix: string }
  | { kind: 'file'; path: string };

export const SPEC_FORMS = [
  'http://HOST:PORT,http://HOST:PORT   a fixed list of instance URLs',
  'dns:NAME:PORT[@SERVER]               every A/AAAA record of NAME, on PORT',
  'srv:_SERVICE._PROTO.NAME[@SERVER]    SRV records (target, port, priority, weight)',
  'etcd:http://HOST:2379/PREFIX/        the keys under PREFIX in etcd',
  'file:PATH                            a JSON or YAML file of instances, re-read on change',
];

const DNS_NAME =
  /^(?=.{1,253}$)[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?)*\.?$/;

function bad(spec: string, why: string): UsageError {
  return new UsageError(`Invalid \`--discovery\` ${JSON.stringify(spec)}: ${why}`);
}

function port(spec: string, text: string, what: string): number {
  const n = /^\d{1,5}$/.test(text) ? Number(text) : Number.NaN;
  if (!(n >= 1 && n <= 65535))
    throw bad(spec, `${what} must be a port from 1 to 65535, got ${JSON.stringify(text)}`);
  return n;
}

/** `ip`, `ip:port` or `[ipv6]:port`: a DNS server for `dns:`/`srv:` (`@127.0.0.1:5353`). */
function server(spec: string, text: string): string {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (bracketed !== null) {
    if (isIP(bracketed[1]!) !== 6)
      throw bad(spec, `the DNS server ${JSON.stringify(text)} is not an IPv6 address`);
    if (bracketed[2] !== undefined) port(spec, bracketed[2], 'the DNS server port');
    return text;
  }
  if (isIP(text) !== 0) return text;
  const colon = text.lastIndexOf(':');
  const host = colon < 0 ? text : text.slice(0, colon);
  if (isIP(host) !== 4) {
    throw bad(
      spec,
      `the DNS server after \`@\` must be an IP address (\`@127.0.0.1:5353\`), got ${JSON.stringify(text)}`,
    );
  }
  if (colon >= 0) port(spec, text.slice(colon + 1), 'the DNS server port');
  return text;
}

function withServer(spec: string, rest: string): [string, string | undefined] {
  const at = rest.lastIndexOf('@');
  if (at < 0) return [rest, undefined];
  return [rest.slice(0, at), server(spec, rest.slice(at + 1))];
}

function parseList(spec: string): DiscoverySpec {
  const urls = spec
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (urls.length === 0) throw bad(spec, 'the list has no URLs');
  const seen = new Set<string>();
  urls.forEach((url, i) => {
    const check = checkInstance(url);
    if (!check.ok) throw bad(spec, `URL ${i + 1} (${JSON.stringify(url)}) ${check.reason}`);
    if (seen.has(check.instance.id)) throw bad(spec, `URL ${i + 1} (${JSON.stringify(url)}) is listed twice`);
    seen.add(check.instance.id);
  });
  return { kind: 'list', urls };
}

function parseDns(spec: string, rest: string): DiscoverySpec {
  const [target, dnsServer] = withServer(spec, rest);
  const colon = target.lastIndexOf(':');
  if (colon < 0) throw bad(spec, 'expected dns:NAME:PORT, such as dns:inventory.internal:8080');
  const hostname = target.slice(0, colon);
  if (!DNS_NAME.test(hostname)) throw bad(spec, `${JSON.stringify(hostname)} is not a DNS name`);
  return {
    kind: 'dns',
    hostname,
    port: port(spec, target.slice(colon + 1), 'the part after the name'),
    server: dnsServer,
  };
}

function parseSrv(spec: string, rest: string): DiscoverySpec {
  const [name, dnsServer] = withServer(spec, rest);
  if (!DNS_NAME.test(name)) {
    throw bad(spec, 'expected srv:_SERVICE._PROTO.NAME, such as srv:_http._tcp.inventory.internal');
  }
  if (!name.startsWith('_')) {
    throw bad(spec, `an SRV name starts with the service label, such as _http._tcp.${name}`);
  }
  return { kind: 'srv', name, server: dnsServer };
}

function parseEtcd(spec: string, rest: string): DiscoverySpec {
  let url: URL;
  try {
    url = new URL(rest);
  } catch {
    throw bad(
      spec,
      'expected etcd:http://HOST:PORT/PREFIX/, such as etcd:http://127.0.0.1:2379/services/inventory/',
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw bad(spec, `the etcd endpoint must be http:// or https://, got ${url.protocol}`);
  }
  if (url.username !== '' || url.password !== '') {
    throw bad(spec, 'credentials in the etcd URL are not accepted on the command line');
  }
  if (url.pathname === '/' || url.pathname === '') {
    throw bad(
      spec,
      'the URL path is the key prefix and is missing, as in etcd:http://127.0.0.1:2379/services/inventory/',
    );
  }
  return { kind: 'etcd', endpoint: url.origin, prefix: decodeURIComponent(url.pathname) };
}

function parseFile(spec: string, rest: string): DiscoverySpec {
  if (rest === '') throw bad(spec, 'expected file:PATH, such as file:./instances.json');
  if (rest.startsWith('//')) {
    try {
      return { kind: 'file', path: fileURLToPath(`file:${rest}`) };
    } catch (error) {
      throw bad(spec, (error as Error).message);
    }
  }
  return { kind: 'file', path: rest };
}

/** Parses a discovery spec; throws a UsageError naming what is wrong and the form expected. */
export function parseDiscoverySpec(text: string): DiscoverySpec {
  const spec = text.trim();
  if (/^https?:\/\//i.test(spec)) return parseList(spec);
  const colon = spec.indexOf(':');
  const scheme = colon < 0 ? '' : spec.slice(0, colon).toLowerCase();
  const rest = spec.slice(colon + 1);
  switch (scheme) {
    case 'dns':
      return parseDns(spec, rest);
    case 'srv':
      return parseSrv(spec, rest);
    case 'etcd':
      return parseEtcd(spec, rest);
    case 'file':
      return parseFile(spec, rest);
    default:
      throw bad(spec, `expected one of:\n  ${SPEC_FORMS.join('\n  ')}`);
  }
}

/** One line for the table's title: where the instances come from. */
export function describeSpec(spec: DiscoverySpec): string {
  switch (spec.kind) {
    case 'list':
      return `static list of ${spec.urls.length}`;
    case 'dns':
      return `DNS ${spec.hostname} port ${spec.port}${spec.server === undefined ? '' : ` via ${spec.server}`}`;
    case 'srv':
      return `DNS SRV ${spec.name}${spec.server === undefined ? '' : ` via ${spec.server}`}`;
    case 'etcd':
      return `etcd ${spec.endpoint} ${spec.prefix}`;
    case 'file':
      return `file ${spec.path}`;
  }
}

/** What `createClient({ discovery })` takes for the spec: the list itself, or a provider. */
export function discoveryFor(spec: DiscoverySpec): readonly InstanceRecord[] | Provider {
  const servers = (s: string | undefined) => (s === undefined ? {} : { servers: [s] });
  switch (spec.kind) {
    case 'list':
      return spec.urls;
    case 'dns':
      return dns({ hostname: spec.hostname, port: spec.port, ...servers(spec.server) });
    case 'srv':
      return dns({ srv: spec.name, ...servers(spec.server) });
    case 'etcd':
      return etcd({ endpoints: [spec.endpoint], prefix: spec.prefix });
    case 'file':
      return fileList(spec.path);
  }
}
