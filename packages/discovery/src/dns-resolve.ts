// DNS lookups shared by the A/AAAA and SRV providers: a private Resolver aimed at the configured
// servers, every address with its TTL, and the rule that one family's failure is not the whole
// answer's: the other family's records are used, and the failure is reported once per streak.

import { promises as dnsPromises } from 'node:dns';
import { isIP } from 'node:net';
import { PicketError } from '@picket/core';
import { messageOf } from '@picket/core/internal';

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

const RECORD_TYPE = { 4: 'A', 6: 'AAAA' } as const;

/** A family whose query failed (REFUSED, SERVFAIL, a timeout…) while another family answered. */
export interface FamilyFailure {
  family: 4 | 6;
  error: unknown;
}

export interface Resolved {
  addresses: Address[];
  /** Families that failed; the addresses are the other family's. Empty when every query answered. */
  failed: FamilyFailure[];
}

function lookup(resolver: dnsPromises.Resolver, hostname: string, family: 4 | 6): Promise<Address[]> {
  const query =
    family === 4 ? resolver.resolve4(hostname, { ttl: true }) : resolver.resolve6(hostname, { ttl: true });
  return query.then((list) => list.map((r) => ({ ...r, family })));
}

/**
 * Every A and/or AAAA record of `hostname` with TTLs. When one family's query fails and the other
 * answers with addresses, those addresses are the answer and `failed` names the family that failed.
 * Throws when no family yields an address: with the failure when one failed (both, when both
 * did), or ENODATA when the name simply has no address of the wanted families.
 */
export async function resolveAddresses(
  resolver: dnsPromises.Resolver,
  hostname: string,
  family: Family,
): Promise<Resolved> {
  if (isIP(hostname) !== 0) {
    const own = { address: hostname, ttl: Number.POSITIVE_INFINITY, family: isIP(hostname) as 4 | 6 };
    return { addresses: [own], failed: [] };
  }
  const families = family === 0 ? ([4, 6] as const) : [family];
  const results = await Promise.allSettled(families.map((f) => lookup(resolver, hostname, f)));
  const addresses: Address[] = [];
  const failed: FamilyFailure[] = [];
  let noData: unknown;
  results.forEach((result, i) => {
    if (result.status === 'fulfilled') addresses.push(...result.value);
    else if (NO_DATA.has(codeOf(result.reason) as string)) noData = result.reason;
    else failed.push({ family: families[i]!, error: result.reason });
  });
  if (addresses.length > 0) return { addresses, failed };
  if (failed.length === 1) throw failed[0]!.error;
  if (failed.length > 1) {
    const first = failed[0]!.error;
    const words = failed.map((f) => messageOf(f.error));
    throw Object.assign(new Error(words.join('; '), { cause: first }), { code: codeOf(first) });
  }
  const kinds = family === 4 ? 'A' : family === 6 ? 'AAAA' : 'A or AAAA';
  const code = codeOf(noData);
  throw Object.assign(
    new Error(`${hostname} has no ${kinds} records${code === undefined ? '' : ` (${code})`}`),
    {
      code: code ?? 'ENODATA',
    },
  );
}

/**
 * Which names' families are failing while the other family answers, so that a provider reports
 * such a failure when it starts, not at every refresh. A family that answers (records or none)
 * ends its streak; failing again after that is reported again.
 */
export class FamilyStreaks {
  readonly #failing = new Set<string>();

  /**
   * Records one resolution of `hostname` and returns, as PICKET_DISCOVERY_FAILED errors for
   * `provider`, the failures that start a streak. `details` carries `hostname` and `family`.
   */
  update(provider: string, hostname: string, resolved: Resolved): PicketError[] {
    const fresh: PicketError[] = [];
    for (const f of [4, 6] as const) {
      const key = `${f} ${hostname}`;
      const failure = resolved.failed.find((x) => x.family === f);
      if (failure === undefined) {
        this.#failing.delete(key);
        continue;
      }
      if (this.#failing.has(key)) continue;
      this.#failing.add(key);
      const other = RECORD_TYPE[f === 4 ? 6 : 4];
      const why = messageOf(failure.error);
      fresh.push(
        new PicketError(
          'PICKET_DISCOVERY_FAILED',
          `${provider}: ${RECORD_TYPE[f]} query for ${hostname} failed; using its ${other} records only: ${why}`,
          { cause: failure.error, details: { provider, hostname, family: f } },
        ),
      );
    }
    return fresh;
  }

  /** Forgets names no longer looked up (SRV targets that left), so that their return starts afresh. */
  retain(hostnames: ReadonlySet<string>): void {
    for (const key of this.#failing) {
      if (!hostnames.has(key.slice(key.indexOf(' ') + 1))) this.#failing.delete(key);
    }
  }
}
