// Kill and hang under load: three instance processes, GET traffic at a fixed rate, and one
// instance SIGKILLed (then restarted on its port after 1 s) or SIGSTOPped for 2 s (then
// SIGCONTed). For each setup: failed requests, requests stuck over 500 ms, the time until no
// request goes to the dead or frozen instance (Picket: from its failed attempts and pick counts;
// inside a proxy this cannot be seen from the client), and the time until the returning instance
// serves again. Every trial gets a fresh client or proxy, so no state carries over.
// Run: node --conditions=picket-source bench/kill-hang.ts [--quick]

import { httpCheck } from 'picket';
import { type InstanceProcess, spawnInstance } from '../test/fixtures/instances.ts';
import { type Contender, picket, rawRoundRobin, viaProxy } from './lib/contenders.ts';
import { type Arrival, openLoop } from './lib/load.ts';
import { haproxyTool, nginxTool, startHaproxy, startNginx } from './lib/proxies.ts';
import { median, round } from './lib/stats.ts';

const quick = process.argv.includes('--quick');
const RATE = 400;
const LEAD_MS = 1000;
const DOWN_MS = quick ? 1000 : 1500;
const HANG_MS = quick ? 1500 : 2000;
const RETURN_DEADLINE_MS = quick ? 2500 : 8000;
const ROUNDS = quick ? 1 : 2;
const PATH = '/work';

const instances: InstanceProcess[] = [];
for (let i = 0; i < 3; i++) instances.push(await spawnInstance({ id: `i${i}` }));
const urls = instances.map((i) => i.url);
const ports = instances.map((i) => i.port);

type Factory = () => Promise<Contender>;
const health = {
  check: httpCheck({ path: '/health' }),
  interval: 250,
  timeout: 250,
  unhealthyThreshold: 2,
  healthyThreshold: 1,
};
const withChecks = (strategy: 'peak-ewma' | 'round-robin'): [string, Factory] => {
  const name = `picket ${strategy} + checks`;
  return [name, async () => picket(strategy, urls, PATH, { health }, name)];
};
// Quick runs keep one setup of each kind; passive-only Picket waits out the whole return deadline.
const setups: [string, Factory][] = [
  ['raw undici (round robin)', async () => rawRoundRobin(urls, PATH)],
  ...(quick ? [] : [['picket peak-ewma', async () => picket('peak-ewma', urls, PATH)] as [string, Factory]]),
  withChecks('peak-ewma'),
  withChecks('round-robin'),
];
if (haproxyTool().available)
  setups.push([
    'haproxy + checks',
    async () =>
      viaProxy(
        await startHaproxy(ports, {
          checkMs: health.interval,
          fall: health.unhealthyThreshold,
          rise: health.healthyThreshold,
        }),
        PATH,
        'haproxy + checks',
      ),
  ]);
if (!quick && nginxTool().available)
  setups.push(['nginx', async () => viaProxy(await startNginx(ports), PATH, 'nginx')]);

interface Trial {
  failed: number;
  stuck: number;
  requests: number;
  /** ms after the fault until the last request the client sent to the instance; undefined: not observable. */
  lastToVictimMs: number | undefined;
  /** ms after the instance came back until it served a request; undefined: not within the deadline. */
  returnMs: number | undefined;
}

/** Picks of an instance so far (released + in flight), from the client's snapshot. */
function picks(c: Contender, url: string): number | undefined {
  const i = c.client?.snapshot().instances.find((x) => x.url === url);
  return i === undefined ? undefined : i.requests + i.active;
}

async function trial(kind: 'kill' | 'hang', make: Factory): Promise<Trial> {
  const victim = kind === 'kill' ? 0 : 1;
  const target = instances[victim]!;
  const c = await make();
  const failedOnVictim: number[] = [];
  const off = c.client?.on('retry', ({ attempt }) => {
    if (attempt.url === target.url && attempt.error !== 'breaker-open')
      failedOnVictim.push(performance.now());
  });
  let faultAt = 0;
  let backAt = 0;
  let lastPickAt = 0;
  let lastPicks = -1;
  let lastPoll = 0;
  let phase: 'lead' | 'fault' | 'restarting' | 'back' | 'done' = 'lead';
  let servedAfterBack = false;
  const t0 = performance.now();
  const arrivals: Arrival[] = await openLoop(
    async (n) => {
      const sentAt = performance.now();
      const id = await c.send(n);
      if (id === target.id && backAt > 0 && sentAt >= backAt) servedAfterBack = true;
      return id;
    },
    {
      rate: RATE,
      ms: LEAD_MS + DOWN_MS + HANG_MS + RETURN_DEADLINE_MS + 2000,
      maxInFlight: 2000,
      onTick(elapsed) {
        const now = performance.now();
        if (now - lastPoll >= 5 && phase === 'fault') {
          lastPoll = now;
          const p = picks(c, target.url);
          if (p !== undefined && p !== lastPicks) {
            lastPicks = p;
            lastPickAt = now;
          }
        }
        if (phase === 'lead' && elapsed >= LEAD_MS) {
          phase = 'fault';
          faultAt = now;
          lastPicks = picks(c, target.url) ?? -1;
          target.signal(kind === 'kill' ? 'SIGKILL' : 'SIGSTOP');
        } else if (phase === 'fault' && now - faultAt >= (kind === 'kill' ? DOWN_MS : HANG_MS)) {
          phase = 'restarting';
          if (kind === 'hang') {
            target.signal('SIGCONT');
            backAt = performance.now();
            phase = 'back';
          } else {
            void spawnInstance({ id: target.id, port: target.port }).then((p) => {
              instances[victim] = p;
              backAt = performance.now();
              phase = 'back';
            });
          }
        } else if (phase === 'back' && (servedAfterBack || now - backAt >= RETURN_DEADLINE_MS)) {
          phase = 'done';
        }
      },
      stop: () => phase === 'done' && performance.now() - backAt > 200,
    },
  );
  off?.();
  await c.close();
  const returned = arrivals.find((a) => a.ok && a.instance === target.id && t0 + a.at >= backAt);
  let lastToVictimMs: number | undefined;
  if (c.client !== undefined) {
    const lastFail = failedOnVictim.filter((t) => t < backAt).at(-1);
    const last = kind === 'kill' ? lastFail : lastPickAt;
    // None seen is not "0 ms": it stays absent, and the report says so.
    lastToVictimMs = last === undefined || last === 0 ? undefined : round(last - faultAt, 1);
  }
  return {
    failed: arrivals.filter((a) => !a.ok).length,
    stuck: arrivals.filter((a) => a.latencyMs > 500).length,
    requests: arrivals.length,
    lastToVictimMs,
    returnMs: returned === undefined ? undefined : round(t0 + returned.at - backAt, 1),
  };
}

const trials = new Map<string, Trial[]>();
for (let r = 0; r < ROUNDS; r++) {
  for (const kind of ['kill', 'hang'] as const) {
    const k = r % setups.length;
    for (const [name, make] of [...setups.slice(k), ...setups.slice(0, k)]) {
      const t = await trial(kind, make);
      trials.set(`${kind} ${name}`, [...(trials.get(`${kind} ${name}`) ?? []), t]);
      console.log(`${kind} ${name.padEnd(28)} ${JSON.stringify(t)}`);
    }
  }
}
await Promise.all(instances.map((i) => i.close()));

const med = (ts: Trial[], f: (t: Trial) => number | undefined) => {
  const v = ts.map(f);
  return v.some((x) => x === undefined) ? undefined : round(median(v as number[]), 1);
};
// The median of the trials that saw one; undefined when none did.
const medSeen = (ts: Trial[], f: (t: Trial) => number | undefined) => {
  const v = ts.map(f).filter((x): x is number => x !== undefined);
  return v.length === 0 ? undefined : round(median(v), 1);
};
const results = (['kill', 'hang'] as const).flatMap((kind) =>
  setups.map(([name]) => {
    const ts = trials.get(`${kind} ${name}`)!;
    return {
      fault: kind,
      setup: name,
      requests: ts.reduce((n, t) => n + t.requests, 0),
      failed: med(ts, (t) => t.failed),
      stuck: med(ts, (t) => t.stuck),
      lastToVictimMs: name.startsWith('picket') ? medSeen(ts, (t) => t.lastToVictimMs) : undefined,
      lastToVictimSeen: ts.filter((t) => t.lastToVictimMs !== undefined).length,
      returnMs: med(ts, (t) => t.returnMs),
    };
  }),
);
console.log(
  JSON.stringify({
    bench: 'kill-hang',
    instances: 3,
    ratePerSecond: RATE,
    downMs: DOWN_MS,
    hangMs: HANG_MS,
    returnDeadlineMs: RETURN_DEADLINE_MS,
    rounds: ROUNDS,
    health: {
      interval: health.interval,
      unhealthyThreshold: health.unhealthyThreshold,
      healthyThreshold: health.healthyThreshold,
    },
    results,
  }),
);
