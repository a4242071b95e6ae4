import { rendezvousOrder } from '@picket/core';
import { describe, expect, it } from 'vitest';
import { createClient } from './client.ts';

const urls = Array.from({ length: 30 }, (_, i) => `http://127.0.0.${i + 1}:8080`);

describe('createClient({ subset })', () => {
  it('names the option path and value of a bad subset', () => {
    expect(() => createClient({ service: 'inventory', discovery: urls, subset: { size: -1 } })).toThrow(
      /`subset.size` must be a positive integer, got -1/,
    );
    expect(() =>
      createClient({ service: 'inventory', discovery: urls, subset: { size: 2, mode: 'deterministic' } }),
    ).toThrow(/`subset.peers` is required with mode 'deterministic'/);
  });

  it('hands the balancer only the subset, and says so in its snapshot', async () => {
    const client = createClient({
      service: 'inventory',
      discovery: urls,
      subset: { size: 4, callerId: 'c1' },
    });
    const snap = client.snapshot();
    expect(snap.instances.map((i) => i.id)).toEqual(rendezvousOrder('c1', urls).slice(0, 4));
    expect(snap.instances.every((i) => i.subset === 'member')).toBe(true);
    expect(snap.subset).toMatchObject({ mode: 'random', size: 4, callerId: 'c1' });
    expect(snap.subset?.counts).toEqual({ member: 4, grown: 0, standby: 26 });
    await client.close();
  });

  it('leaves the snapshot as it was without subsetting', async () => {
    const client = createClient({ service: 'inventory', discovery: urls });
    const snap = client.snapshot();
    expect(snap.instances).toHaveLength(30);
    expect('subset' in snap).toBe(false);
    await client.close();
  });
});
