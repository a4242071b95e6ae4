import { describe, expect, it } from 'vitest';
import { createBalancer } from './balancer.ts';
import type { BalancerEvents } from './events.ts';
import type { Outcome } from './outcome.ts';
import { seededRandom } from './random.ts';
import type { Balancer, BalancerOptions } from './types.ts';

function make(n: number, options: BalancerOptions = {}) {
  let t = 0;
  const lb = createBalancer({ strategy: 'round-robin', random: seededRandom(3), now: () => t, ...options });
  const ids = Array.from({ length: n }, (_, i) => `http://10.0.0.${i + 1}:80`);
  lb.update(ids);
  const ejections: BalancerEvents['eject'][] = [];
  lb.on('eject', (e) => ejections.push(e));
  return {
    lb,
    ids,
    ejections,
    advance: (ms: number) => {
      t += ms;
    },
  };
}

/** Sends n requests; the outcome for each is decided by the instance picked. */
function traffic(lb: Balancer, n: number, outcome: (id: string) => Outcome): Record<string, number> {
  const seen: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const p = lb.pick();
    seen[p.instance.id] = (seen[p.instance.id] ?? 0) + 1;
    p.release(outcome(p.instance.id));
  }
  return seen;
}

const ok: Outcome = { ok: true, latencyMs: 2, status: 200 };

describe('outlier detection', () => {
  it('ejects an instance after 5 consecutive 5xx and brings it back after 30 s', () => {
    const { lb, ids, ejections, advance } = make(10);
    const bad = ids[3] as string;
    traffic(lb, 50, (id) => (id === bad ? { ok: false, status: 503, latencyMs: 1 } : ok));
    expect(ejections).toEqual([
      {
        instance: expect.objectContaining({ id: bad }),
        reason: '5 consecutive failures',
        durationMs: 30_000,
        ejections: 1,
      },
    ]);
    expect(traffic(lb, 100, () => ok)[bad]).toBeUndefined();
    advance(29_999);
    expect(lb.snapshot().instances.find((s) => s.id === bad)?.state).toBe('ejected');
    advance(1);
    expect(lb.snapshot().instances.find((s) => s.id === bad)?.state).toBe('healthy');
    expect(traffic(lb, 100, () => ok)[bad]).toBe(10);
  });

  it('does not count 4xx as failures', () => {
    const { lb, ids, ejections } = make(10);
    traffic(lb, 200, (id) => (id === ids[0] ? { ok: false, status: 404 } : ok));
    expect(ejections).toEqual([]);
  });

  it('counts connection failures', () => {
    const { lb, ids, ejections } = make(10);
    traffic(lb, 50, (id) => (id === ids[0] ? { ok: false, error: 'connect' } : ok));
    expect(ejections.map((e) => e.instance.id)).toEqual([ids[0]]);
  });

  it('lengthens repeated ejections up to the maximum', () => {
    const { lb, ids, ejections, advance } = make(10, {
      outlierDetection: {
        baseEjectionMs: 100_000,
        maxEjectionMs: 250_000,
        successRate: false,
        failurePercentage: false,
      },
    });
    const bad = ids[0] as string;
    for (let round = 0; round < 3; round++) {
      traffic(lb, 50, (id) => (id === bad ? { ok: false, status: 500 } : ok));
      advance(ejections.at(-1)?.durationMs ?? 0);
    }
    expect(ejections.map((e) => e.durationMs)).toEqual([100_000, 200_000, 250_000]);
  });

  it('never ejects more than 10% of instances, but always allows one', () => {
    const { lb, ejections } = make(3);
    traffic(lb, 60, () => ({ ok: false, error: 'reset' }));
    expect(ejections).toHaveLength(1);
    const many = make(20);
    traffic(many.lb, 400, () => ({ ok: false, error: 'reset' }));
    expect(many.ejections).toHaveLength(2);
  });

  it('ejects on success rate below mean − 1.9 stdev at the 10 s sweep', () => {
    const { lb, ids, ejections, advance } = make(10, { outlierDetection: { consecutiveFailures: 0 } });
    const bad = ids[9] as string;
    let n = 0;
    // The bad instance fails 1 in 3 requests: never 5 in a row, but a far lower success rate.
    traffic(lb, 2000, (id) => (id === bad && n++ % 3 === 0 ? { ok: false, status: 500 } : ok));
    expect(ejections).toEqual([]);
    advance(10_000);
    lb.pick().release(ok);
    expect(ejections.map((e) => [e.instance.id, e.reason.startsWith('success rate')])).toEqual([[bad, true]]);
  });

  it('needs 5 instances with 100 requests each before judging success rate', () => {
    const { lb, ids, ejections, advance } = make(4, {
      outlierDetection: { consecutiveFailures: 0, failurePercentage: false },
    });
    let n = 0;
    traffic(lb, 2000, (id) => (id === ids[0] && n++ % 2 === 0 ? { ok: false, status: 500 } : ok));
    advance(10_000);
    lb.pick().release(ok);
    expect(ejections).toEqual([]);
  });

  it('ejects on failure percentage at or above 85%', () => {
    const { lb, ids, ejections, advance } = make(10, {
      outlierDetection: { consecutiveFailures: 0, successRate: false },
    });
    let n = 0;
    traffic(lb, 1000, (id) => (id === ids[2] && n++ % 10 !== 0 ? { ok: false, status: 502 } : ok));
    advance(10_000);
    lb.pick().release(ok);
    expect(ejections.map((e) => e.reason)).toEqual(['failure percentage 90.0%']);
  });

  it('judges only instances with the default request volume: 100 for success rate, 50 for failure percentage', () => {
    const sweep = (perInstance: number, options: BalancerOptions['outlierDetection']) => {
      const { lb, ids, ejections, advance } = make(10, { outlierDetection: options });
      let n = 0;
      // Round robin: every instance gets exactly `perInstance`; the bad one fails 9 in 10.
      traffic(lb, 10 * perInstance, (id) =>
        id === ids[0] && n++ % 10 !== 9 ? { ok: false, status: 500 } : ok,
      );
      advance(10_000);
      lb.pick().release(ok);
      return ejections.map((e) => e.reason.replace(/ [\d.%]+.*$/, ''));
    };
    const successRate = { consecutiveFailures: 0, failurePercentage: false } as const;
    const failurePercentage = { consecutiveFailures: 0, successRate: false } as const;
    expect(sweep(99, successRate)).toEqual([]);
    expect(sweep(100, successRate)).toEqual(['success rate']);
    expect(sweep(49, failurePercentage)).toEqual([]);
    expect(sweep(50, failurePercentage)).toEqual(['failure percentage']);
  });

  it('needs 5 instances with enough requests before judging failure percentage', () => {
    const { lb, ids, ejections, advance } = make(4, {
      outlierDetection: { consecutiveFailures: 0, successRate: false },
    });
    traffic(lb, 400, (id) => (id === ids[0] ? { ok: false, status: 500 } : ok));
    advance(10_000);
    lb.pick().release(ok);
    expect(ejections).toEqual([]);
  });

  it('can be turned off', () => {
    const { lb, ejections } = make(10, { outlierDetection: false });
    traffic(lb, 100, () => ({ ok: false, error: 'connect' }));
    expect(ejections).toEqual([]);
  });
});

describe('outlier detection with active checks', () => {
  it('ends an ejection when an active check passes', () => {
    const { lb, ids, ejections } = make(10);
    const bad = ids[0] as string;
    traffic(lb, 50, (id) => (id === bad ? { ok: false, error: 'reset' } : ok));
    expect(ejections).toHaveLength(1);
    lb.setHealth(bad, 'healthy', 'l7: status 200', 'breaker');
    expect(lb.snapshot().instances.find((s) => s.id === bad)?.state).toBe('ejected');
    lb.setHealth(bad, 'healthy', 'l7: status 200', 'active');
    expect(lb.snapshot().instances.find((s) => s.id === bad)).toMatchObject({
      state: 'healthy',
      ejections: 1,
    });
    expect(traffic(lb, 100, () => ok)[bad]).toBe(10);
  });
});
