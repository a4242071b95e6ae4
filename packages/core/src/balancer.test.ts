import { describe, expect, it, vi } from 'vitest';
import { createBalancer } from './balancer.ts';
import type { BalancerEvents } from './events.ts';
import { seededRandom } from './random.ts';
import type { BalancerOptions } from './types.ts';

function clock(start = 1_000) {
  let t = start;
  return {
    now: () => t,
    advance: (ms: number) => {
      t += ms;
    },
  };
}

function make(options: BalancerOptions = {}) {
  const c = clock();
  const lb = createBalancer({ strategy: 'round-robin', random: seededRandom(1), now: c.now, ...options });
  return { lb, ...c };
}

function count(lb: ReturnType<typeof createBalancer>, n: number): Map<string, number> {
  const seen = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const p = lb.pick();
    seen.set(p.instance.id, (seen.get(p.instance.id) ?? 0) + 1);
    p.release({ ok: true, latencyMs: 1 });
  }
  return seen;
}

const urls = ['http://127.0.0.1:8001', 'http://127.0.0.1:8002', 'http://127.0.0.1:8003'];

describe('createBalancer', () => {
  it('rejects bad options naming the option and the value', () => {
    expect(() => createBalancer({ strategy: 'fastest' as never })).toThrow(
      /Invalid balancer options: `strategy` must be one of 'round-robin'.*got "fastest"/,
    );
    expect(() => createBalancer({ panicThreshold: 150 })).toThrow(
      /`panicThreshold` must be a percentage from 0 to 100, got 150/,
    );
    expect(() => createBalancer({ outlierDetection: { consecutiveFailures: -1 } })).toThrow(
      /`outlierDetection.consecutiveFailures` must be a non-negative integer, got -1/,
    );
    expect(() => createBalancer({ slowStart: { windowMs: 0 } })).toThrow(
      /`slowStart.windowMs` must be a number of milliseconds from 1 to 2147483647, got 0/,
    );
    expect(() => createBalancer({ colour: 1 } as never)).toThrow(/unknown option `colour`/);
    expect(() => createBalancer({ overprovisioningFactor: 0.5 })).toThrowError(
      expect.objectContaining({
        code: 'PICKET_INVALID_OPTIONS',
        message: expect.stringContaining('`overprovisioningFactor` must be at least 1, got 0.5'),
      }),
    );
  });

  it('throws PICKET_NO_INSTANCES before any update', () => {
    const { lb } = make();
    expect(() => lb.pick()).toThrowError(expect.objectContaining({ code: 'PICKET_NO_INSTANCES' }));
  });

  it('throws PICKET_INVALID_INSTANCE on a bad record and keeps the previous membership', () => {
    const { lb } = make();
    lb.update(urls);
    expect(() => lb.update(['http://127.0.0.1:9', { url: 'nope' }])).toThrowError(
      expect.objectContaining({
        code: 'PICKET_INVALID_INSTANCE',
        message: expect.stringContaining('index 1'),
      }),
    );
    expect(lb.instances().map((i) => i.id)).toEqual(urls);
  });

  it('spreads picks over every instance', () => {
    const { lb } = make();
    lb.update(urls);
    const seen = count(lb, 300);
    expect([...seen.values()]).toEqual([100, 100, 100]);
  });

  it('keeps stats and state for instances that stay across an update', () => {
    const { lb } = make();
    lb.update(urls);
    count(lb, 30);
    lb.setHealth(urls[0] as string, 'unhealthy', 'l7: status 503', 'active');
    lb.update([...urls, 'http://127.0.0.1:8004']);
    const snap = lb.snapshot().instances;
    expect(snap.find((s) => s.id === urls[1])?.requests).toBe(10);
    expect(snap.find((s) => s.id === urls[0])?.state).toBe('unhealthy');
    expect(snap.find((s) => s.id === 'http://127.0.0.1:8004')?.requests).toBe(0);
  });

  it('drops a removed instance only once its in-flight picks are released', () => {
    const { lb } = make();
    lb.update(urls);
    const held = [lb.pick(), lb.pick(), lb.pick()];
    const gone = held[0]?.instance.id as string;
    lb.update(urls.filter((u) => u !== gone));
    expect(lb.snapshot().instances.find((s) => s.id === gone)?.state).toBe('draining');
    for (let i = 0; i < 20; i++) {
      const p = lb.pick();
      expect(p.instance.id).not.toBe(gone);
      p.release({ ok: true });
    }
    held[0]?.release({ ok: true, latencyMs: 1 });
    expect(lb.snapshot().instances.find((s) => s.id === gone)).toBeUndefined();
    held[1]?.release({ ok: true });
    held[2]?.release({ ok: true });
  });

  it('emits instances and instance-state events, and unsubscribes', () => {
    const { lb } = make();
    const membership: BalancerEvents['instances'][] = [];
    const states: BalancerEvents['instance-state'][] = [];
    const off = lb.on('instances', (e) => membership.push(e));
    lb.on('instance-state', (e) => states.push(e));
    lb.update(urls);
    lb.update(urls.slice(0, 2));
    lb.update([urls[0] as string, { url: urls[1] as string, weight: 5 }]);
    lb.update([urls[0] as string, { url: urls[1] as string, weight: 5 }]);
    expect(membership.map((m) => [m.added.length, m.removed.length, m.updated.map((i) => i.weight)])).toEqual(
      [
        [3, 0, []],
        [0, 1, []],
        [0, 0, [5]],
      ],
    );
    lb.setHealth(urls[0] as string, 'unhealthy', 'tcp: connection refused');
    expect(states.at(-1)).toMatchObject({
      from: 'healthy',
      to: 'unhealthy',
      reason: 'active: tcp: connection refused',
    });
    off();
    lb.update(urls);
    expect(membership).toHaveLength(3);
  });

  it('reports a throwing listener instead of breaking the pick', () => {
    const { lb } = make({ outlierDetection: { consecutiveFailures: 1, maxEjectionPercent: 100 } });
    const reported: unknown[] = [];
    lb.on('eject', () => {
      throw new Error('listener bug');
    });
    lb.on('listener-error', (e) => reported.push(e.error));
    lb.update(urls);
    const p = lb.pick();
    expect(() => p.release({ ok: false, error: 'connect' })).not.toThrow();
    expect(reported).toHaveLength(1);
    expect(() => lb.pick().release({ ok: true })).not.toThrow();
  });

  it('never picks an excluded instance, and says so when all are excluded', () => {
    const { lb } = make();
    lb.update(urls);
    const exclude = new Set([urls[0] as string, urls[1] as string]);
    for (let i = 0; i < 10; i++) {
      const p = lb.pick({ exclude });
      expect(p.instance.id).toBe(urls[2]);
      p.release({ ok: true });
    }
    expect(() => lb.pick({ exclude: new Set(urls) })).toThrowError(
      expect.objectContaining({
        code: 'PICKET_NO_AVAILABLE_INSTANCE',
        message: expect.stringContaining('3 excluded'),
      }),
    );
  });

  it('throws PICKET_NO_AVAILABLE_INSTANCE when none is pickable and panic is off', () => {
    const { lb } = make({ panicThreshold: 0 });
    lb.update(urls);
    for (const u of urls) lb.setHealth(u, 'unhealthy', 'down');
    expect(() => lb.pick()).toThrowError(
      expect.objectContaining({
        code: 'PICKET_NO_AVAILABLE_INSTANCE',
        message: expect.stringContaining('3 unhealthy'),
      }),
    );
    lb.setHealth(urls[1] as string, 'healthy');
    expect(lb.pick().instance.id).toBe(urls[1]);
  });

  it('keeps unhealthy sources separate: the instance returns only when every source is healthy', () => {
    const { lb } = make({ panicThreshold: 0 });
    lb.update([urls[0] as string]);
    lb.setHealth(urls[0] as string, 'unhealthy', 'l7 down', 'active');
    lb.setHealth(urls[0] as string, 'unhealthy', 'breaker open', 'breaker');
    lb.setHealth(urls[0] as string, 'healthy', '', 'active');
    expect(() => lb.pick()).toThrow(/No available instance/);
    expect(lb.snapshot().instances[0]?.health).toEqual({
      breaker: { state: 'unhealthy', reason: 'breaker open' },
    });
    lb.setHealth(urls[0] as string, 'healthy', '', 'breaker');
    expect(lb.pick().instance.id).toBe(urls[0]);
  });

  it('prefers instances known to be healthy over ones not checked yet', () => {
    const { lb } = make({ healthSources: ['active'] });
    lb.update(urls);
    // Nothing checked yet: the unknown instances still serve.
    expect(count(lb, 3).size).toBe(3);
    lb.setHealth(urls[2] as string, 'healthy');
    expect([...count(lb, 30).keys()]).toEqual([urls[2]]);
    expect(lb.snapshot().instances.find((s) => s.id === urls[0])?.state).toBe('unknown');
  });

  it('honours a server-reported weight and validates it', () => {
    const { lb } = make();
    lb.update(urls.slice(0, 2));
    lb.setWeight(urls[0] as string, 3);
    const seen = count(lb, 400);
    expect(seen.get(urls[0] as string)).toBe(300);
    expect(() => lb.setWeight(urls[0] as string, -2)).toThrow(/`weight` to be a positive finite number/);
    lb.setWeight(urls[0] as string, undefined);
    expect(count(lb, 400).get(urls[0] as string)).toBe(200);
  });

  it('tracks peak latency: a slow answer counts at once, a failure is penalised', () => {
    const { lb, advance } = make({ outlierDetection: false });
    lb.update([urls[0] as string]);
    // The first answer (connection setup) seeds the estimate at the default 30 ms.
    lb.pick().release({ ok: true, latencyMs: 19 });
    lb.pick().release({ ok: true, latencyMs: 80 });
    expect(lb.snapshot().instances[0]?.latencyMs).toBeCloseTo(80, 5);
    advance(10_000);
    expect(lb.snapshot().instances[0]?.latencyMs).toBeCloseTo(80 / Math.E, 3);
    lb.pick().release({ ok: false, latencyMs: 1, status: 503 });
    expect(lb.snapshot().instances[0]?.latencyMs).toBe(250);
    expect(lb.snapshot().instances[0]).toMatchObject({ requests: 3, failures: 1, meanLatencyMs: 100 / 3 });
  });

  it("takes the caller's reading of its clock for a pick and a release, and never moves the EWMA's stamp back", () => {
    // A clock that must not be read: every time comes from the caller.
    const now = vi.fn(() => 1_000);
    const lb = createBalancer({ strategy: 'peak-ewma', now, outlierDetection: false });
    lb.update([urls[0] as string]);
    now.mockClear();
    lb.pick(undefined, 1_000).release({ ok: true, latencyMs: 5 }, 1_005); // seeds it (see latency.ts)
    lb.pick(undefined, 1_000).release({ ok: true, latencyMs: 80 }, 1_080);
    // A faster answer reported 10 s later (one decay constant) pulls the average down by 1 - 1/e.
    const late = lb.pick(undefined, 11_000);
    // An answer from before that one, reported after it: it may not turn the clock back.
    lb.pick(undefined, 10_900).release({ ok: true, latencyMs: 10 }, 10_990);
    late.release({ ok: true, latencyMs: 20 }, 11_080);
    expect(now).not.toHaveBeenCalled();
    const expected = 10 + (80 - 10) * Math.exp(-(10_990 - 1_080) / 10_000);
    const after =
      expected * Math.exp(-(11_080 - 10_990) / 10_000) + 20 * (1 - Math.exp(-(11_080 - 10_990) / 10_000));
    now.mockReturnValue(11_080);
    expect(lb.snapshot().instances[0]?.latencyMs).toBeCloseTo(after, 6);
    // Reported in the past of the stamp, a faster answer changes nothing; a slower one still counts.
    lb.pick(undefined, 11_000).release({ ok: true, latencyMs: 1 }, 11_050);
    expect(lb.snapshot().instances[0]?.latencyMs).toBeCloseTo(after, 6);
    lb.pick(undefined, 11_000).release({ ok: true, latencyMs: 90 }, 11_050);
    expect(lb.snapshot().instances[0]?.latencyMs).toBe(90);
  });

  it('refuses picks after close but accepts releases', () => {
    const { lb } = make();
    lb.update(urls);
    const p = lb.pick();
    lb.close();
    lb.close();
    expect(lb.closed).toBe(true);
    expect(() => lb.pick()).toThrowError(expect.objectContaining({ code: 'PICKET_BALANCER_CLOSED' }));
    expect(() => p.release({ ok: true })).not.toThrow();
  });

  it('starts no timers of its own', () => {
    vi.useFakeTimers();
    try {
      const { lb } = make({ slowStart: { windowMs: 1000 } });
      lb.update(urls);
      lb.update([...urls, 'http://127.0.0.1:8004']);
      for (let i = 0; i < 100; i++) lb.pick().release({ ok: false, error: 'reset' });
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('state events for new instances', () => {
  it('does not report a new, not yet checked instance as a healthy one degrading', () => {
    const lb = createBalancer({ healthSources: ['active'], now: () => 0 });
    const states: BalancerEvents['instance-state'][] = [];
    lb.on('instance-state', (e) => states.push(e));
    lb.update(urls);
    expect(states).toEqual([]);
    lb.setHealth(urls[0] as string, 'healthy', 'l7: status 200');
    expect(states.map((s) => [s.from, s.to])).toEqual([['unknown', 'healthy']]);
  });
});

describe('latency memory of a returning instance', () => {
  it('starts again from the default RTT when it returns from unhealthy', () => {
    const lb = createBalancer({ strategy: 'peak-ewma', now: () => 0, outlierDetection: false });
    lb.update(urls);
    const a = urls[0] as string;
    lb.pick({ exclude: new Set(urls.slice(1)) }).release({ ok: false, error: 'timeout', latencyMs: 2000 });
    lb.setHealth(a, 'unhealthy', 'frozen');
    expect(lb.snapshot().instances.find((s) => s.id === a)?.latencyMs).toBe(2000);
    lb.setHealth(a, 'healthy', 'l7: status 200');
    expect(lb.snapshot().instances.find((s) => s.id === a)?.latencyMs).toBe(30);
  });

  it('starts again from the default RTT (decayed since no instance had a sample) when its ejection ends', () => {
    let t = 0;
    const lb = createBalancer({
      strategy: 'peak-ewma',
      now: () => t,
      outlierDetection: { consecutiveFailures: 1, maxEjectionPercent: 100, baseEjectionMs: 2000 },
    });
    lb.update(urls);
    const b = urls[1] as string;
    lb.pick({ exclude: new Set([urls[0] as string, urls[2] as string]) }).release({
      ok: false,
      error: 'reset',
      latencyMs: 1,
    });
    expect(lb.snapshot().instances.find((s) => s.id === b)).toMatchObject({
      state: 'ejected',
      latencyMs: 250,
    });
    t += 2000;
    expect(lb.snapshot().instances.find((s) => s.id === b)).toMatchObject({
      state: 'healthy',
      latencyMs: expect.closeTo(30 * Math.exp(-2000 / 10_000), 9),
    });
  });
});
