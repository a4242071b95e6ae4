import { describe, expect, it } from 'vitest';
import { createBalancer } from './balancer.ts';
import type { BalancerEvents } from './events.ts';
import { seededRandom } from './random.ts';
import type { Balancer, BalancerOptions } from './types.ts';

function make(options: BalancerOptions = {}) {
  let t = 0;
  const lb = createBalancer({
    strategy: 'round-robin',
    random: seededRandom(7),
    now: () => t,
    outlierDetection: false,
    ...options,
  });
  return {
    lb,
    advance: (ms: number) => {
      t += ms;
    },
  };
}

function shares(lb: Balancer, n: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const p = lb.pick();
    out[p.instance.id] = (out[p.instance.id] ?? 0) + 1 / n;
    p.release({ ok: true, latencyMs: 1 });
  }
  return out;
}

/** Draws spread evenly over [0, 1) in a fixed order: a split comes out exact, not within chance. */
function evenly(steps: number): () => number {
  let i = 0;
  return () => ((i++ % steps) + 0.5) / steps;
}

const sum = (o: Record<string, number>, prefix: string) =>
  Object.entries(o)
    .filter(([k]) => k.startsWith(prefix))
    .reduce((a, [, v]) => a + v, 0);

describe('priority groups (hot standby)', () => {
  const fleet = [
    { url: 'http://a1:80', id: 'active-1' },
    { url: 'http://a2:80', id: 'active-2' },
    { url: 'http://a3:80', id: 'active-3' },
    { url: 'http://a4:80', id: 'active-4' },
    { url: 'http://a5:80', id: 'active-5' },
    { url: 'http://b1:80', id: 'backup-1', priority: 1 },
    { url: 'http://b2:80', id: 'backup-2', priority: 1 },
  ];

  it('sends nothing to backups while the active group is healthy enough', () => {
    const { lb } = make();
    lb.update(fleet);
    expect(sum(shares(lb, 1000), 'backup')).toBe(0);
    // 4 of 5 healthy: 80% × 1.4 ≥ 100%, the actives still carry everything.
    lb.setHealth('active-1', 'unhealthy', 'down');
    expect(sum(shares(lb, 1000), 'backup')).toBe(0);
  });

  it('spills the share the actives cannot carry to the backups, and hands it back on recovery', () => {
    const { lb } = make({ random: evenly(1000) });
    lb.update(fleet);
    lb.setHealth('active-1', 'unhealthy', 'down');
    lb.setHealth('active-2', 'unhealthy', 'down');
    // 3 of 5 healthy: actives carry 60% × 1.4 = 84%, backups the remaining 16%: exactly 160 of
    // every 1,000 evenly spread draws (an overprovisioning factor of 1.39 or 1.41 would not).
    const degraded = shares(lb, 20_000);
    expect(Math.round(sum(degraded, 'backup') * 20_000)).toBe(3200);
    expect(degraded['active-1']).toBeUndefined();
    lb.setHealth('active-1', 'healthy');
    lb.setHealth('active-2', 'healthy');
    expect(sum(shares(lb, 1000), 'backup')).toBe(0);
  });

  it('fails over entirely to the backup when the active is down (active/backup pair)', () => {
    const { lb } = make();
    lb.update([
      { url: 'http://primary:80', id: 'primary' },
      { url: 'http://standby:80', id: 'standby', priority: 1 },
    ]);
    expect(Object.keys(shares(lb, 100))).toEqual(['primary']);
    lb.setHealth('primary', 'unhealthy', 'down');
    expect(Object.keys(shares(lb, 100))).toEqual(['standby']);
    lb.setHealth('primary', 'healthy');
    expect(Object.keys(shares(lb, 100))).toEqual(['primary']);
  });

  it('lets a retry that excluded the whole active group reach a backup', () => {
    const { lb } = make();
    lb.update([
      { url: 'http://primary:80', id: 'primary' },
      { url: 'http://standby:80', id: 'standby', priority: 1 },
    ]);
    const p = lb.pick({ exclude: new Set(['primary']) });
    expect(p.instance.id).toBe('standby');
    p.release({ ok: true });
  });
});

describe('panic threshold', () => {
  const ten = Array.from({ length: 10 }, (_, i) => ({ url: `http://h${i}:80`, id: `h${i}` }));

  it('balances across every instance when fewer than half are available', () => {
    const { lb } = make();
    const panics: BalancerEvents['panic'][] = [];
    lb.on('panic', (e) => panics.push(e));
    lb.update(ten);
    for (let i = 0; i < 6; i++) lb.setHealth(`h${i}`, 'unhealthy', 'down');
    const s = shares(lb, 1000);
    expect(Object.keys(s)).toHaveLength(10);
    expect(panics).toEqual([{ priority: 0, panic: true, availableShare: 0.4 }]);
    expect(lb.snapshot().panic).toEqual([0]);
    lb.setHealth('h0', 'healthy');
    lb.setHealth('h1', 'healthy');
    expect(Object.keys(shares(lb, 1000)).sort()).toEqual(['h0', 'h1', 'h6', 'h7', 'h8', 'h9']);
    expect(panics.at(-1)).toMatchObject({ panic: false });
  });

  it('does not panic while lower priorities can absorb the load', () => {
    const { lb } = make();
    lb.update([...ten.slice(0, 4), ...ten.slice(4).map((r) => ({ ...r, priority: 1 }))]);
    for (let i = 0; i < 3; i++) lb.setHealth(`h${i}`, 'unhealthy', 'down');
    const s = shares(lb, 5000);
    expect(s.h0).toBeUndefined();
    expect(lb.snapshot().panic).toEqual([]);
  });

  it('with panic off, uses only the few left', () => {
    const { lb } = make({ panicThreshold: 0 });
    lb.update(ten);
    for (let i = 0; i < 8; i++) lb.setHealth(`h${i}`, 'unhealthy', 'down');
    expect(Object.keys(shares(lb, 100)).sort()).toEqual(['h8', 'h9']);
  });
});

describe('zone preference', () => {
  const fleet = [
    { url: 'http://a1:80', id: 'a1', zone: 'a' },
    { url: 'http://a2:80', id: 'a2', zone: 'a' },
    { url: 'http://a3:80', id: 'a3', zone: 'a' },
    { url: 'http://b1:80', id: 'b1', zone: 'b' },
    { url: 'http://b2:80', id: 'b2', zone: 'b' },
    { url: 'http://b3:80', id: 'b3', zone: 'b' },
  ];

  it('keeps traffic in the local zone while it is healthy', () => {
    const { lb } = make({ zone: 'a' });
    lb.update(fleet);
    expect(sum(shares(lb, 1000), 'a')).toBeCloseTo(1, 9);
  });

  it('spills over when the local zone is too thin, in proportion to what it lacks', () => {
    const { lb } = make({ zone: { local: 'a' }, random: evenly(3000) });
    lb.update(fleet);
    lb.setHealth('a1', 'unhealthy', 'down');
    lb.setHealth('a2', 'unhealthy', 'down');
    // 1 of 3 local: the local zone carries 1/3 × 1.4 = 46.67%, the rest goes to zone b: exactly
    // 1,400 of every 3,000 evenly spread draws.
    const s = shares(lb, 30_000);
    expect(Math.round(sum(s, 'a') * 30_000)).toBe(14_000);
    expect(Math.round(sum(s, 'b') * 30_000)).toBe(16_000);
  });

  it('uses every zone when the caller has no local instances', () => {
    const { lb } = make({ zone: 'c' });
    lb.update(fleet);
    expect(Object.keys(shares(lb, 600))).toHaveLength(6);
  });
});

describe('slow start', () => {
  it('ramps a new instance from the minimum weight to full over the window', () => {
    const { lb, advance } = make({
      strategy: 'random',
      slowStart: { windowMs: 10_000, minWeightPercent: 10 },
    });
    lb.update(['http://old:80']);
    lb.update(['http://old:80', 'http://new:80']);
    const id = 'http://new:80';
    const weight = () => lb.snapshot().instances.find((s) => s.id === id)?.effectiveWeight ?? 0;
    expect(lb.snapshot().instances.find((s) => s.id === id)?.state).toBe('warming');
    expect(weight()).toBeCloseTo(0.1, 5);
    expect(shares(lb, 20_000)[id]).toBeCloseTo(0.1 / 1.1, 1);
    advance(5_000);
    expect(weight()).toBeCloseTo(0.5, 1);
    expect(shares(lb, 20_000)[id]).toBeCloseTo(0.5 / 1.5, 1);
    advance(5_000);
    expect(weight()).toBe(1);
    expect(lb.snapshot().instances.find((s) => s.id === id)?.state).toBe('healthy');
    expect(shares(lb, 20_000)[id]).toBeCloseTo(0.5, 1);
  });

  it('follows the aggression curve', () => {
    const { lb, advance } = make({ slowStart: { windowMs: 1000, aggression: 2, minWeightPercent: 1 } });
    lb.update(['http://old:80']);
    lb.update(['http://old:80', 'http://new:80']);
    advance(250);
    // (0.25)^(1/2) = 0.5
    expect(lb.snapshot().instances.find((s) => s.id === 'http://new:80')?.effectiveWeight).toBeCloseTo(
      0.5,
      2,
    );
  });

  it('does not slow-start the first instances a balancer sees', () => {
    const { lb } = make({ slowStart: { windowMs: 10_000 } });
    lb.update(['http://a:80', 'http://b:80']);
    expect(lb.snapshot().instances.map((s) => s.state)).toEqual(['healthy', 'healthy']);
  });
});
