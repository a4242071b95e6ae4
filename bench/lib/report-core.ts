// RESULTS.md sections for the scaling benchmarks (balancer hot path, memory, membership updates,
// health-check cost) and for the @picket/http steady-state check (bench/http-steady.ts).

import { images, type PlotRef, table, times } from './markdown.ts';

interface PickRow {
  strategy: string;
  instances: number;
  nsPerPick: number;
  scavengesPerMillion: number;
}

interface MemoryRow {
  strategy: string;
  instances: number;
  bytesPerInstance: number;
  totalKiB: number;
}

export interface CorePickResult {
  picks: PickRow[];
  updateMs: Record<string, number>;
  updateMsBySize?: Record<string, Record<string, number>>;
  memory?: MemoryRow[];
}

/** The foundation issue's targets: ns per pick at 100 and at 10,000 instances. */
const TARGETS: Record<string, [number, number]> = {
  'round-robin': [100, 200],
  'least-request': [150, 300],
  'peak-ewma': [150, 300],
  'ring-hash': [300, 600],
};

const bySize = <T extends { strategy: string; instances: number }>(
  rows: readonly T[],
  f: (r: T) => number,
) => {
  const sizes = [...new Set(rows.map((r) => r.instances))].sort((a, b) => a - b);
  const strategies = [...new Set(rows.map((r) => r.strategy))];
  return {
    sizes,
    rows: strategies.map((s) => [
      s,
      ...sizes.map((n) => {
        const row = rows.find((r) => r.strategy === s && r.instances === n);
        return row === undefined ? undefined : f(row);
      }),
    ]),
  };
};

export function corePick(r: CorePickResult, plots: readonly PlotRef[]): string {
  const ns = bySize(r.picks, (p) => p.nsPerPick);
  const gcs = bySize(r.picks, (p) => Number(p.scavengesPerMillion.toFixed(1)));
  const worstGc = Math.max(...r.picks.map((p) => Number(p.scavengesPerMillion.toFixed(1))));
  const withTargets = ns.rows.map((row) => {
    const t = TARGETS[row[0] as string];
    return [...row, t === undefined ? undefined : `≤ ${t[0]} / ≤ ${t[1]}`];
  });
  const parts = [
    '## Scaling: the balancer hot path (`bench/core-pick.ts`)',
    '',
    'ns per `pick()` + `release()` by number of instances (targets at 100 / 10,000 instances):',
    '',
    table(['strategy', ...ns.sizes.map((n) => n.toLocaleString('en')), 'target ns'], withTargets),
    '',
    `Young-generation GCs (scavenges) per million picks, measured here (target ≤ 1: ${worstGc <= 1 ? `met, at most ${worstGc}` : `**not met**: up to ${worstGc}`}; \`bench/pick-gc.ts\` measures each case in a process of its own):`,
    '',
    table(['strategy', ...gcs.sizes.map((n) => n.toLocaleString('en'))], gcs.rows),
  ];
  if (r.memory !== undefined) {
    const mem = bySize(r.memory, (m) => m.bytesPerInstance);
    parts.push(
      '',
      'Heap per instance, bytes: heap used after a full GC with the balancer holding the instances and its strategy tables built, minus before, divided by the count (the record strings themselves not included; at 10 instances the fixed cost of a balancer dominates):',
      '',
      table(['strategy', ...mem.sizes.map((n) => n.toLocaleString('en'))], mem.rows),
    );
  }
  const updates = r.updateMsBySize ?? { 10000: r.updateMs };
  const sizes = Object.keys(updates).map(Number);
  parts.push(
    '',
    'Membership update, ms: one instance added to n − 1 (records parsed from URL strings, tables rebuilt on the next pick); target < 50 ms at 10,000:',
    '',
    table(
      ['strategy', ...sizes.map((n) => n.toLocaleString('en'))],
      Object.keys(updates[sizes[0]!] ?? {}).map((s) => [s, ...sizes.map((n) => updates[n]?.[s])]),
    ),
    '',
    ...images(plots, 'core-pick'),
  );
  return parts.join('\n');
}

interface PickGcRow {
  strategy: string;
  keyed: boolean;
  instances: number;
  scavenges: number;
  scavengesSmallYoung: number;
}

export interface PickGcResult {
  pairs: number;
  target: number;
  rows: PickGcRow[];
}

const pickGcLabel = (row: PickGcRow) => (row.keyed ? `${row.strategy} (key)` : row.strategy);

export function pickGc(r: PickGcResult): string {
  const sizes = [...new Set(r.rows.map((row) => row.instances))].sort((a, b) => a - b);
  const names = [...new Set(r.rows.map(pickGcLabel))];
  const cell = (name: string, n: number) => {
    const row = r.rows.find((x) => pickGcLabel(x) === name && x.instances === n);
    return row === undefined ? undefined : `${row.scavenges} / ${row.scavengesSmallYoung}`;
  };
  return [
    '## Allocation on the hot path (`bench/pick-gc.ts`)',
    '',
    `Young-generation GCs during ${r.pairs.toLocaleString('en')} \`pick()\` + \`release()\` pairs with default options and preallocated outcomes, one process per cell: with V8's default young generation (target ≤ ${r.target}) / with 1 MB semi-spaces, where each scavenge is about one byte allocated per pair (a boxed double per pick shows as ~16):`,
    '',
    table(
      ['strategy', ...sizes.map((n) => `${n.toLocaleString('en')} instances`)],
      names.map((name) => [name, ...sizes.map((n) => cell(name, n))]),
    ),
  ].join('\n');
}

export interface HealthResult {
  instances: number;
  intervalMs: number;
  steadyMs: number;
  targetCpuPercentOfOneCore: number;
  results: {
    check: string;
    checks: number;
    failed: number;
    checksPerSecond: number;
    cpuPercentOfOneCore: number;
    startCpuPercentOfOneCore: number;
    withinTarget: boolean;
  }[];
}

export function healthChecks(r: HealthResult): string {
  return [
    '## Scaling: health-check cost (`bench/health-checks.ts`)',
    '',
    `${r.instances.toLocaleString('en')} instances checked every ${r.intervalMs} ms (one helper process serves all their ports). CPU of the checking process over ${r.steadyMs / 1000} s of steady state, as a percentage of one core (target < ${r.targetCpuPercentOfOneCore}%), and per check:`,
    '',
    table(
      [
        'check',
        'checks/s',
        'failed',
        'CPU % of a core (steady)',
        'CPU µs per check',
        'CPU % (first rounds, connecting)',
        'within target',
      ],
      r.results.map((x) => [
        x.check,
        x.checksPerSecond,
        x.failed,
        x.cpuPercentOfOneCore,
        Math.round((x.cpuPercentOfOneCore / 100) * (1e6 / Math.max(1, x.checksPerSecond))),
        x.startCpuPercentOfOneCore,
        x.withinTarget ? 'yes' : 'no',
      ]),
    ),
  ].join('\n');
}

interface HttpSteadyRow {
  rps: number;
  cpuUsPerReq: number;
  p50Ms: number;
}

interface HttpSteadyLayout {
  layout: 'shared' | 'pinned';
  rows: Record<string, HttpSteadyRow>;
  throughputVsRaw: number;
  cpuPerReqVsRaw: number;
  throughputVsHaproxy: number;
  rawThroughputVsHaproxy: number;
  p50OverheadVsRaw: number;
  controlThroughputVsRaw?: number;
  controlCpuPerReqVsRaw?: number;
}

export interface HttpSteadyResult {
  instances: number;
  concurrency: number;
  rounds: number;
  roundMs: number;
  layouts: HttpSteadyLayout[];
  targets: {
    throughputVsRaw: number;
    cpuPerReqVsRaw: number;
    throughputVsHaproxy: number;
    p50OverheadVsRaw: number;
  };
}

const LAYOUT_TEXT: Record<HttpSteadyLayout['layout'], string> = {
  shared: 'client, instances and HAProxy on any core (the scheduler decides)',
  pinned:
    "instances on their own core, as on their own hosts; client and HAProxy on the client's core, as a local proxy runs (`taskset`)",
};

export function httpSteady(r: HttpSteadyResult): string {
  const t = r.targets;
  const out = [
    "## @picket/http's targets (`bench/http-steady.ts`)",
    '',
    `The HTTP client issue's own check: Picket's default client against raw undici Pools and HAProxy, ${r.instances} instances, ${r.concurrency} callers, ${r.rounds} mirrored rounds (each setup runs twice per round, A B C C B A, ${r.roundMs / 2} ms a turn) in each CPU layout. On one machine a comparison with a proxy also measures the instances' CPU, which in production is on other hosts: the pinned layout gives the client's core to the client (and its local proxy) alone.`,
  ];
  for (const l of r.layouts) {
    out.push(
      '',
      `### ${l.layout} layout: ${LAYOUT_TEXT[l.layout]}`,
      '',
      table(
        ['setup', 'req/s', 'client CPU µs/req', 'p50 ms'],
        Object.entries(l.rows).map(([name, row]) => [name, row.rps, row.cpuUsPerReq, row.p50Ms]),
      ),
      '',
      table(
        ['ratio (paired, median over rounds)', 'measured', 'target'],
        [
          ['throughput vs raw', times(l.throughputVsRaw), `≥ ${t.throughputVsRaw}×`],
          ['client CPU/req vs raw', times(l.cpuPerReqVsRaw), `≤ ${t.cpuPerReqVsRaw}×`],
          ['throughput vs HAProxy', times(l.throughputVsHaproxy), `≥ ${t.throughputVsHaproxy}×`],
          ['(raw throughput vs HAProxy: the ceiling of the line above)', times(l.rawThroughputVsHaproxy), ''],
          [
            'p50 overhead vs raw',
            `${(l.p50OverheadVsRaw * 100).toFixed(1)}%`,
            `≤ ${t.p50OverheadVsRaw * 100}%`,
          ],
          [
            '(A/A control: raw against a second copy of raw, throughput / CPU per request: the noise of this run)',
            l.controlThroughputVsRaw === undefined
              ? ''
              : `${times(l.controlThroughputVsRaw)} / ${times(l.controlCpuPerReqVsRaw ?? Number.NaN)}`,
            '',
          ],
        ],
      ),
    );
  }
  return out.join('\n');
}
