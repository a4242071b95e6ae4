// RESULTS.md sections for the HTTP benchmarks: steady state, one slow instance, the Linkerd
// experiment, and kill/hang under load.

import { images, ms, type PlotRef, percent, table, times } from './markdown.ts';

interface Figures {
  name: string;
  kind: string;
  requests: number;
  errors: number;
  rps: number;
  cpuUsPerReq: number;
  proxyCpuUsPerReq?: number;
  p50Ms: number;
  p99Ms: number;
  vsBaseline: { rps: number; cpuUsPerReq: number; p50Ms: number; p99Ms: number };
  /** [percentile, ms] points of the latency distribution. */
  curve: [number, number][];
}

export interface SteadyResult {
  instances: number;
  concurrency: number;
  rounds: number;
  roundMs: number;
  baseline: string;
  skipped: string[];
  /** Picket's default against each other setup, paired ratios. */
  defaultVs?: Record<string, { rps: number; cpuUsPerReq: number }>;
  contenders: Figures[];
}

export function steadyState(r: SteadyResult, plots: readonly PlotRef[]): string {
  const rows = r.contenders.map((c) => [
    c.name,
    c.rps,
    times(c.vsBaseline.rps),
    c.cpuUsPerReq,
    times(c.vsBaseline.cpuUsPerReq),
    c.proxyCpuUsPerReq,
    c.proxyCpuUsPerReq === undefined ? undefined : Math.round((c.cpuUsPerReq + c.proxyCpuUsPerReq) * 10) / 10,
    ms(c.p50Ms),
    ms(c.p99Ms),
    c.errors,
  ]);
  return [
    '## Steady state (`bench/steady-state.ts`)',
    '',
    `${r.instances} local instance processes, ${r.concurrency} concurrent callers, ${r.rounds} interleaved mirrored rounds of ${r.roundMs} ms per setup (two turns of half that, A B C … C B A). Medians over rounds; ratios are against **${r.baseline}** in the same round (median of the per-round ratios). Client CPU is the calling process's user + system time per request (\`process.cpuUsage()\`, load generator included, so the same fixed cost is in every row); a proxy's own CPU is read from \`/proc\`. Ring hash and Maglev get a key per request (1,024 distinct). From run to run on this shared 2-core machine these ratios move by up to about ±10% (compare Picket's default against raw here and in the \`http-steady\` section below): read smaller differences as ties.`,
    ...(r.skipped.length > 0 ? ['', `Skipped: ${r.skipped.join(', ')}.`] : []),
    '',
    table(
      [
        'setup',
        'req/s',
        '× floor',
        'client CPU µs/req',
        '× floor',
        'proxy CPU µs/req',
        'client + proxy µs/req',
        'p50 ms',
        'p99 ms',
        'errors',
      ],
      rows,
    ),
    '',
    ...images(plots, 'steady-state'),
  ].join('\n');
}

interface SlowFigures extends Figures {
  slowShare: number;
}

export interface SlowResult {
  slowDelayMs: number;
  rounds: number;
  roundMs: number;
  levels: { concurrency: number; baseline: string; contenders: SlowFigures[] }[];
}

export function slowInstance(r: SlowResult, plots: readonly PlotRef[]): string {
  const parts = [
    '## One slow instance (`bench/slow-instance.ts`)',
    '',
    `Three instances, one answering ${r.slowDelayMs} ms later than the others. Each setup keeps its client across ${r.rounds} interleaved rounds of ${r.roundMs} ms (after a warm-up), as a long-running caller would. "Slow share" is the part of the requests the slow instance answered (median over rounds). Weighted response time recomputes its weights every 30 s (Ribbon's default), longer than this run, so it has not reacted yet.`,
  ];
  for (const level of r.levels) {
    parts.push(
      '',
      `**${level.concurrency} concurrent callers** (ratios against ${level.baseline}):`,
      '',
      table(
        ['setup', 'slow share', 'req/s', '× floor', 'p50 ms', 'p99 ms', 'p99 × floor', 'errors'],
        level.contenders.map((c) => [
          c.name,
          percent(c.slowShare, 1),
          c.rps,
          times(c.vsBaseline.rps),
          ms(c.p50Ms),
          ms(c.p99Ms),
          times(c.vsBaseline.p99Ms),
          c.errors,
        ]),
      ),
    );
  }
  parts.push('', ...images(plots, 'slow-instance'));
  return parts.join('\n');
}

export interface LinkerdResult {
  instances: number;
  processes: number;
  ratePerSecond: number;
  runMs: number;
  rounds: number;
  slowMs: number;
  timeoutMs: number;
  linkerdSource: string;
  setups: { name: string; options: Record<string, unknown> }[];
  results: {
    setup: string;
    strategy: string;
    requests: number;
    successRate: number;
    slowHalfSuccessRate: number;
    p50Ms: number;
    p90Ms: number;
    p99Ms: number;
    p999Ms: number;
    maxMs: number;
    errors: Record<string, number>;
    linkerd?: number;
  }[];
}

export function linkerd(r: LinkerdResult, plots: readonly PlotRef[]): string {
  const parts = [
    '## The Linkerd experiment, scaled down (`bench/linkerd.ts`)',
    '',
    `After [Linkerd's "Beyond Round Robin"](${r.linkerdSource}) (2016): ${r.instances} instances (${r.processes} processes, several ports each), ${r.ratePerSecond} requests/s at a fixed rate (open loop), a ${r.timeoutMs} ms client timeout, and halfway through each ${r.runMs / 1000} s run one instance turns ${r.slowMs / 1000} s slow. ${r.rounds} round(s), a fresh client per run; medians over rounds. Success rate over the whole run (as Linkerd reports it) and over the half after the instance turned slow; latency percentiles of the successful requests. Linkerd's published success rates: about 95% round robin, 99% least loaded, 99.9% peak EWMA.`,
  ];
  for (const setup of r.setups) {
    const rows = r.results.filter((x) => x.setup === setup.name);
    parts.push(
      '',
      `**${setup.name}** (\`${JSON.stringify(setup.options)}\`):`,
      '',
      table(
        [
          'strategy',
          'success',
          'Linkerd 2016',
          'success after the turn',
          'p50 ms',
          'p90 ms',
          'p99 ms',
          'p99.9 ms',
          'max ms',
          'failures',
        ],
        rows.map((x) => [
          x.strategy,
          percent(x.successRate),
          x.linkerd === undefined ? undefined : percent(x.linkerd, 1),
          percent(x.slowHalfSuccessRate),
          ms(x.p50Ms),
          ms(x.p90Ms),
          ms(x.p99Ms),
          ms(x.p999Ms),
          ms(x.maxMs),
          Object.entries(x.errors)
            .map(([code, n]) => `${n} ${code}`)
            .join(', ') || '0',
        ]),
      ),
    );
  }
  parts.push('', ...images(plots, 'linkerd'));
  return parts.join('\n');
}

export interface KillHangResult {
  ratePerSecond: number;
  downMs: number;
  hangMs: number;
  returnDeadlineMs: number;
  rounds: number;
  health: { interval: number; unhealthyThreshold: number; healthyThreshold: number };
  results: {
    fault: 'kill' | 'hang';
    setup: string;
    requests: number;
    failed: number | undefined;
    stuck: number | undefined;
    lastToVictimMs?: number;
    /** Trials in which a request to the victim was seen at all. */
    lastToVictimSeen?: number;
    returnMs?: number;
  }[];
}

export function killHang(r: KillHangResult): string {
  const section = (fault: 'kill' | 'hang', what: string) =>
    table(
      [
        'setup',
        'failed requests',
        'requests over 500 ms',
        `last request to the ${what} instance, ms after`,
        'serves again, ms after it is back',
      ],
      r.results
        .filter((x) => x.fault === fault)
        .map((x) => [
          x.setup,
          x.failed,
          x.stuck,
          !x.setup.startsWith('picket')
            ? 'not visible'
            : x.lastToVictimMs === undefined
              ? 'none seen'
              : ms(x.lastToVictimMs),
          x.returnMs === undefined ? `not within ${r.returnDeadlineMs / 1000} s` : ms(x.returnMs),
        ]),
    );
  return [
    '## Kill and hang under load (`bench/kill-hang.ts`)',
    '',
    `Three instances, ${r.ratePerSecond} GET/s at a fixed rate. A fresh client or proxy per trial; medians over ${r.rounds} round(s). Picket's "last request" comes from its failed attempts (kill) and its pick counts (hang); inside a proxy it cannot be seen from the client. Checks: \`httpCheck\` every ${r.health.interval} ms, out after ${r.health.unhealthyThreshold} failures, back after ${r.health.healthyThreshold} success (HAProxy: \`inter ${r.health.interval} fall ${r.health.unhealthyThreshold} rise ${r.health.healthyThreshold}\`). nginx (open source) has passive checks only (\`max_fails=1 fail_timeout=2s\`). Without active checks, Picket brings a killed instance back when outlier ejection ends (30 s the first time) and its breaker half-opens (10 s): by design, longer than this run waits.`,
    '',
    `**SIGKILL**, restarted on its port ${r.downMs} ms later:`,
    '',
    section('kill', 'killed'),
    '',
    `**SIGSTOP** for ${r.hangMs} ms, then SIGCONT:`,
    '',
    section('hang', 'frozen'),
  ].join('\n');
}
