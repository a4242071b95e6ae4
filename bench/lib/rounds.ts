// Interleaved rounds: every contender runs once per round, in an order rotated each round, so
// that the machine's drift (the load generator, instances and client share two cores) falls on
// all of them alike. Figures are medians over rounds; ratios are taken within a round first.

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
  for (let r = 0; r < options.rounds; r++) {
    const k = r % contenders.length;
    const order = [...contenders.slice(k), ...contenders.slice(0, k)];
    for (const c of order) {
      const s = await once(c, options.roundMs);
      samples.get(c.name)!.push(s);
      if (s.errors > 0) console.error(`${c.name}: ${s.errors} errors, e.g. ${s.sampleErrors[0]}`);
    }
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
