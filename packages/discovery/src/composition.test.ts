import type { Instance } from '@picket/core';
import { PicketError } from '@picket/core';
import { describe, expect, it, vi } from 'vitest';
import { createProvider, type ProviderContext } from './base.ts';
import { filter } from './filter.ts';
import { merge } from './merge.ts';
import { staticList } from './static-list.ts';
import { urls } from './testing.ts';
import { where } from './where.ts';

function manual(name: string) {
  let ctx: ProviderContext | undefined;
  const closed = vi.fn();
  const provider = createProvider({
    name,
    run(c) {
      ctx = c;
      c.onClose(closed);
    },
  });
  return { provider, closed, ctx: () => ctx! };
}

describe('merge', () => {
  it('publishes the union as soon as any member has a snapshot, and follows each member', async () => {
    const a = manual('a');
    const b = manual('b');
    const m = merge(a.provider, b.provider);
    const snapshots: string[][] = [];
    m.on('snapshot', (e) => snapshots.push(urls(e.instances)));
    m.start();
    expect(m.current()).toBeUndefined();
    a.ctx().publish(['http://10.0.0.1:80']);
    b.ctx().publish(['http://10.0.0.2:80', 'http://10.0.0.3:80']);
    a.ctx().publish([]);
    expect(snapshots).toEqual([
      ['http://10.0.0.1:80'],
      ['http://10.0.0.1:80', 'http://10.0.0.2:80', 'http://10.0.0.3:80'],
      ['http://10.0.0.2:80', 'http://10.0.0.3:80'],
    ]);
    expect(m.name).toBe('merge(a, b)');
    await m.close();
  });

  it("keeps a failing member's last snapshot, passes its error on, and reports repeated ids", async () => {
    const a = manual('a');
    const b = manual('b');
    const m = merge(a.provider, b.provider);
    const errors = vi.fn();
    const invalid = vi.fn();
    m.on('discovery-error', errors);
    m.on('invalid-record', invalid);
    m.start();
    a.ctx().publish(['http://10.0.0.1:80']);
    b.ctx().publish(['http://10.0.0.1:80', 'http://10.0.0.2:80', 'bad']);
    expect(urls(m.current())).toEqual(['http://10.0.0.1:80', 'http://10.0.0.2:80']);
    expect(invalid).toHaveBeenCalledTimes(2);
    expect(invalid.mock.calls.map(([e]) => e.provider)).toEqual(['b', 'merge(a, b)']);
    const error = b.ctx().fail(new Error('down'));
    expect(errors).toHaveBeenCalledWith({ error, provider: 'b' });
    expect(m.lastError()).toBe(error);
    a.ctx().publish(['http://10.0.0.9:80']);
    // b's copy of 10.0.0.1 counts now that a no longer has it.
    expect(urls(m.current())).toEqual(['http://10.0.0.1:80', 'http://10.0.0.2:80', 'http://10.0.0.9:80']);
    // b is still failing, whatever a does.
    expect(m.lastError()).toBe(error);
    await m.close();
  });

  it('starts and closes its members', async () => {
    const a = manual('a');
    const s = staticList(['http://10.0.0.5:80']);
    const m = merge(a.provider, s);
    m.start();
    expect(urls(m.current())).toEqual(['http://10.0.0.5:80']);
    await m.close();
    expect(a.closed).toHaveBeenCalledTimes(1);
  });

  it('rejects no providers or a non-provider', () => {
    expect(() => merge()).toThrow(/one or more providers/);
    expect(() => merge(['http://a:1'] as never)).toThrow(/one or more providers/);
  });
});

describe('filter and where', () => {
  const records = [
    { url: 'http://10.0.0.1:80', zone: 'eu-1', metadata: { canary: false, version: '2' } },
    { url: 'http://10.0.0.2:80', zone: 'eu-2', metadata: { canary: true, version: '2' } },
    { url: 'http://10.0.0.3:80', zone: 'eu-1', metadata: { canary: true, version: '1' } },
    { url: 'http://10.0.0.4:80' },
  ];

  it('selects by zone and by metadata values', async () => {
    const pick = (selector: Parameters<typeof where>[0]) => {
      const f = filter(staticList(records), where(selector));
      f.start();
      return urls(f.current());
    };
    expect(pick({ zone: 'eu-1' })).toEqual(['http://10.0.0.1:80', 'http://10.0.0.3:80']);
    expect(pick({ zone: ['eu-1', 'eu-2'], metadata: { canary: true } })).toEqual([
      'http://10.0.0.2:80',
      'http://10.0.0.3:80',
    ]);
    expect(pick({ metadata: { version: ['1', '3'] } })).toEqual(['http://10.0.0.3:80']);
    expect(pick({})).toHaveLength(4);
  });

  it('follows the inner provider and passes its failures on', async () => {
    const inner = manual('inner');
    const f = filter(inner.provider, (i: Instance) => i.port === 80);
    const errors = vi.fn();
    f.on('discovery-error', errors);
    f.start();
    inner.ctx().publish(['http://10.0.0.1:80', 'http://10.0.0.2:81']);
    expect(urls(f.current())).toEqual(['http://10.0.0.1:80']);
    const error = inner.ctx().fail(new Error('down'));
    expect(errors).toHaveBeenCalledWith({ error, provider: 'inner' });
    expect(f.lastError()).toBe(error);
    expect(urls(f.current())).toEqual(['http://10.0.0.1:80']);
    await f.close();
    expect(inner.closed).toHaveBeenCalled();
  });

  it('reports a throwing predicate and keeps the last snapshot', async () => {
    const inner = manual('inner');
    let explode = false;
    const f = filter(inner.provider, () => {
      if (explode) throw new Error('predicate bug');
      return true;
    });
    const errors = vi.fn();
    f.on('discovery-error', errors);
    f.start();
    inner.ctx().publish(['http://10.0.0.1:80']);
    explode = true;
    inner.ctx().publish(['http://10.0.0.2:80']);
    expect(urls(f.current())).toEqual(['http://10.0.0.1:80']);
    expect(errors.mock.calls[0]?.[0].error).toBeInstanceOf(PicketError);
    expect(errors.mock.calls[0]?.[0].error.message).toContain('predicate bug');
    await f.close();
  });

  it('rejects a bad selector naming the field', () => {
    expect(() => where({ zone: 5 as never })).toThrow(/`zone`/);
    expect(() => where({ metadata: { a: { nested: 1 } as never } })).toThrow(/`metadata.a`/);
    expect(() => where({ region: 'x' } as never)).toThrow(/unknown option `region`/);
  });
});
