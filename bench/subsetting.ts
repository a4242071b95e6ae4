// Subsetting, simulated in process (no sockets, seeded): for each fleet shape, each mode and no
// subsetting, how evenly connections and requests land on the instances, and how many subset
// members each caller changes when one instance joins, when one leaves, and over a rolling
// restart of every instance (each replaced by one with a new id, as a pod with a new address).
// Subsets come from the same order functions the client's subset filter uses; requests from a
// real balancer per caller (round robin, so each caller splits its load evenly over its subset,
// and what is measured is the subsetting, not sampling noise). Then, for random subsets, what
// weighted round robin from load reports (gRPC A58, `weightedRoundRobin()`) does to the requests:
// every caller's real balancer, rounds of equal load from each, and after each round every instance
// reports its utilization (its requests over a common capacity) to each caller that uses it, until
// the weights settle.
//
//   node --conditions=picket-source bench/subsetting.ts [--quick]
//
// Prints its section of RESULTS.md, then one JSON line with every figure.

import {
  createBalancer,
  deterministicOrder,
  rendezvousOrder,
  seededRandom,
  weightedRoundRobin,
} from '@picket/core';
import { subsetting } from './lib/report-subsetting.ts';
import { spread } from './lib/stats.ts';

type Mode = 'none' | 'random' | 'deterministic';
interface Shape {
  callers: number;
  instances: number;
  size: number;
}

const quick = process.argv.includes('--quick');
const SHAPES: Shape[] = [
  { callers: 100, instances: 100, size: 20 },
  { callers: 300, instances: 300, size: 90 },
  { callers: 1000, instances: 100, size: 20 },
  { callers: 100, instances: 1000, size: 20 },
  // Not a multiple: 2000 slots over 300 instances, 6.67 each.
  { callers: 100, instances: 300, size: 20 },
];
// Each caller sends the same load: this many requests per member of its subset (every caller of a
// mode has a subset of the same size), so round robin splits it exactly.
const ROUNDS = quick ? 10 : 50;

const idOf = (i: number, generation = 0) => `http://10.${generation}.${i >> 8}.${i & 255}:8080`;
const callerId = (c: number) => `orders-${c}`;

function subsetOf(mode: Mode, caller: number, size: number, ids: readonly string[]): string[] {
  if (mode === 'none') return [...ids];
  if (mode === 'random') return rendezvousOrder(callerId(caller), ids).slice(0, size);
  return deterministicOrder(caller, size, ids).slice(0, size);
}

/** Members changed: those that left or those that came, whichever is more. */
function changed(before: readonly string[], after: readonly string[]): number {
  const was = new Set(before);
  const now = new Set(after);
  return Math.max(before.filter((id) => !now.has(id)).length, after.filter((id) => !was.has(id)).length);
}

function measure(shape: Shape, mode: Mode) {
  const ids = Array.from({ length: shape.instances }, (_, i) => idOf(i));
  const subsets = Array.from({ length: shape.callers }, (_, c) => subsetOf(mode, c, shape.size, ids));
  const connections = new Map<string, number>(ids.map((id) => [id, 0]));
  for (const subset of subsets) for (const id of subset) connections.set(id, (connections.get(id) ?? 0) + 1);
  // Requests: each caller's own balancer over its subset, the same load from every caller.
  const requests = new Map<string, number>(ids.map((id) => [id, 0]));
  for (let c = 0; c < shape.callers; c++) {
    const lb = createBalancer({
      strategy: 'round-robin',
      random: seededRandom(c + 1),
      outlierDetection: false,
    });
    lb.update(subsets[c] as string[]);
    const load = ROUNDS * (subsets[c] as string[]).length;
    for (let r = 0; r < load; r++) {
      const pick = lb.pick();
      requests.set(pick.instance.id, (requests.get(pick.instance.id) ?? 0) + 1);
      pick.release({ ok: true, latencyMs: 1 });
    }
  }
  const conn = spread([...connections.values()]);
  const req = spread([...requests.values()]);

  // Churn: members changed per caller.
  const joinIds = [...ids, idOf(0, 1)];
  const leaveIds = ids.slice(1);
  let joinMax = 0;
  let joinSum = 0;
  let leaveMax = 0;
  let leaveSum = 0;
  for (let c = 0; c < shape.callers; c++) {
    const before = subsets[c] as string[];
    const j = changed(before, subsetOf(mode, c, shape.size, joinIds));
    const l = changed(before, subsetOf(mode, c, shape.size, leaveIds));
    joinMax = Math.max(joinMax, j);
    joinSum += j;
    leaveMax = Math.max(leaveMax, l);
    leaveSum += l;
  }
  // Rolling restart: instance i leaves, then its replacement (a new id) joins; every step counted.
  const rollCallers = Math.min(shape.callers, quick ? 5 : 20);
  let stepMax = 0;
  let rollSum = 0;
  for (let c = 0; c < rollCallers; c++) {
    const current = [...ids];
    let subset = subsets[c] as string[];
    for (let i = 0; i < shape.instances; i++) {
      current.splice(current.indexOf(idOf(i)), 1);
      const afterLeave = subsetOf(mode, c, shape.size, current);
      current.push(idOf(i, 2));
      const afterJoin = subsetOf(mode, c, shape.size, current);
      const a = changed(subset, afterLeave);
      const b = changed(afterLeave, afterJoin);
      stepMax = Math.max(stepMax, a, b);
      rollSum += a + b;
      subset = afterJoin;
    }
  }
  return {
    ...shape,
    mode,
    connections: conn,
    requests: { maxOverMean: req.max / req.mean, minOverMean: req.min / req.mean },
    connectionsRatio: { maxOverMean: conn.max / conn.mean, minOverMean: conn.min / conn.mean },
    churn: {
      join: { max: joinMax, mean: joinSum / shape.callers },
      leave: { max: leaveMax, mean: leaveSum / shape.callers },
      rollingRestart: { perCallerMean: rollSum / rollCallers, maxPerChange: stepMax, callers: rollCallers },
    },
  };
}

/** The SRE book's anchor, over several caller-id namespaces, so one lucky hash is not the figure. */
function randomSeeds(seeds: number) {
  const ids = Array.from({ length: 300 }, (_, i) => idOf(i));
  const mins: number[] = [];
  const maxs: number[] = [];
  for (let s = 0; s < seeds; s++) {
    const load = new Map<string, number>(ids.map((id) => [id, 0]));
    for (let c = 0; c < 300; c++) {
      for (const id of rendezvousOrder(`seed${s}-caller-${c}`, ids).slice(0, 90)) {
        load.set(id, (load.get(id) ?? 0) + 1);
      }
    }
    const x = spread([...load.values()]);
    mins.push(x.min / x.mean);
    maxs.push(x.max / x.mean);
  }
  return { seeds, minOverMean: spread(mins), maxOverMean: spread(maxs) };
}

/**
 * Random subsets, each caller's balancer on weighted round robin, fed load reports after every
 * round of equal load from each caller. With `instanceRps`, a report carries the instance's own
 * requests per second from all its callers (ORCA `rps_fractional`, which loadReporter sends): the
 * weight rps / utilization is then its capacity, whoever shares it. Without, the report carries
 * the utilization alone and each caller's own rate to the instance stands in (as for a load
 * check's report): the weight is the caller's share per unit of utilization, which falls on an
 * instance that more callers share. Returns requests max/mean and min/mean after the first round
 * (no weights yet: round robin) and after the last.
 */
function reportWeighted(shape: Shape, instanceRps: boolean, rounds: number) {
  const ids = Array.from({ length: shape.instances }, (_, i) => idOf(i));
  const subsets = Array.from({ length: shape.callers }, (_, c) => subsetOf('random', c, shape.size, ids));
  let t = 1_000;
  const callers = subsets.map((subset, c) => {
    const lb = createBalancer({
      strategy: weightedRoundRobin({ blackoutPeriodMs: 0 }),
      random: seededRandom(c + 1),
      outlierDetection: false,
      now: () => t,
    });
    lb.update(subset);
    return lb;
  });
  const perCaller = REPORT_REQUESTS_PER_MEMBER * shape.size;
  // Utilization = requests / capacity, with capacity twice the mean load: instances run at ~50%.
  const capacity = (2 * shape.callers * perCaller) / shape.instances;
  const ratios: { maxOverMean: number; minOverMean: number }[] = [];
  for (let round = 0; round < rounds; round++) {
    const load = new Map<string, number>(ids.map((id) => [id, 0]));
    for (const lb of callers) {
      for (let r = 0; r < perCaller; r++) {
        const pick = lb.pick();
        load.set(pick.instance.id, (load.get(pick.instance.id) ?? 0) + 1);
        pick.release({ ok: true, latencyMs: 1 });
      }
    }
    const x = spread([...load.values()]);
    ratios.push({ maxOverMean: x.max / x.mean, minOverMean: x.min / x.mean });
    // One second per round: the load is also the rate; weights are recomputed on the next pick.
    t += 1000;
    callers.forEach((lb, c) => {
      for (const id of subsets[c] as string[]) {
        const requests = load.get(id) ?? 0;
        const report = { applicationUtilization: requests / capacity };
        lb.reportLoad(id, instanceRps ? { ...report, rps: requests } : report);
      }
    });
  }
  // Rounds until the most-loaded instance is within 5% of the mean, if it gets there.
  const settled = ratios.findIndex((r) => r.maxOverMean <= 1.05);
  return { first: ratios[0], last: ratios.at(-1), rounds, settledAfter: settled < 0 ? null : settled + 1 };
}
const REPORT_REQUESTS_PER_MEMBER = quick ? 5 : 10;
const WEIGHTED_ROUNDS = quick ? 10 : 20;

const results = [];
for (const shape of SHAPES) {
  for (const mode of ['none', 'random', 'deterministic'] as const) results.push(measure(shape, mode));
}
const weighted = SHAPES.map((shape) => ({
  ...shape,
  instanceRps: reportWeighted(shape, true, WEIGHTED_ROUNDS),
  utilizationOnly: reportWeighted(shape, false, WEIGHTED_ROUNDS),
}));
const result = {
  bench: 'subsetting',
  requestsPerMember: ROUNDS,
  results,
  weighted: { requestsPerMemberPerRound: REPORT_REQUESTS_PER_MEMBER, rows: weighted },
  anchor: randomSeeds(quick ? 5 : 20),
};
console.log(subsetting(result));
console.log(JSON.stringify(result));
