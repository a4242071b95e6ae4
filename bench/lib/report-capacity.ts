// The uneven-capacity section of bench/RESULTS.md.

import { images, ms, type PlotRef, percent, table } from './markdown.ts';

interface CapacityFigures {
  name: string;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  shares: Record<string, number>;
  offCapacity: number;
}

export interface CapacityResult {
  slots: number;
  serviceMs: number;
  capacity: Record<string, number>;
  capacityShare: Record<string, number>;
  rounds: number;
  roundMs: number;
  levels: { concurrency: number; contenders: CapacityFigures[] }[];
}

export function unevenCapacity(r: CapacityResult, plots: readonly PlotRef[]): string {
  const ids = Object.keys(r.capacityShare);
  const parts = [
    '## Uneven capacity (`bench/uneven-capacity.ts`)',
    '',
    `Four instances, each serving at most ${r.slots} requests at once and queueing the rest; three take ${r.serviceMs} ms a request, one ${2 * r.serviceMs} ms (half the capacity: ${ids.map((id) => `${id} ${r.capacity[id]} req/s`).join(', ')}). Every response carries the instance's own \`endpoint-load-metrics\` (utilization and rps over the last 250 ms). Shares are the median over ${r.rounds} interleaved rounds of ${r.roundMs} ms; "off capacity" is the largest relative distance of an instance's share from its share of the capacity (goal for weighted round robin: under 10%). Weighted round robin runs with a 1 s blackout so that its weights are in use after the warm-up.`,
  ];
  for (const level of r.levels) {
    parts.push(
      '',
      `**${level.concurrency} concurrent callers** (capacity shares: ${ids.map((id) => `${id} ${percent(r.capacityShare[id], 1)}`).join(', ')}):`,
      '',
      table(
        ['setup', 'req/s', 'p50 ms', 'p99 ms', ...ids, 'off capacity', 'errors'],
        level.contenders.map((c) => [
          c.name,
          c.rps,
          ms(c.p50Ms),
          ms(c.p99Ms),
          ...ids.map((id) => percent(c.shares[id], 1)),
          percent(c.offCapacity, 1),
          c.errors,
        ]),
      ),
    );
  }
  parts.push('', ...images(plots, 'uneven-capacity'));
  return parts.join('\n');
}
