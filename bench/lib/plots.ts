// The plots of bench/plots, drawn from the collected results: latency distribution per strategy,
// throughput and CPU per request per setup, the slow-instance and Linkerd results, and pick cost
// against the number of instances.

import type { PlotRef } from './markdown.ts';
import type { CorePickResult } from './report-core.ts';
import type { LinkerdResult, SlowResult, SteadyResult } from './report-http.ts';
import { type Bar, barChart, lineChart } from './svg.ts';

export interface Plot extends PlotRef {
  svg: string;
}

type Curve = { name: string; curve: [number, number][] };

function latencyPlot(bench: string, file: string, title: string, contenders: Curve[]): Plot {
  return {
    bench,
    file,
    title,
    svg: lineChart({
      title,
      x: 'percentile',
      xLabel: 'percentile (each step ten times rarer)',
      yLabel: 'latency, ms (log)',
      yLog: true,
      series: contenders.map((c) => ({
        name: c.name,
        points: c.curve,
        dashed: !c.name.startsWith('picket'),
      })),
    }),
  };
}

function steadyPlots(r: SteadyResult): Plot[] {
  const colourOf = (kind: string) => (kind === 'picket' ? 0 : kind === 'appliance' ? 3 : 2);
  const bars = (f: (c: SteadyResult['contenders'][number]) => number[]): Bar[] =>
    r.contenders.map((c) => ({ label: c.name, values: f(c), colour: colourOf(c.kind) }));
  const floor = r.contenders[0]!;
  return [
    latencyPlot(
      'steady-state',
      'steady-latency.svg',
      `Latency distribution, steady state (${r.concurrency} callers, 3 instances)`,
      r.contenders,
    ),
    {
      bench: 'steady-state',
      file: 'steady-throughput.svg',
      title: 'Throughput per setup',
      svg: barChart({
        title: `Throughput per setup (${r.concurrency} callers, 3 instances; median over rounds)`,
        unit: 'requests per second (client, instances and proxy share 2 cores)',
        bars: bars((c) => [c.rps]),
        reference: { value: floor.rps, label: 'floor' },
      }),
    },
    {
      bench: 'steady-state',
      file: 'steady-cpu.svg',
      title: 'CPU per request per setup',
      svg: barChart({
        title: 'CPU per request: the client, plus the proxy where there is one',
        unit: 'CPU µs per request (user + system)',
        segments: ['client process', 'proxy process'],
        bars: r.contenders.map((c) => ({ label: c.name, values: [c.cpuUsPerReq, c.proxyCpuUsPerReq ?? 0] })),
        reference: { value: floor.cpuUsPerReq, label: 'floor' },
      }),
    },
  ];
}

function slowPlots(r: SlowResult): Plot[] {
  return r.levels.flatMap((level) => [
    latencyPlot(
      'slow-instance',
      `slow-latency-c${level.concurrency}.svg`,
      `Latency with one instance ${r.slowDelayMs} ms slower (${level.concurrency} callers)`,
      level.contenders,
    ),
  ]);
}

function linkerdPlot(r: LinkerdResult): Plot {
  const setup = r.setups[0]!.name;
  const bars: Bar[] = [];
  for (const x of r.results.filter((y) => y.setup === setup)) {
    bars.push({ label: `${x.strategy} (Picket)`, values: [(1 - x.successRate) * 100], colour: 0 });
    if (x.linkerd !== undefined)
      bars.push({ label: `${x.strategy} (Linkerd 2016)`, values: [(1 - x.linkerd) * 100], colour: 8 });
  }
  return {
    bench: 'linkerd',
    file: 'linkerd-failures.svg',
    title: 'Failed requests, Linkerd experiment',
    svg: barChart({
      title: `Failed requests with one of ${r.instances} instances turning ${r.slowMs / 1000} s slow (${setup})`,
      unit: `% of requests failed (${r.timeoutMs} ms timeout)`,
      bars,
    }),
  };
}

function scalingPlot(r: CorePickResult): Plot {
  const strategies = [...new Set(r.picks.map((p) => p.strategy))];
  return {
    bench: 'core-pick',
    file: 'scaling-pick.svg',
    title: 'Pick cost by number of instances',
    svg: lineChart({
      title: 'ns per pick + release by number of instances',
      x: 'log',
      xLabel: 'instances (log)',
      yLabel: 'ns per pick',
      series: strategies.map((s) => ({
        name: s,
        points: r.picks
          .filter((p) => p.strategy === s)
          .map((p) => [p.instances, p.nsPerPick] as [number, number]),
      })),
    }),
  };
}

export function buildPlots(results: Record<string, unknown>): Plot[] {
  const plots: Plot[] = [];
  const steady = results['steady-state'] as SteadyResult | undefined;
  if (steady !== undefined) plots.push(...steadyPlots(steady));
  const slow = results['slow-instance'] as SlowResult | undefined;
  if (slow !== undefined) plots.push(...slowPlots(slow));
  const l = results.linkerd as LinkerdResult | undefined;
  if (l !== undefined) plots.push(linkerdPlot(l));
  const pick = results['core-pick'] as CorePickResult | undefined;
  if (pick !== undefined) plots.push(scalingPlot(pick));
  return plots;
}
