// Interleaved rounds: every contender runs once per round, in an order shuffled each round
// (seeded), so that the machine's drift (the load generator, instances and client share two
// cores) falls on all of them alike. A rotation would keep each contender behind the same
// predecessor every round and hand it that predecessor's after-effects (a proxy still winding
// down, its garbage); a shuffle spreads them. Figures are medians over rounds; ratios are
// taken within a round first.

import { seededRandom } from '@picket/core';
import type { Contender } from './contenders.ts';
import { closedLoop, type Sample } from './load.ts';
import { curve, median, pairedRatio, percentileOf, round, sortedCopy } from './stats.ts';

export interface RoundSample extends Sample {
  /** CPU of another process in the path (a proxy) over the sample, µs; 0 when none. */
  extraCpuUs: number;
}

export interface RoundsOptions {
  rounds: number;
  roundMs: number;
  warmupMs: number;
  concurrency: number;
  /** Called before each contender's turn (to reset instance state, say). */
  before?: (c: Contender) => Promise<void>;
  /**
   * Runs each round forward and then backward (A B C C B A), each turn `roundMs / 2`, and merges
   * a contender's two turns: drift that is linear over a round then falls on every contender
   * equally, whatever its place in the order.
   */
  mirrored?: boolean;
}

function merge(a: RoundSample, b: RoundSample): RoundSample {
  const latencies = new Float64Array(a.latencies.length + b.latencies.length);
  latencies.set(a.latencies);
  latencies.set(b.latencies, a.latencies.length);
  const byInstance = { ...a.byInstance };
  for (const [id, n] of Object.entries(b.byInstance)) byInstance[id] = (byInstance[id] ?? 0) + n;
  return {
    requests: a.requests + b.requests,
    errors: a.errors + b.errors,
    cpuUs: a.cpuUs + b.cpuUs,
    wallMs: a.wallMs + b.wallMs,
    latencies,
    byInstance,
    sampleErrors: [...a.sampleErrors, ...b.sampleErrors].slice(0, 5),
    extraCpuUs: a.extraCpuUs + b.extraCpuUs,
  };
}

/** A copy of `items` in a random order (Fisher-Yates, on the given source). */
export function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const order = [...items];
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

export async function runRounds(
  contenders: readonly Contender[],
  options: RoundsOptions,
): Promise<Map<string, RoundSample[]>> {
  const samples = new Map<string, RoundSample[]>(contenders.map((c) => [c.name, []]));
  const once = async (c: Contender, ms: number): Promise<RoundSample> => {
    await options.before?.(c);
    const extra0 = c.extraCpuUs?.() ?? 0;
    const s = await closedLoop(c.send, { concurrency: options.concurrency, ms });
    return { ...s, extraCpuUs: (c.extraCpuUs?.() ?? 0) - extra0 };
  };
  for (const c of contenders) await once(c, options.warmupMs);
  const random = seededRandom(0x5eed);
  for (let r = 0; r < options.rounds; r++) {
    const order = shuffled(contenders, random);
    const turns = options.mirrored ? [...order, ...[...order].reverse()] : order;
    const ms = options.mirrored ? options.roundMs / 2 : options.roundMs;
    const got = new Map<string, RoundSample>();
    for (const c of turns) {
      const s = await once(c, ms);
      const first = got.get(c.name);
      got.set(c.name, first === undefined ? s : merge(first, s));
      if (s.errors > 0) console.error(`${c.name}: ${s.errors} errors, e.g. ${s.sampleErrors[0]}`);
    }
    for (const c of contenders) samples.get(c.name)!.push(got.get(c.name)!);
  }
  return samples;
}

export const rps = (s: Sample): number => (s.requests / s.wallMs) * 1000;
export const cpuPerRequest = (s: Sample): number => s.cpuUs / s.requests;
export const p50 = (s: Sample): number => percentileOf(sortedCopy(s.latencies), 50);
export const p99 = (s: Sample): number => percentileOf(sortedCopy(s.latencies), 99);

export interface ContenderFigures {
  name: string;
  kind: Contender['kind'];
  requests: number;
  errors: number;
  /** Medians over rounds. */
  rps: number;
  cpuUsPerReq: number;
  /** The proxy's own CPU per request (appliances), µs. */
  proxyCpuUsPerReq: number | undefined;
  p50Ms: number;
  p99Ms: number;
  /** Paired ratios against the baseline, median over rounds. */
  vsBaseline: { rps: number; cpuUsPerReq: number; p50Ms: number; p99Ms: number };
  /** Latency distribution over every round. */
  curve: [number, number][];
}

export function figures(
  contenders: readonly Contender[],
  samples: Map<string, RoundSample[]>,
  baseline: string,
): ContenderFigures[] {
  const base = samples.get(baseline)!;
  return contenders.map((c) => {
    const s = samples.get(c.name)!;
    const all = new Float64Array(s.reduce((n, x) => n + x.latencies.length, 0));
    let at = 0;
    for (const x of s) {
      all.set(x.latencies, at);
      at += x.latencies.length;
    }
    return {
      name: c.name,
      kind: c.kind,
      requests: s.reduce((n, x) => n + x.requests, 0),
      errors: s.reduce((n, x) => n + x.errors, 0),
      rps: Math.round(median(s.map(rps))),
      cpuUsPerReq: round(median(s.map(cpuPerRequest)), 2),
      proxyCpuUsPerReq:
        c.extraCpuUs === undefined ? undefined : round(median(s.map((x) => x.extraCpuUs / x.requests)), 2),
      p50Ms: round(median(s.map(p50))),
      p99Ms: round(median(s.map(p99))),
      vsBaseline: {
        rps: pairedRatio(s, base, rps),
        cpuUsPerReq: pairedRatio(s, base, cpuPerRequest),
        p50Ms: pairedRatio(s, base, p50),
        p99Ms: pairedRatio(s, base, p99),
      },
      curve: curve(all),
    };
  });
}
