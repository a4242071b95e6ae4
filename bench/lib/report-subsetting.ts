// The subsetting benches as Markdown for bench/RESULTS.md: the simulation (bench/subsetting.ts),
// and the run on loopback (bench/subsetting-loopback.ts), whose table the bench prints too. The
// loopback run is run by hand (about a minute, 17 processes) and saves its result in
// bench/results/by-hand/, which `npm run bench` renders with the rest.

import { table } from './markdown.ts';
import { round } from './stats.ts';

interface Spread {
  min: number;
  mean: number;
  max: number;
}

export interface LoopbackRun {
  run: string;
  expectedCallers: number;
  callers: Spread;
  sockets: Spread;
  checksPerInterval: Spread;
  checksPerCaller: Spread;
  sent: number;
  failed: number;
}

export interface LoopbackResult {
  callers: number;
  instances: number;
  checkMs: number;
  windowMs: number;
  rate: number;
  seconds: number;
  date: string;
  results: LoopbackRun[];
}

const mmm = (s: Spread) => `${round(s.min, 2)} / ${round(s.mean, 2)} / ${round(s.max, 2)}`;

export function loopbackTable(results: readonly LoopbackRun[]): string {
  return table(
    [
      'subset',
      'callers per instance min / mean / max (target)',
      'sockets accepted per instance',
      'health checks per instance per interval',
      'checks per interval ÷ callers, max',
      'requests sent, failed',
    ],
    results.map((r) => [
      r.run,
      `${mmm(r.callers)} (${r.run.startsWith('deterministic') ? `${r.expectedCallers} ± 1` : `mean ${r.expectedCallers}`})`,
      mmm(r.sockets),
      mmm(r.checksPerInterval),
      round(r.checksPerCaller.max, 2),
      `${r.sent}, ${r.failed}`,
    ]),
  );
}

export function subsettingLoopback(result: LoopbackResult): string {
  return [
    '## Subsetting on loopback (`bench/subsetting-loopback.ts`, run by hand)',
    '',
    `${result.callers} caller processes, each a Picket client health-checking what it uses every ${result.checkMs} ms and sending ${result.rate} requests a second, over ${result.instances} instance servers that count the sockets they accept, the callers behind them (an \`x-caller\` header) and the health checks they answer; checks counted over ${result.windowMs} ms once every caller is up. Each run starts fresh callers. Run ${result.date.slice(0, 16).replace('T', ' ')} UTC, ${round(result.seconds, 0)} s: \`node --conditions=picket-source bench/subsetting-loopback.ts --save\`.`,
    '',
    loopbackTable(result.results),
    '',
    `Each caller holds two sockets to each instance it uses (its request pool and its health checker), so sockets are twice the callers. A caller checks each instance it uses once an interval; a window of whole intervals can catch one check more at its edge, so checks ÷ callers up to 1 + interval / window is on schedule. Without subsetting, every caller holds two sockets to each of the ${result.instances} instances and checks each of them.`,
  ].join('\n');
}

interface Ratio {
  maxOverMean: number;
  minOverMean: number;
}

interface SimulationRow {
  callers: number;
  instances: number;
  size: number;
  mode: string;
  connections: Spread;
  requests: Ratio;
  churn: {
    join: { max: number; mean: number };
    leave: { max: number; mean: number };
    rollingRestart: { perCallerMean: number; maxPerChange: number };
  };
}

interface WeightedRow {
  callers: number;
  instances: number;
  size: number;
  instanceRps: { first?: Ratio; last?: Ratio; rounds: number };
  utilizationOnly: { last?: Ratio; settledAfter: number | null };
}

export interface SimulationResult {
  results: SimulationRow[];
  weighted?: { requestsPerMemberPerRound: number; rows: WeightedRow[] };
  anchor: { seeds: number; minOverMean: Spread; maxOverMean: Spread };
}

const f2 = (n: number) => n.toFixed(2);
const pair = (r?: Ratio) => (r === undefined ? '—' : `${f2(r.maxOverMean)}, ${f2(r.minOverMean)}`);

/** The simulation (bench/subsetting.ts): spread and churn per mode, then weighted round robin. */
export function subsetting(result: SimulationResult): string {
  const parts = [
    '## Subsetting, simulated (`bench/subsetting.ts`)',
    '',
    'In process, seeded: subsets from the client’s own order functions, requests from a real balancer per caller (round robin), equal load from every caller; "changed" is members per caller.',
    '',
    table(
      [
        'callers × instances, size',
        'mode',
        'connections/instance min / mean / max',
        'requests max/mean',
        'requests min/mean',
        'changed on join (max, mean)',
        'on leave (max, mean)',
        'rolling restart: per caller, max per change',
      ],
      result.results.map((r) => [
        `${r.callers} × ${r.instances}, ${r.mode === 'none' ? 'all' : r.size}`,
        r.mode,
        `${r.connections.min} / ${f2(r.connections.mean)} / ${r.connections.max}`,
        f2(r.requests.maxOverMean),
        f2(r.requests.minOverMean),
        `${r.churn.join.max}, ${f2(r.churn.join.mean)}`,
        `${r.churn.leave.max}, ${f2(r.churn.leave.mean)}`,
        `${f2(r.churn.rollingRestart.perCallerMean)}, ${r.churn.rollingRestart.maxPerChange}`,
      ]),
    ),
    '',
    `Random mode at 300 × 300, size 90, over ${result.anchor.seeds} caller-id namespaces: least-loaded ${f2(result.anchor.minOverMean.mean)} of the mean (range ${f2(result.anchor.minOverMean.min)}–${f2(result.anchor.minOverMean.max)}), most-loaded ${f2(result.anchor.maxOverMean.mean)} (range ${f2(result.anchor.maxOverMean.min)}–${f2(result.anchor.maxOverMean.max)}); the SRE book's random subsetting: 0.63 and 1.21.`,
  ];
  const weighted = result.weighted;
  if (weighted !== undefined) {
    const rounds = weighted.rows[0]?.instanceRps.rounds ?? 0;
    parts.push(
      '',
      `Random subsets with weighted round robin from load reports (A58): every caller's balancer on \`weightedRoundRobin()\`, ${rounds} rounds of ${weighted.requestsPerMemberPerRound} requests per member from each caller, and after each round every instance reports its utilization (requests over a common capacity) to each caller that uses it. Requests max/mean, min/mean after the last round:`,
      '',
      table(
        [
          'callers × instances, size',
          'round robin',
          'reports with the instance’s rps (loadReporter’s in-band reports)',
          'reports with utilization only (the caller’s own rate stands in)',
        ],
        weighted.rows.map((r) => [
          `${r.callers} × ${r.instances}, ${r.size}`,
          pair(r.instanceRps.first),
          pair(r.instanceRps.last),
          `${pair(r.utilizationOnly.last)}${r.utilizationOnly.settledAfter === null ? '' : ` (within 5% from round ${r.utilizationOnly.settledAfter})`}`,
        ]),
      ),
    );
  }
  return parts.join('\n');
}
