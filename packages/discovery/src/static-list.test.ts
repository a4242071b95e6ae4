import { isPicketError } from '@picket/core';
import { describe, expect, it, vi } from 'vitest';
import { staticList } from './static-list.ts';

describe('staticList', () => {
  it('publishes its records on start, and not before', async () => {
    const p = staticList(['http://127.0.0.1:8001', { host: '127.0.0.1', port: 8002, zone: 'a' }]);
    const snapshots = vi.fn();
    p.on('snapshot', snapshots);
    expect(p.current()).toBeUndefined();
    p.start();
    expect(snapshots).toHaveBeenCalledTimes(1);
    expect(p.current()?.map((i) => i.url)).toEqual(['http://127.0.0.1:8001', 'http://127.0.0.1:8002']);
    expect(p.lastError()).toBeUndefined();
    await p.close();
  });

  it('rejects an invalid record at once, naming its index', () => {
    try {
      staticList(['http://127.0.0.1:8001', 'mailto:x@y']);
      expect.unreachable();
    } catch (error) {
      expect(isPicketError(error, 'PICKET_INVALID_INSTANCE')).toBe(true);
      expect((error as Error).message).toContain('index 1');
    }
    expect(() => staticList('http://a:1' as never)).toThrow(/expected an array/);
  });

  it('rejects a record whose metadata holds a BigInt, naming the field (it threw an untyped TypeError on set())', async () => {
    const record = { url: 'http://127.0.0.1:8001', metadata: { n: 1n } };
    expect(() => staticList([record])).toThrow(
      'Invalid instance record at index 0: `metadata.n` must be JSON data, not a BigInt, got 1n',
    );
    const list = staticList(['http://127.0.0.1:8001']);
    try {
      expect(() => list.set([record])).toThrow(/`metadata\.n` must be JSON data/);
    } finally {
      await list.close();
    }
  });

  it('set() replaces the list and publishes it', async () => {
    const p = staticList(['http://127.0.0.1:8001']);
    p.start();
    p.set(['http://127.0.0.1:8002']);
    expect(p.current()?.map((i) => i.url)).toEqual(['http://127.0.0.1:8002']);
    await p.close();
    p.set(['http://127.0.0.1:8003']);
    expect(p.current()?.map((i) => i.url)).toEqual(['http://127.0.0.1:8002']);
  });
});
