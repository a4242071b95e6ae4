// The headline figures at the top of RESULTS.md, drawn from the same results as the tables below.

import type { CorePickResult, HealthResult, HttpSteadyResult } from './report-core.ts';
import type { KillHangResult, LinkerdResult, SlowResult, SteadyResult } from './report-http.ts';

const x = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? '—' : `${n.toFixed(2)}×`);
const pc = (n: number | undefined, d = 1) => (n === undefined ? '—' : `${(n * 100).toFixed(d)}%`);

export function headlines(results: Record<string, unknown>): string[] {
  const lines: string[] = [];
  // The steady-state headline comes from http-steady (many mirrored rounds, an A/A control, both
  // CPU layouts); the eleven-setup table's fewer rounds scatter more, so it only adds nginx and
  // the proxies' own CPU.
  const http = results['http-steady'] as HttpSteadyResult | undefined;
  const steady = results['steady-state'] as SteadyResult | undefined;
  // The http-steady sentence opens the line when there is one; the table's figures follow it.
  let head: string | undefined;
  const parts: string[] = [];
  if (http?.layouts !== undefined && http.layouts.length > 0) {
    const where = { shared: 'on shared cores', pinned: 'with the instances on their own core' } as const;
    const signed = (n: number) => `${n >= 0 ? '+' : '−'}${Math.abs(n * 100).toFixed(1)}%`;
    const layouts = http.layouts.map(
      (l) =>
        `${where[l.layout]}: ${x(l.throughputVsRaw)} throughput, ${x(l.cpuPerReqVsRaw)} client CPU per request, p50 ${signed(l.p50OverheadVsRaw)}, ${x(l.throughputVsHaproxy)} HAProxy's throughput (A/A control, raw against itself: ${x(l.controlThroughputVsRaw)} / ${x(l.controlCpuPerReqVsRaw)})`,
    );
    head = `- **Steady state** (${http.instances} instances, ${http.concurrency} callers, ${http.rounds} mirrored rounds): Picket's default (peak-EWMA) against raw undici Pools with a hand-written round robin — ${layouts.join('; ')}.`;
  }
  const overhead = results['dispatch-overhead'] as { rows?: Record<string, string | number>[] } | undefined;
  const own = overhead?.rows?.find((r) => r.setup === 'picket default')?.[
    'over the floor, ns (paired median)'
  ];
  if (typeof own === 'number')
    parts.push(
      `Picket's own work is ${(own / 1000).toFixed(2)} µs per request over undici's (\`bench/dispatch-overhead.ts\`).`,
    );
  if (steady?.contenders !== undefined) {
    const find = (name: string) => steady.contenders.find((c) => c.name === name);
    const def = find('picket peak-ewma');
    const haproxy = find('haproxy');
    const nginx = find('nginx');
    if (def !== undefined) {
      const paired = (other: typeof def | undefined) =>
        other === undefined ? '—' : x(steady.defaultVs?.[other.name]?.rps);
      parts.push(
        `In the eleven-setup table (${steady.rounds} rounds, more scatter): ${x(def.vsBaseline.rps)} raw's throughput at ${x(def.vsBaseline.cpuUsPerReq)} its CPU per request, ${paired(haproxy)} HAProxy's and ${paired(nginx)} nginx's throughput. Behind a proxy, the proxy's own CPU per request comes on top: ${haproxy?.proxyCpuUsPerReq ?? '—'} µs (HAProxy), ${nginx?.proxyCpuUsPerReq ?? '—'} µs (nginx), against Picket's whole ${def.cpuUsPerReq} µs in the client.`,
      );
    }
  }
  if (head !== undefined || parts.length > 0) lines.push([head ?? '- **Steady state**:', ...parts].join(' '));
  const slow = results['slow-instance'] as SlowResult | undefined;
  if (slow?.levels !== undefined) {
    const parts = slow.levels.map((level) => {
      const share = (name: string) => level.contenders.find((c) => c.name === name)?.slowShare;
      return `${level.concurrency} callers: peak-EWMA ${pc(share('picket peak-ewma'))}, least-request ${pc(share('picket least-request'))}, round robin ${pc(share('picket round-robin'))}`;
    });
    lines.push(
      `- **One instance ${slow.slowDelayMs} ms slower**: the share of requests it gets — ${parts.join('; ')}.`,
    );
  }
  const l = results.linkerd as LinkerdResult | undefined;
  if (l?.results !== undefined) {
    const rate = (setup: string, s: string) =>
      l.results.find((r) => r.setup === setup && r.strategy === s)?.successRate;
    const alone = l.setups[0]!.name;
    const retries = l.setups.at(-1)!.name;
    lines.push(
      `- **Linkerd's experiment** (11 instances, one turning 2 s slow, 1 s timeout), success rate: strategy alone — round robin ${pc(rate(alone, 'round-robin'), 2)}, least-request ${pc(rate(alone, 'least-request'), 2)}, peak-EWMA ${pc(rate(alone, 'peak-ewma'), 2)} (Linkerd 2016: ~95%, 99%, 99.9%); with Picket's retries and a 300 ms per-try timeout: peak-EWMA ${pc(rate(retries, 'peak-ewma'), 2)}, round robin ${pc(rate(retries, 'round-robin'), 2)}.`,
    );
  }
  const kh = results['kill-hang'] as KillHangResult | undefined;
  if (kh?.results !== undefined) {
    const row = (fault: string, setup: string) =>
      kh.results.find((r) => r.fault === fault && r.setup === setup);
    const kill = row('kill', 'picket peak-ewma + checks');
    const raw = row('kill', 'raw undici (round robin)');
    const rrBack = row('kill', 'picket round-robin + checks')?.returnMs;
    const hang = row('hang', 'picket peak-ewma + checks');
    const rawHang = row('hang', 'raw undici (round robin)');
    const back = (v: number | undefined) =>
      v === undefined ? `not within ${kh.returnDeadlineMs / 1000} s` : `${v} ms`;
    lines.push(
      `- **Kill and hang** at ${kh.ratePerSecond} GET/s (Picket with active checks): SIGKILL — ${kill?.failed ?? '—'} failed requests (raw round robin: ${raw?.failed ?? '—'}); ${kill?.lastToVictimMs === undefined ? 'no request was seen going to the dead instance after the kill' : `no request goes to the dead instance ${kill.lastToVictimMs} ms after the kill`}; restarted, it serves again after ${back(rrBack)} with round robin, ${back(kill?.returnMs)} with peak-EWMA (which remembers its failures' latency). SIGSTOP — ${hang?.failed ?? '—'} failed, ${hang?.stuck ?? '—'} requests over 500 ms (raw round robin: ${rawHang?.stuck ?? '—'}).`,
    );
  }
  const pick = results['core-pick'] as CorePickResult | undefined;
  const health = results['health-checks'] as HealthResult | undefined;
  if (pick?.picks !== undefined) {
    const ns = (n: number) =>
      pick.picks.find((p) => p.strategy === 'peak-ewma' && p.instances === n)?.nsPerPick;
    const mem = pick.memory?.find(
      (m) => m.strategy === 'peak-ewma' && m.instances === 10_000,
    )?.bytesPerInstance;
    const update = pick.updateMs['peak-ewma'];
    const http = health?.results?.find((r) => r.check === 'httpCheck');
    lines.push(
      `- **Scaling**: a peak-EWMA pick costs ${ns(10) ?? '—'} ns at 10 instances and ${ns(10_000) ?? '—'} ns at 10,000; about ${mem ?? '—'} bytes of heap per instance; a 10,000-instance membership update takes ${update ?? '—'} ms${http === undefined ? '' : `; HTTP health checks of 1,000 instances every second use ${http.cpuPercentOfOneCore}% of a core`}.`,
    );
  }
  return lines;
}
