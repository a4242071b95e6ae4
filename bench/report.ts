// Renders bench results as Markdown tables for bench/RESULTS.md: the machine and its load, the
// headline figures, then one section per benchmark (with its plots) in the order they ran.

import { headlines } from './lib/headlines.ts';
import { type PlotRef, table } from './lib/markdown.ts';
import { unevenCapacity } from './lib/report-capacity.ts';
import { corePick, healthChecks, httpSteady, pickGc } from './lib/report-core.ts';
import { killHang, linkerd, slowInstance, steadyState } from './lib/report-http.ts';
import { subsetting, subsettingLoopback } from './lib/report-subsetting.ts';

type Renderer = (result: never, plots: readonly PlotRef[]) => string;

const RENDERERS: Record<string, Renderer> = {
  'core-pick': corePick,
  'pick-gc': pickGc,
  'observe-cost': observeCost,
  'observe-sockets': observeSockets,
  overload,
  'hot-key': hotKey,
  'dispatch-overhead': dispatchOverhead,
  'health-checks': healthChecks,
  'http-steady': httpSteady,
  'steady-state': steadyState,
  'slow-instance': slowInstance,
  'uneven-capacity': unevenCapacity,
  linkerd,
  'kill-hang': killHang,
  subsetting,
  'subsetting-loopback': subsettingLoopback,
  'hung-instance': hungInstance,
};

interface HungRow {
  strategy: string;
  stalls: boolean;
  inFlightAtStop: number;
  waited: number;
  sentWhileFrozen: number;
  maxSentWhileFrozen: number;
  lastSentMs: number;
  maxLastSentMs: number;
  errors: number;
}

function hungInstance(r: {
  callers: number;
  hangMs: number;
  stallMs: number;
  stallEveryMs: number;
  trials: number;
  hang: HungRow[];
  long: { strategy: string; callers: number; longMs: number; shareBefore: number; shareDuring: number }[];
}): string {
  const rows = r.hang.map((x) => [
    x.strategy,
    x.stalls ? `${r.stallMs} ms in ${r.stallEveryMs}` : 'none',
    x.inFlightAtStop,
    x.waited,
    `${x.sentWhileFrozen} (${x.maxSentWhileFrozen})`,
    `${x.lastSentMs} (${x.maxLastSentMs})`,
    x.errors,
  ]);
  return [
    '## A hung instance under load (`bench/hung-instance.ts`, run by hand)',
    '',
    `Three instances, ${r.callers} closed-loop callers; one SIGSTOPped for ${r.hangMs} ms (it keeps its connections and answers nothing), then SIGCONTed. Medians (max) over ${r.trials} trials, interleaved, a fresh client each. "Waited": calls it answered only after it resumed; "in flight": its picks not yet released when it froze (some already answered, in the client's buffers); "sent": calls sent to it after it froze, the last so many ms in. Stalls: the client's event loop blocked that long, as on a loaded machine.`,
    '',
    table(
      [
        'strategy',
        'stalls',
        'in flight at the freeze',
        'waited',
        'sent (max)',
        'last sent, ms (max)',
        'errors',
      ],
      rows,
    ),
    '',
    ...r.long.map(
      (l) =>
        `One ${l.longMs / 1000} s call among ${l.callers} callers' short ones (${l.strategy}): its instance's share of the others ${(l.shareBefore * 100).toFixed(1)}% before, ${(l.shareDuring * 100).toFixed(1)}% while it runs.`,
    ),
  ].join('\n');
}

interface UpdateRow {
  rounds: number;
  emitToBalancerMs: number;
  sourceToBalancerMs: number;
  sourceToSnapshotMs: number;
  maxSourceToBalancerMs: number;
}

function discoveryUpdate(result: {
  instances: number;
  targetMs: number;
  changed: Record<string, UpdateRow>;
  unchanged: Record<string, Record<string, number>>;
  snapshotBuildMs: number;
  etcd?: string;
}): string {
  const rows = Object.entries(result.changed).map(([name, r]) => [
    name,
    r.emitToBalancerMs,
    r.sourceToBalancerMs,
    r.maxSourceToBalancerMs,
    r.sourceToSnapshotMs,
    `< ${result.targetMs}`,
  ]);
  const unchanged = Object.entries(result.unchanged).map(([name, r]) => [
    name,
    Object.entries(r)
      .filter(([key]) => key !== 'rounds')
      .map(([key, value]) => `${key} ${value}`)
      .join(', '),
  ]);
  return [
    '## Discovery updates (`bench/discovery-update.ts`)',
    '',
    `A changed snapshot of ${result.instances.toLocaleString('en')} instances reaching the balancer through \`createClient\`, median ms (emit: the provider's snapshot event; source: the change itself).`,
    '',
    table(
      ['scenario', 'emit→balancer', 'source→balancer', 'max source→balancer', 'source→snapshot()', 'target'],
      rows,
    ),
    '',
    `Unchanged snapshots (nothing reaches the balancer), median ms; \`client.snapshot()\` of ${result.instances.toLocaleString('en')} instances takes ${result.snapshotBuildMs} ms${result.etcd === undefined ? '' : `; etcd: ${result.etcd}`}:`,
    '',
    table(['scenario', 'cost'], unchanged),
  ].join('\n');
}

function dispatchOverhead(result: {
  rounds: number;
  perRound: number;
  rows: Record<string, string | number>[];
}): string {
  return [
    "## Picket's own work per request (`bench/dispatch-overhead.ts`)",
    '',
    `CPU per request with every pool an in-process answerer, against undici's \`request\` on the same answerers (the floor); median of ${result.rounds} paired rounds of ${result.perRound.toLocaleString('en')} requests:`,
    '',
    table(
      Object.keys(result.rows[0] ?? {}),
      result.rows.map((r) => Object.values(r)),
    ),
  ].join('\n');
}

interface CostRow {
  setup: string;
  nsPerRequest: number;
  ratio: number;
  target?: number;
  withinTarget?: boolean;
}

/** A cost section: each setup's CPU per request and its ratio to the baseline, against its target. */
function costSection(title: string, intro: string, rows: readonly CostRow[]): string {
  return [
    title,
    '',
    intro,
    '',
    table(
      ['setup', 'ns/request', 'ratio', 'target', 'within target'],
      rows.map((r) => [
        r.setup,
        r.nsPerRequest,
        r.ratio,
        r.target === undefined ? '' : `≤ ${r.target}`,
        r.withinTarget === undefined ? '' : r.withinTarget ? 'yes' : 'no',
      ]),
    ),
  ].join('\n');
}

function observeCost(result: { rounds: number; perRound: number; rows: CostRow[] }): string {
  return costSection(
    '## What observing costs (`bench/observe-cost.ts`)',
    `Client CPU per request against the same client with \`metrics: false\`, every pool an in-process answerer (so Picket's own work is what is measured: the ratios would be far smaller beside real sockets), median of ${result.rounds} paired rounds of ${result.perRound.toLocaleString('en')} requests, each round in a shuffled order and then backward with a collection before each turn (the A/A control is this run's noise):`,
    result.rows,
  );
}

function observeSockets(result: { rounds: number; rows: CostRow[]; beyondFloor?: number }): string {
  const section = costSection(
    '## What observing costs beside sockets (`bench/observe-sockets.ts`)',
    `Three local instance processes, 32 callers, ${result.rounds} mirrored rounds: client CPU per request against the same client with \`metrics: false\` (paired median ratio; the A/A control is this run's noise). The instances answer a request that asks for a load report with one, as loadReporter does by default (a client with \`loadReports\` asks each instance at most once per \`intervalMs\`, 1 s); the unasked row's instances send one on every answer, which the baseline does not receive. The SDK's floor is the baseline client with the bench making the two \`record()\` calls Picket makes (same histograms, same attribute sets) on its own MeterProvider:`,
    result.rows,
  );
  if (result.beyondFloor === undefined) return section;
  return `${section}\n\nPicket with the SDK against the SDK's floor (paired median): ${result.beyondFloor}.`;
}

function overload(result: {
  capacityPerSecond: number;
  offeredPerSecond: number;
  ms: number;
  patienceMs: number;
  targets: { refusedP99Ms: number; goodputVsCapacity: number };
  results: Array<{
    setup: string;
    goodputVsCapacity: number;
    p50Ms?: number;
    p99Ms?: number;
    refused: number;
    refusedP99Ms?: number;
    refusedCodes: Record<string, number>;
    longestWaitMs: number;
    answeredLate?: number;
  }>;
}): string {
  return [
    '## Overload (`bench/overload.ts`)',
    '',
    `Three instances that serve ${result.capacityPerSecond} requests/s together, offered ${result.offeredPerSecond}/s open loop for ${result.ms / 1000} s. Goodput: answers within ${result.patienceMs} ms, against capacity (target ≥ ${result.targets.goodputVsCapacity} with limits and shedding); refused calls should fail in under ${result.targets.refusedP99Ms} ms, typed:`,
    '',
    table(
      [
        'setup',
        'goodput / capacity',
        'answered late',
        'p50 ms',
        'p99 ms',
        'refused',
        'refused p99 ms',
        'how refused',
        'longest wait ms',
      ],
      result.results.map((r) => [
        r.setup,
        r.goodputVsCapacity,
        r.answeredLate,
        r.p50Ms,
        r.p99Ms,
        r.refused,
        r.refusedP99Ms,
        Object.entries(r.refusedCodes)
          .map(([code, n]) => `${code} ${n}`)
          .join(', '),
        r.longestWaitMs,
      ]),
    ),
  ].join('\n');
}

function hotKey(result: {
  instances: number;
  requests: number;
  hotShare: number;
  rows: Array<{
    strategy: string;
    hashBalanceFactor?: number;
    hottestVsMean: number;
    worstOverBoundAtAdmission: number;
    movedShare: number;
  }>;
}): string {
  return [
    '## A hot key under consistent hashing (`bench/hot-key.ts`)',
    '',
    `${result.instances} instances, ${result.requests.toLocaleString('en')} requests, one key sending ${Math.round(result.hotShare * 100)}% of them, each held in flight a while (simulated clock). With \`hashBalanceFactor\`, the instance taking a request may hold at most factor × the mean in flight, plus one (target):`,
    '',
    table(
      [
        'strategy',
        'hashBalanceFactor',
        'hottest / mean (any moment)',
        'worst over factor × mean, at admission',
        'requests moved off their key’s instance',
      ],
      result.rows.map((r) => [
        r.strategy,
        r.hashBalanceFactor ?? 'off',
        r.hottestVsMean,
        r.worstOverBoundAtAdmission,
        r.movedShare,
      ]),
    ),
  ].join('\n');
}

function generic(name: string, result: unknown): string {
  return [`## ${name}`, '', '```json', JSON.stringify(result, null, 2), '```'].join('\n');
}

function failed(name: string, result: { error: string }): string {
  return [`## ${name}`, '', `**Did not complete**: ${result.error}`].join('\n');
}

export function renderResults(
  machine: Record<string, unknown>,
  results: Record<string, unknown>,
  plots: readonly PlotRef[] = [],
): string {
  const load =
    machine.loadavg === undefined
      ? ''
      : ` Load average (1 min) ${machine.loadavg} at the start, ${machine.loadavgAtEnd} at the end; the run took ${machine.minutes} min.`;
  const parts = [
    '# Benchmark results',
    '',
    `Machine: ${machine.cpus}, ${machine.memory}; Node ${machine.node}; ${machine.date}${machine.quick ? ' (quick run)' : ''}.${load}`,
    'Produced by `npm run bench`; raw numbers in `bench/results/latest.json`, plots in `bench/plots/`.',
    'The client, the load generator, the instances and any proxy share the machine: figures are measured side by side in one run, interleaved, and compared as ratios.',
    '',
  ];
  const lines = headlines(results);
  if (lines.length > 0) parts.push('## Headlines', '', ...lines, '');
  for (const [name, result] of Object.entries(results)) {
    const render =
      typeof (result as { error?: unknown }).error === 'string'
        ? failed(name, result as { error: string })
        : name === 'discovery-update'
          ? discoveryUpdate(result as never)
          : (RENDERERS[name]?.(result as never, plots) ?? generic(name, result));
    parts.push(render, '');
  }
  return `${parts.join('\n')}\n`;
}
