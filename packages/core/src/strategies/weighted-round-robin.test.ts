import { describe, expect, it } from 'vitest';
import { createBalancer } from '../balancer.ts';
import type { Endpoint } from '../endpoint.ts';
import { isPicketError } from '../errors.ts';
import type { LoadReport } from '../load-report.ts';
import { seededRandom } from '../random.ts';
import { countPicks, makeEndpoints, makePicker, shares, thrown, urlOf } from './testing.ts';
import { weightedRoundRobin } from './weighted-round-robin.ts';

/** Every endpoint reports its own figures at `now`. */
function reportAll(
  endpoints: readonly Endpoint[],
  reports: readonly (LoadReport | undefined)[],
  now: number,
) {
  endpoints.forEach((e, i) => {
    const report = reports[i];
    if (report !== undefined) e.load.record(report, now);
  });
}

/** Reports every second from `from` to `to` (inclusive), as a server with steady load would. */
function reportEverySecond(
  endpoints: readonly Endpoint[],
  reports: readonly (LoadReport | undefined)[],
  from: number,
  to: number,
) {
  for (let t = from; t <= to; t += 1000) reportAll(endpoints, reports, t);
}

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
const proportions = (ws: readonly number[]) => ws.map((w) => w / sum(ws));

describe('weightedRoundRobin', () => {
  it('is named weighted-round-robin', () => {
    expect(weightedRoundRobin().name).toBe('weighted-round-robin');
  });

  it('returns undefined for an empty set', () => {
    expect(makePicker(weightedRoundRobin(), []).pick(undefined, 0)).toBeUndefined();
  });

  it('is plain round robin while no endpoint has reported', () => {
    const endpoints = makeEndpoints(4);
    const picker = makePicker(weightedRoundRobin(), endpoints);
    for (let cycle = 0; cycle < 5; cycle++) {
      const seen = new Set<string>();
      for (let i = 0; i < 4; i++) seen.add(picker.pick(undefined, cycle * 1000)!.instance.id);
      expect(seen.size).toBe(4);
    }
  });

  it('gives picks in proportion to qps / utilization once the blackout has passed', () => {
    const endpoints = makeEndpoints(3);
    const clock = { now: 0 };
    const picker = makePicker(weightedRoundRobin(), endpoints, 5, clock);
    // Weights 100/0.5 = 200, 100/0.25 = 400, 100/1 = 100.
    const reports = [0.5, 0.25, 1].map((u) => ({ cpuUtilization: u, rps: 100 }));
    reportEverySecond(endpoints, reports, 0, 10_000);
    const got = shares(countPicks(picker, 7000, undefined, 10_000), endpoints, 7000);
    const want = proportions([200, 400, 100]);
    for (let i = 0; i < 3; i++) expect(got[i]).toBeCloseTo(want[i]!, 2);
  });

  it('keeps proportional shares over seeded runs, within 2%', () => {
    const weights = [1, 2, 3, 4];
    for (let seed = 1; seed <= 20; seed++) {
      const endpoints = makeEndpoints(4);
      const picker = makePicker(weightedRoundRobin(), endpoints, seed);
      const reports = weights.map((w) => ({ applicationUtilization: 0.5, rps: 50 * w }));
      reportEverySecond(endpoints, reports, 0, 10_000);
      const times = 999 + seed * 37;
      const got = shares(countPicks(picker, times, undefined, 10_000), endpoints, times);
      const want = proportions(weights);
      for (let i = 0; i < 4; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThan(0.02);
    }
  });

  it('does not use a weight during the blackout period (10 s by default)', () => {
    const endpoints = makeEndpoints(2);
    const picker = makePicker(weightedRoundRobin(), endpoints, 3);
    const reports = [0.1, 0.9].map((u) => ({ cpuUtilization: u, rps: 100 }));
    reportEverySecond(endpoints, reports, 0, 9000);
    // 9 s of reports: still equal turns.
    expect(shares(countPicks(picker, 1000, undefined, 9500), endpoints, 1000)).toEqual([0.5, 0.5]);
    reportAll(endpoints, reports, 10_000);
    // Read at the next weight update, a second after the last.
    const after = shares(countPicks(picker, 1000, undefined, 10_500), endpoints, 1000);
    expect(after[0]).toBeCloseTo(0.9, 2);
  });

  it('takes a configured blackout, and none with 0', () => {
    const endpoints = makeEndpoints(2);
    const reports = [0.1, 0.9].map((u) => ({ cpuUtilization: u, rps: 100 }));
    reportAll(endpoints, reports, 0);
    const none = makePicker(weightedRoundRobin({ blackoutPeriodMs: 0 }), endpoints, 3);
    expect(shares(countPicks(none, 1000, undefined, 0), endpoints, 1000)[0]).toBeCloseTo(0.9, 2);
    const short = makePicker(weightedRoundRobin({ blackoutPeriodMs: 2000 }), endpoints, 3);
    expect(shares(countPicks(short, 1000, undefined, 1999), endpoints, 1000)[0]).toBe(0.5);
    reportAll(endpoints, reports, 2000);
    expect(shares(countPicks(short, 1000, undefined, 3000), endpoints, 1000)[0]).toBeCloseTo(0.9, 2);
  });

  it('drops weights not refreshed for the expiration period, and blacks out again when reports return', () => {
    const endpoints = makeEndpoints(2);
    const picker = makePicker(weightedRoundRobin(), endpoints, 3);
    const reports = [0.1, 0.9].map((u) => ({ cpuUtilization: u, rps: 100 }));
    reportEverySecond(endpoints, reports, 0, 10_000);
    expect(shares(countPicks(picker, 1000, undefined, 10_000), endpoints, 1000)[0]).toBeCloseTo(0.9, 2);
    // The last report was at 10 s: still used just before 3 minutes pass, dropped at 3 minutes.
    expect(shares(countPicks(picker, 1000, undefined, 189_000), endpoints, 1000)[0]).toBeCloseTo(0.9, 2);
    expect(shares(countPicks(picker, 1000, undefined, 190_000), endpoints, 1000)[0]).toBe(0.5);
    // Fresh reports: equal turns for another blackout period, then the weights again.
    reportEverySecond(endpoints, reports, 200_000, 209_000);
    expect(shares(countPicks(picker, 1000, undefined, 209_000), endpoints, 1000)[0]).toBe(0.5);
    reportAll(endpoints, reports, 210_000);
    expect(shares(countPicks(picker, 1000, undefined, 211_000), endpoints, 1000)[0]).toBeCloseTo(0.9, 2);
  });

  it('sends an endpoint without a usable weight as much as the mean of the others', () => {
    const endpoints = makeEndpoints(3);
    const picker = makePicker(weightedRoundRobin(), endpoints, 9);
    // 100 and 300; the third never reports and is weighed 200.
    reportEverySecond(
      endpoints,
      [
        { cpuUtilization: 1, rps: 100 },
        { cpuUtilization: 1, rps: 300 },
      ],
      0,
      10_000,
    );
    const got = shares(countPicks(picker, 6000, undefined, 10_000), endpoints, 6000);
    const want = proportions([100, 300, 200]);
    for (let i = 0; i < 3; i++) expect(got[i]).toBeCloseTo(want[i]!, 2);
  });

  it('falls back to round robin while fewer than two endpoints have usable weights', () => {
    const endpoints = makeEndpoints(3);
    const picker = makePicker(weightedRoundRobin(), endpoints, 2);
    reportEverySecond(endpoints, [{ cpuUtilization: 0.01, rps: 1000 }], 0, 10_000);
    const got = shares(countPicks(picker, 3000, undefined, 10_000), endpoints, 3000);
    for (const share of got) expect(share).toBeCloseTo(1 / 3, 3);
  });

  it('prefers application utilization over CPU when it is above 0', () => {
    const endpoints = makeEndpoints(2);
    const picker = makePicker(weightedRoundRobin(), endpoints, 4);
    reportEverySecond(
      endpoints,
      [
        // CPU says equal; the application utilization says the first is twice as loaded.
        { cpuUtilization: 0.5, applicationUtilization: 0.8, rps: 100 },
        // Application utilization 0 means not reported: CPU counts.
        { cpuUtilization: 0.4, applicationUtilization: 0, rps: 100 },
      ],
      0,
      10_000,
    );
    const got = shares(countPicks(picker, 3000, undefined, 10_000), endpoints, 3000);
    const want = proportions([100 / 0.8, 100 / 0.4]);
    expect(got[0]).toBeCloseTo(want[0]!, 2);
  });

  it('counts errors as utilization: eps/qps × errorUtilizationPenalty', () => {
    const reports = [
      { cpuUtilization: 0.5, rps: 100, eps: 50 },
      { cpuUtilization: 0.5, rps: 100 },
    ];
    for (const [penalty, first] of [
      [1, 100 / (0.5 + 0.5)],
      [2, 100 / (0.5 + 1)],
      [0, 200],
    ] as const) {
      const endpoints = makeEndpoints(2);
      const picker = makePicker(weightedRoundRobin({ errorUtilizationPenalty: penalty }), endpoints, 4);
      reportEverySecond(endpoints, reports, 0, 10_000);
      const got = shares(countPicks(picker, 3000, undefined, 10_000), endpoints, 3000);
      expect(got[0]).toBeCloseTo(first / (first + 200), 2);
    }
  });

  it('ignores reports with no load or no traffic', () => {
    const endpoints = makeEndpoints(2);
    const picker = makePicker(weightedRoundRobin(), endpoints, 4);
    reportEverySecond(
      endpoints,
      [
        { cpuUtilization: 0, rps: 100 },
        { cpuUtilization: 0.5, rps: 0 },
      ],
      0,
      10_000,
    );
    expect(shares(countPicks(picker, 1000, undefined, 10_000), endpoints, 1000)).toEqual([0.5, 0.5]);
  });

  it('holds weights within 0.1 and 10 times the mean', () => {
    const endpoints = makeEndpoints(3);
    const picker = makePicker(weightedRoundRobin(), endpoints, 4);
    const reports = [0.0001, 1, 1].map((u) => ({ cpuUtilization: u, rps: 100 }));
    reportEverySecond(endpoints, reports, 0, 10_000);
    const got = shares(countPicks(picker, 12_000, undefined, 10_000), endpoints, 12_000);
    // The mean of 1e6, 100 and 100 is 333,400: the other two are raised to a tenth of it.
    expect(got[0]).toBeCloseTo(1e6 / (1e6 + 2 * 33_340), 2);
  });

  it('measures the rate it sends at when a report has no rps (a load check’s)', () => {
    const endpoints = makeEndpoints(2);
    const picker = makePicker(weightedRoundRobin(), endpoints, 6);
    // Both were sent 100 requests a second; the first reports half the utilization of the second.
    for (let t = 0; t <= 10_000; t += 1000) {
      for (const e of endpoints) e.requests += 100;
      reportAll(endpoints, [{ cpuUtilization: 0.2 }, { cpuUtilization: 0.4 }], t);
      picker.pick(undefined, t);
    }
    const got = shares(countPicks(picker, 3000, undefined, 10_000), endpoints, 3000);
    expect(got[0]).toBeCloseTo(2 / 3, 2);
  });

  it('recomputes weights every weightUpdatePeriodMs, not on every report', () => {
    const endpoints = makeEndpoints(2);
    const picker = makePicker(weightedRoundRobin({ weightUpdatePeriodMs: 5000 }), endpoints, 8);
    reportEverySecond(
      endpoints,
      [0.5, 0.5].map((u) => ({ cpuUtilization: u, rps: 100 })),
      0,
      10_000,
    );
    expect(shares(countPicks(picker, 1000, undefined, 10_000), endpoints, 1000)).toEqual([0.5, 0.5]);
    reportAll(
      endpoints,
      [0.1, 0.9].map((u) => ({ cpuUtilization: u, rps: 100 })),
      11_000,
    );
    expect(shares(countPicks(picker, 1000, undefined, 14_999), endpoints, 1000)).toEqual([0.5, 0.5]);
    expect(shares(countPicks(picker, 1000, undefined, 15_000), endpoints, 1000)[0]).toBeCloseTo(0.9, 2);
  });

  it('honours exclude, weighted or not', () => {
    const endpoints = makeEndpoints(3);
    const picker = makePicker(weightedRoundRobin(), endpoints, 1);
    const exclude = new Set([urlOf(0), urlOf(2)]);
    for (let i = 0; i < 20; i++) expect(picker.pick({ exclude }, 0)!.instance.id).toBe(urlOf(1));
    reportEverySecond(
      endpoints,
      [0.1, 0.5, 0.9].map((u) => ({ cpuUtilization: u, rps: 100 })),
      0,
      10_000,
    );
    for (let i = 0; i < 20; i++) expect(picker.pick({ exclude }, 10_000)!.instance.id).toBe(urlOf(1));
    const all = new Set(endpoints.map((e) => e.instance.id));
    expect(picker.pick({ exclude: all }, 10_000)).toBeUndefined();
  });

  it('keeps weights across a rebuild, and starts a returning endpoint over', () => {
    const endpoints = makeEndpoints(3);
    const clock = { now: 0 };
    const picker = makePicker(weightedRoundRobin(), endpoints, 1, clock);
    const reports = [0.2, 0.4, 0.4].map((u) => ({ cpuUtilization: u, rps: 100 }));
    reportEverySecond(endpoints, reports, 0, 10_000);
    clock.now = 10_000;
    picker.rebuild(endpoints.slice(0, 2));
    expect(shares(countPicks(picker, 3000, undefined, 10_000), endpoints, 3000)[0]).toBeCloseTo(2 / 3, 2);
    picker.rebuild(endpoints);
    reportAll(endpoints, reports, 11_000);
    // The third is in blackout again and weighed at the mean of 500 and 250.
    const got = shares(countPicks(picker, 3000, undefined, 11_000), endpoints, 3000);
    expect(got[2]).toBeCloseTo(375 / 1125, 2);
  });

  it('rejects invalid options, naming the option and the value', () => {
    for (const [options, named] of [
      [{ blackoutPeriodMs: -1 }, '`blackoutPeriodMs`'],
      [{ weightExpirationPeriodMs: 0 }, '`weightExpirationPeriodMs`'],
      [{ weightUpdatePeriodMs: 50 }, '`weightUpdatePeriodMs` must be at least 100 milliseconds, got 50'],
      [
        { blackoutPeriodMs: 3e9 },
        '`blackoutPeriodMs` must be at most 2147483647 milliseconds, got 3000000000',
      ],
      [{ errorUtilizationPenalty: -0.5 }, '`errorUtilizationPenalty`'],
      [{ errorUtilizationPenalty: Number.POSITIVE_INFINITY }, '`errorUtilizationPenalty`'],
      [{ blackout: 1 }, '`blackout`'],
    ] as const) {
      const error = thrown(() => weightedRoundRobin(options as never));
      expect(isPicketError(error, 'PICKET_INVALID_OPTIONS')).toBe(true);
      expect(error.message).toContain(named);
    }
  });
});

describe('Balancer.reportLoad with weighted round robin', () => {
  it('weighs instances by the reports it records, on the balancer clock', () => {
    const clock = { now: 0 };
    const lb = createBalancer({
      strategy: 'weighted-round-robin',
      random: seededRandom(3),
      now: () => clock.now,
      outlierDetection: false,
    });
    lb.update([urlOf(0), urlOf(1)]);
    for (; clock.now <= 10_000; clock.now += 1000) {
      lb.reportLoad(urlOf(0), { cpuUtilization: 0.25, rps: 100 });
      lb.reportLoad(urlOf(1), { cpuUtilization: 0.75, rps: 100 });
      lb.reportLoad('http://unknown:1', { cpuUtilization: 0.5, rps: 1 });
    }
    clock.now = 10_000;
    let first = 0;
    for (let i = 0; i < 4000; i++) {
      const pick = lb.pick();
      if (pick.instance.id === urlOf(0)) first++;
      pick.release({ ok: true, latencyMs: 1 });
    }
    expect(first / 4000).toBeCloseTo(0.75, 2);
  });

  it('treats negative or non-finite figures as not reported', () => {
    const clock = { now: 0 };
    const lb = createBalancer({
      strategy: 'weighted-round-robin',
      random: seededRandom(3),
      now: () => clock.now,
    });
    lb.update([urlOf(0), urlOf(1)]);
    for (; clock.now <= 10_000; clock.now += 1000) {
      lb.reportLoad(urlOf(0), { cpuUtilization: -1, rps: 100 });
      lb.reportLoad(urlOf(1), { cpuUtilization: Number.NaN, rps: Number.POSITIVE_INFINITY });
    }
    clock.now = 10_000;
    const seen = new Map<string, number>();
    for (let i = 0; i < 100; i++) {
      const pick = lb.pick();
      seen.set(pick.instance.id, (seen.get(pick.instance.id) ?? 0) + 1);
      pick.release({ ok: true, latencyMs: 1 });
    }
    expect([...seen.values()]).toEqual([50, 50]);
  });
});
