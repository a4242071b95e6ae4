import { describe, expect, it } from 'vitest';
import { createBalancer } from './balancer.ts';
import { Emitter } from './events.ts';
import { seededRandom } from './random.ts';
import { createSubset } from './subset.ts';
import { rendezvousOrder } from './subset-order.ts';
import type { BalancerOptions } from './types.ts';

const urls = (n: number) => Array.from({ length: n }, (_, i) => `http://10.0.${i >> 8}.${i & 255}:8080`);
const ids = (lb: { instances(): readonly { id: string }[] }) => lb.instances().map((i) => i.id);
const settle = () => new Promise<void>((resolve) => queueMicrotask(resolve));

function make(subset: Parameters<typeof createSubset>[1], options: BalancerOptions = {}) {
  let t = 1_000;
  const balancerOptions: BalancerOptions = {
    strategy: 'round-robin',
    random: seededRandom(7),
    now: () => t,
    ...options,
  };
  const lb = createBalancer(balancerOptions);
  const filter = createSubset(lb, subset, balancerOptions);
  const advance = (ms: number): void => {
    t += ms;
  };
  return { lb, filter, advance };
}

describe('createSubset', () => {
  it('refuses something that is not a balancer, typed (it threw a TypeError reading `on`)', () => {
    for (const notBalancer of [new Map(), {}, null]) {
      expect(() => createSubset(notBalancer as never, { size: 2 })).toThrow(
        /^createSubset needs a balancer from createBalancer\(\), got /,
      );
    }
  });

  it('hands the balancer only the caller’s rendezvous top `size`', () => {
    const { lb, filter } = make({ size: 5, callerId: 'orders-0' });
    const list = urls(40);
    filter.update(list);
    expect(ids(lb)).toEqual(rendezvousOrder('orders-0', list).slice(0, 5));
  });

  it('uses every instance of a service with no more than `size`', () => {
    const { lb, filter } = make({ size: 5, callerId: 'orders-0' });
    filter.update(urls(4));
    expect(new Set(ids(lb))).toEqual(new Set(urls(4)));
  });

  it('changes by one member when one instance leaves or joins, keeping the others’ state', () => {
    const { lb, filter } = make({ size: 5, callerId: 'orders-0' });
    const list = urls(40);
    filter.update(list);
    const before = ids(lb);
    lb.setHealth(before[1] as string, 'unhealthy', 'down', 'test');
    filter.update(list.filter((u) => u !== before[0]));
    expect(ids(lb).filter((id) => !before.includes(id))).toHaveLength(1);
    expect(lb.snapshot().instances.find((i) => i.id === before[1])?.state).toBe('unhealthy');
    filter.update([...list, 'http://10.9.9.9:8080']);
    expect(ids(lb).length).toBe(5);
  });

  it('deals deterministic slices by the caller’s place among its peers', () => {
    const list = urls(40);
    const seen = new Map<string, number>();
    for (let index = 0; index < 12; index++) {
      const { lb, filter } = make({ size: 10, mode: 'deterministic', peers: { index, count: 12 } });
      filter.update(list);
      for (const id of ids(lb)) seen.set(id, (seen.get(id) ?? 0) + 1);
    }
    // 12 × 10 / 40 = 3 callers on every instance.
    expect(new Set(list.map((u) => seen.get(u)))).toEqual(new Set([3]));
  });

  it('finds its place in a peers source by its own id, and deals again when peers change', () => {
    const peers = new Emitter<{ snapshot: { instances: readonly { id: string }[] } }>();
    let current: { id: string }[] | undefined;
    const source = { on: peers.on.bind(peers), current: () => current };
    const { lb, filter } = make({
      size: 10,
      mode: 'deterministic',
      peers: { discovery: source as never, self: 'orders-b' },
    });
    filter.start();
    filter.update(urls(40));
    expect(filter.snapshot().peers).toBeUndefined();
    current = [{ id: 'orders-c' }, { id: 'orders-b' }, { id: 'orders-a' }];
    peers.emit('snapshot', { instances: current });
    expect(filter.snapshot().peers).toEqual({ index: 1, count: 3 });
    const asSecond = ids(lb);
    peers.emit('snapshot', { instances: [{ id: 'orders-b' }, { id: 'orders-c' }] });
    expect(filter.snapshot().peers).toEqual({ index: 0, count: 2 });
    expect(ids(lb)).not.toEqual(asSecond);
    filter.close();
  });

  it('grows by the next candidates in order while fewer than the panic threshold of members are available, and shrinks back', async () => {
    const { lb, filter } = make({ size: 10, callerId: 'orders-0' }, { panicThreshold: 50 });
    const list = urls(40);
    const order = rendezvousOrder('orders-0', list);
    filter.update(list);
    const members = order.slice(0, 10);
    for (const id of members.slice(0, 5)) lb.setHealth(id, 'unhealthy', 'down', 'test');
    await settle();
    // 5 of 10 available: at the threshold, no growth.
    expect(ids(lb)).toEqual(members);
    lb.setHealth(members[5] as string, 'unhealthy', 'down', 'test');
    await settle();
    expect(ids(lb)).toEqual(order.slice(0, 11));
    expect(filter.role(order[10] as string)).toBe('grown');
    // A grown instance that fails too is replaced by the next.
    lb.setHealth(order[10] as string, 'unhealthy', 'down', 'test');
    await settle();
    expect(ids(lb)).toEqual(order.slice(0, 12));
    for (const id of members.slice(0, 6)) lb.setHealth(id, 'healthy', 'up', 'test');
    await settle();
    expect(ids(lb)).toEqual(members);
    expect(filter.snapshot().counts).toEqual({ member: 10, grown: 0, standby: 30 });
  });

  it('grows while outlier detection ejects members, and shrinks back when the ejections end (fake clock)', async () => {
    const { lb, filter, advance } = make(
      { size: 4, callerId: 'orders-0' },
      {
        panicThreshold: 75,
        outlierDetection: { consecutiveFailures: 2, maxEjectionPercent: 100, baseEjectionMs: 30_000 },
      },
    );
    const list = urls(20);
    const order = rendezvousOrder('orders-0', list);
    filter.update(list);
    // Fail picks until two members are ejected.
    for (let i = 0; i < 40 && filter.snapshot().counts.grown === 0; i++) {
      const pick = lb.pick();
      const bad = pick.instance.id === order[0] || pick.instance.id === order[1];
      pick.release(bad ? { ok: false, error: 'connect' } : { ok: true, latencyMs: 1 });
      await settle();
    }
    // Two of four ejected leaves 2 available, below 75% of 4: one more is taken.
    expect(lb.snapshot().instances.filter((i) => i.state === 'ejected')).toHaveLength(2);
    expect(ids(lb)).toEqual(order.slice(0, 5));
    expect(filter.snapshot().counts.grown).toBe(1);
    advance(30_001);
    lb.snapshot(); // runs the maintenance that ends the ejections
    await settle();
    expect(ids(lb)).toEqual(order.slice(0, 4));
  });

  it('chooses the subset within the local zone first, spilling to others only when it runs out', () => {
    const records = urls(30).map((url, i) => ({ url, zone: i % 3 === 0 ? 'a' : 'b' }));
    const { lb, filter } = make({ size: 5, callerId: 'orders-0' }, { zone: 'a' });
    filter.update(records);
    expect(lb.instances().every((i) => i.zone === 'a')).toBe(true);
    const few = make({ size: 5, callerId: 'orders-0' }, { zone: 'a' });
    few.filter.update(records.filter((r, i) => r.zone === 'b' || i < 9));
    expect(few.lb.instances().filter((i) => i.zone === 'a')).toHaveLength(3);
    expect(few.lb.instances()).toHaveLength(5);
  });

  it('says in its snapshot why each instance is used or not', async () => {
    const { lb, filter } = make({ size: 2, callerId: 'orders-0' });
    filter.update(urls(10));
    const [first, second] = ids(lb) as [string, string];
    lb.setHealth(first, 'unhealthy', 'down', 'test');
    lb.setHealth(second, 'unhealthy', 'down', 'test');
    await settle();
    const snap = filter.snapshot();
    expect(snap.counts).toEqual({ member: 2, grown: 1, standby: 7 });
    expect(snap.instances.map((i) => i.role)).toEqual(['member', 'member', 'grown', 'standby', 'standby']);
    expect(snap.instances[2]?.reason).toMatch(
      /^grown: 2 of 2 members unavailable, below the panic threshold of 50%/,
    );
    expect(snap.instances[0]?.reason).toMatch(/rendezvous rank 1 for caller "orders-0"/);
  });

  it('rejects bad options naming the option and the value', () => {
    const lb = createBalancer();
    expect(() => createSubset(lb, { size: 0 })).toThrow(/`size` must be a positive integer, got 0/);
    expect(() => createSubset(lb, { size: 3, mode: 'sticky' as never })).toThrow(
      /`mode` must be 'random' or 'deterministic', got "sticky"/,
    );
    expect(() => createSubset(lb, { size: 3, mode: 'deterministic' })).toThrow(
      /`peers` is required with mode 'deterministic'/,
    );
    expect(() => createSubset(lb, { size: 3, mode: 'deterministic', peers: { index: 3, count: 3 } })).toThrow(
      /`peers.index` must have index < count/,
    );
  });
});
