// SRV discovery: each record's target resolved to addresses; SRV priority becomes the instance's
// priority group (0 = most preferred) and SRV weight its weight, per RFC 2782.

import type { Backoff } from './backoff.ts';
import { type ProviderContext, retryLoop } from './base.ts';
import {
  type Address,
  addressId,
  createResolver,
  type Family,
  FamilyStreaks,
  type Resolved,
  resolveAddresses,
} from './dns-resolve.ts';

/**
 * The parsed dns() options an SRV lookup reads (dns.ts's ResolvedDnsOptions, which calls
 * runSrv: named here, so that the two modules do not import each other).
 */
interface SrvOptions {
  readonly servers?: readonly string[] | undefined;
  readonly timeoutMs: number;
  readonly tries: number;
  readonly family: Family;
  readonly secure: boolean;
  readonly zone?: string | undefined;
  readonly refreshMs?: number | undefined;
  readonly maxRecords: number;
}

interface SrvAnswer {
  name: string;
  port: number;
  priority: number;
  weight: number;
}

const MAX_PRIORITY = 127;
const CONCURRENCY = 8;
const DEFAULT_REFRESH_MS = 30_000;

/**
 * RFC 2782: weight 0 means "very small chance" next to weighted peers, and "equal chance" when a
 * whole priority level is 0. The balancer wants positive weights, so map it accordingly.
 */
export function srvWeights(answers: readonly SrvAnswer[]): number[] {
  const smallestByPriority = new Map<number, number>();
  for (const a of answers) {
    if (a.weight > 0)
      smallestByPriority.set(a.priority, Math.min(smallestByPriority.get(a.priority) ?? a.weight, a.weight));
  }
  return answers.map((a) => {
    if (a.weight > 0) return a.weight;
    const smallest = smallestByPriority.get(a.priority);
    return smallest === undefined ? 1 : smallest / 100;
  });
}

/** Distinct SRV priorities in ascending order become levels 0, 1, 2 … (capped at 127). */
export function srvLevels(answers: readonly SrvAnswer[]): Map<number, number> {
  const distinct = [...new Set(answers.map((a) => a.priority))].sort((x, y) => x - y);
  return new Map(distinct.map((p, i) => [p, Math.min(i, MAX_PRIORITY)]));
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

export function runSrv(ctx: ProviderContext, srv: string, opts: SrvOptions, retry: Backoff): Promise<void> {
  const resolver = createResolver(opts.servers, opts.timeoutMs, opts.tries);
  ctx.onClose(() => resolver.cancel());
  ctx.signal.addEventListener('abort', () => resolver.cancel(), { once: true });
  const refreshMs = opts.refreshMs ?? DEFAULT_REFRESH_MS;
  const streaks = new FamilyStreaks();

  return retryLoop(
    ctx,
    retry,
    async () => {
      const answers = (await resolver.resolveSrv(srv)).filter((a) => a.name !== '' && a.name !== '.');
      if (answers.length > opts.maxRecords) {
        throw new Error(`${answers.length} SRV records, more than \`maxRecords\` (${opts.maxRecords})`);
      }
      const targets = [...new Set(answers.map((a) => a.name))];
      const resolved = await mapLimit(targets, CONCURRENCY, (name) =>
        resolveAddresses(resolver, name, opts.family).then(
          (answer) => ({ name, addresses: answer.addresses, error: undefined as unknown, answer }),
          (error: unknown) => ({
            name,
            addresses: [] as Address[],
            error,
            answer: undefined as Resolved | undefined,
          }),
        ),
      );
      if (ctx.signal.aborted) return undefined;
      streaks.retain(new Set(targets));
      // One family of a target failing is reported once per streak; the other family's addresses serve.
      for (const { name, answer } of resolved) {
        if (answer === undefined) continue;
        for (const error of streaks.update(ctx.name, name, answer)) ctx.fail(error);
      }
      const byTarget = new Map(resolved.map((r) => [r.name, r]));
      if (targets.length > 0 && resolved.every((r) => r.addresses.length === 0)) {
        throw new Error(`no SRV target of ${srv} resolved`, { cause: resolved[0]?.error });
      }
      const levels = srvLevels(answers);
      const weights = srvWeights(answers);
      const records: unknown[] = [];
      answers.forEach((answer, i) => {
        const target = byTarget.get(answer.name)!;
        if (target.addresses.length === 0) {
          const reason = target.error instanceof Error ? target.error.message : 'no addresses';
          ctx.reportInvalid(answer, `SRV target ${answer.name} did not resolve: ${reason}`);
          return;
        }
        // A target is one server in SRV terms: its addresses share the record's weight.
        const weight = weights[i]! / target.addresses.length;
        for (const a of target.addresses) {
          records.push({
            host: a.address,
            port: answer.port,
            secure: opts.secure,
            id: addressId(a.address, answer.port),
            weight,
            priority: levels.get(answer.priority) ?? 0,
            ...(opts.zone === undefined ? {} : { zone: opts.zone }),
            metadata: { target: answer.name, srvPriority: answer.priority, srvWeight: answer.weight },
          });
        }
      });
      ctx.publish(records);
      return refreshMs;
    },
    `resolving SRV ${srv}`,
  );
}
