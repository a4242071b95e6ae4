import { describe, expect, it } from 'vitest';
import { createBalancer } from './balancer.ts';
import type { BalancerEvents } from './events.ts';
import { Emitter } from './events.ts';
import { seededRandom } from './random.ts';
import { rendezvousOrder } from './subset-order.ts';
import type { BalancerOptions } from './types.ts';

const urls = (n: number) => Array.from({ length: n }, (_, i) => `http://10.1.${i >> 8}.${i & 255}:8080`);
const ids = (lb: { instances(): readonly { id: string }[] }) => lb.instances().map((i) => i.id);
const settle = () => new Promise<void>((resolve) => queueMicrotask(resolve));

function make(options: BalancerOptions) {
  let t = 1_000;
  const lb = createBalancer({ strategy: 'round-robin', random: seededRandom(11), now: () => t, ...options });
  return {
    lb,
    advance: (ms: number): void => {
      t += ms;
    },
  };
}

describe('createBalancer({ subset })', () => {
  it('picks only among the caller’s rendezvous top `size` of what update() is given', () => {
    const { lb } = make({ subset: { size: 5, callerId: 'orders-0' } });
    const list = urls(40);
    lb.update(list);
    const members = rendezvousOrder('orders-0', list).slice(0, 5);
    expect(ids(lb)).toEqual(members);
    const picked = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const pick = lb.pick();
      picked.add(pick.instance.id);
      pick.release({ ok: true, latencyMs: 1 });
    }
    expect(picked).toEqual(new Set(members));
    // Instances outside the subset hold no state: the snapshot lists only the five.
    expect(
      lb
        .snapshot()
        .instances.map((i) => i.id)
        .sort(),
    ).toEqual([...members].sort());
  });

  it('deals deterministic slices: 12 balancers of size 10 over 40 instances use each exactly 3 times', () => {
    const list = urls(40);
    const uses = new Map<string, number>();
    for (let index = 0; index < 12; index++) {
      const { lb } = make({ subset: { size: 10, mode: 'deterministic', peers: { index, count: 12 } } });
      lb.update(list);
      for (const id of ids(lb)) uses.set(id, (uses.get(id) ?? 0) + 1);
      lb.close();
    }
    expect(uses.size).toBe(40);
    expect(new Set(uses.values())).toEqual(new Set([3]));
  });

  it('says each instance’s role in its snapshot, and the subset’s counts', () => {
    const { lb } = make({ subset: { size: 3, callerId: 'orders-0' } });
    lb.update(urls(12));
    const snap = lb.snapshot();
    expect(snap.instances.map((i) => i.subset)).toEqual(['member', 'member', 'member']);
    expect(snap.subset).toMatchObject({ mode: 'random', size: 3, callerId: 'orders-0' });
    expect(snap.subset?.counts).toEqual({ member: 3, grown: 0, standby: 9 });
  });

  it('leaves the snapshot as it was without subsetting (off by default, or `false`)', () => {
    for (const subset of [undefined, false as const]) {
      const { lb } = make({ subset });
      lb.update(urls(4));
      const snap = lb.snapshot();
      expect('subset' in snap).toBe(false);
      expect(snap.instances.some((i) => 'subset' in i)).toBe(false);
      expect(ids(lb)).toHaveLength(4);
    }
  });

  it('grows while outlier detection ejects members and shrinks back when the ejections end (fake clock), with a subset event each way', async () => {
    const { lb, advance } = make({
      subset: { size: 4, callerId: 'orders-0' },
      panicThreshold: 75,
      outlierDetection: { consecutiveFailures: 2, maxEjectionPercent: 100, baseEjectionMs: 30_000 },
    });
    const changes: BalancerEvents['subset'][] = [];
    lb.on('subset', (change) => changes.push(change));
    const list = urls(20);
    const order = rendezvousOrder('orders-0', list);
    lb.update(list);
    expect(changes).toEqual([{ added: order.slice(0, 4), removed: [], grown: 0 }]);
    for (let i = 0; i < 40 && lb.snapshot().subset?.counts.grown === 0; i++) {
      const pick = lb.pick();
      const bad = pick.instance.id === order[0] || pick.instance.id === order[1];
      pick.release(bad ? { ok: false, error: 'connect' } : { ok: true, latencyMs: 1 });
      await settle();
    }
    // Two of four ejected leaves 2 available, below 75% of 4: the next in order is taken.
    expect(ids(lb)).toEqual(order.slice(0, 5));
    expect(lb.snapshot().instances.find((i) => i.id === order[4])?.subset).toBe('grown');
    expect(changes.at(-1)).toEqual({ added: [order[4]], removed: [], grown: 1 });
    advance(29_000);
    lb.snapshot();
    await settle();
    expect(ids(lb)).toEqual(order.slice(0, 5));
    advance(1_001);
    lb.snapshot(); // the maintenance that ends the ejections
    await settle();
    expect(ids(lb)).toEqual(order.slice(0, 4));
    expect(changes.at(-1)).toEqual({ added: [], removed: [order[4]], grown: 0 });
  });

  it('starts a peers provider with the first update(), places itself by it, and closes it with close()', () => {
    const peers = new Emitter<{ snapshot: { instances: readonly { id: string }[] } }>();
    const calls: string[] = [];
    const source = {
      on: peers.on.bind(peers),
      current: () => [{ id: 'orders-a' }, { id: 'orders-b' }, { id: 'orders-c' }],
      start: () => calls.push('start'),
      close: () => calls.push('close'),
    };
    const { lb } = make({
      subset: { size: 4, mode: 'deterministic', peers: { discovery: source, self: 'orders-c' } },
    });
    expect(calls).toEqual([]);
    lb.update(urls(12));
    lb.update(urls(12));
    expect(calls).toEqual(['start']);
    expect(lb.snapshot().subset?.peers).toEqual({ index: 2, count: 3 });
    expect(lb.snapshot().subset?.instances[0]?.reason).toMatch(/^dealt #1 to caller 2 of 3/);
    lb.close();
    lb.close();
    expect(calls).toEqual(['start', 'close']);
  });

  it('refuses bad subset options naming `subset.<field>` and the value', () => {
    expect(() => createBalancer({ subset: { size: 0 } })).toThrow(
      /Invalid balancer options: `subset.size` must be a positive integer, got 0/,
    );
    expect(() => createBalancer({ subset: { size: 2, mode: 'deterministic' } })).toThrow(
      /`subset.peers` is required with mode 'deterministic'/,
    );
    expect(() => createBalancer({ subset: 3 as never })).toThrow(/`subset`/);
  });
});
