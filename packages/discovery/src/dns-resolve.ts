// DNS lookups shared by the A/AAAA and SRV providers: a private Resolver aimed at the configured
// servers, every address with its TTL, and the rule that a partial failure is a failure.

import { promises as dnsPromises } from 'node:dns';
import { isIP } from 'node:net';

export type Family = 0 | 4 | 6;

export interface Address {
  address: string;
  /** Seconds, as the server gave it. */
  ttl: number;
  family: 4 | 6;
}

/** Parses `1.2.3.4`, `1.2.3.4:5353`, `::1` or `[::1]:5353`; undefined when it is none of those. */
export function parseServer(server: string): { host: string; port: number } | undefined {
  const bracketed = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(server);
  if (bracketed !== null) {
    const port = bracketed[2] === undefined ? 53 : Number(bracketed[2]);
    return isIP(bracketed[1]!) === 6 && port >= 1 && port <= 65535
      ? { host: bracketed[1]!, port }
      : undefined;
  }
  if (isIP(server) !== 0) return { host: server, port: 53 };
  const hostPort = /^([^:]+):(\d{1,5})$/.exec(server);
  if (hostPort === null || isIP(hostPort[1]!) !== 4) return undefined;
  const port = Number(hostPort[2]);
  return port >= 1 && port <= 65535 ? { host: hostPort[1]!, port } : undefined;
}

export function createResolver(
  servers: readonly string[] | undefined,
  timeoutMs: number,
  tries: number,
): dnsPromises.Resolver {
  const resolver = new dnsPromises.Resolver({ timeout: timeoutMs, tries });
  if (servers !== undefined && servers.length > 0) resolver.setServers([...servers]);
  return resolver;
}

/** `1.2.3.4:80` or `[::1]:80`: the identity of an address-based instance, so that stats survive refreshes. */
export function addressId(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

// "This name has no records of this type" is an answer, not a failure of the server.
const NO_DATA = new Set(['ENODATA', 'ENOTFOUND']);

const codeOf = (error: unknown) => (error as { code?: unknown } | null)?.code;

/**
 * Every A and/or AAAA record of `hostname` with TTLs. Throws when the name has no address of the
 * wanted families, or when either lookup failed for any other reason (a half answer would drop
 * the addresses of the family that failed).
 */
export async function resolveAddresses(
  resolver: dnsPromises.Resolver,
  hostname: string,
  family: Family,
): Promise<Address[]> {
  if (isIP(hostname) !== 0)
    return [{ address: hostname, ttl: Number.POSITIVE_INFINITY, family: isIP(hostname) as 4 | 6 }];
  const lookups: Promise<Address[]>[] = [];
  if (family !== 6) {
    lookups.push(
      resolver
        .resolve4(hostname, { ttl: true })
        .then((list) => list.map((r) => ({ ...r, family: 4 as const }))),
    );
  }
  if (family !== 4) {
    lookups.push(
      resolver
        .resolve6(hostname, { ttl: true })
        .then((list) => list.map((r) => ({ ...r, family: 6 as const }))),
    );
  }
  const results = await Promise.allSettled(lookups);
  const out: Address[] = [];
  let noData: unknown;
  for (const result of results) {
    if (result.status === 'fulfilled') out.push(...result.value);
    else if (NO_DATA.has(codeOf(result.reason) as string)) noData = result.reason;
    else throw result.reason;
  }
  if (out.length === 0) {
    const kinds = family === 4 ? 'A' : family === 6 ? 'AAAA' : 'A or AAAA';
    const code = codeOf(noData);
    throw Object.assign(
      new Error(`${hostname} has no ${kinds} records${code === undefined ? '' : ` (${code})`}`),
      {
        code: code ?? 'ENODATA',
      },
    );
  }
  return out;
}
