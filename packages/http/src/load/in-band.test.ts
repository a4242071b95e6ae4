import { createBalancer } from '@picket/core';
import { toInstances } from '@picket/core/internal';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ASK_INTERVAL_MS, InBandLoad, RECHECK_MS } from './in-band.ts';

afterEach(() => vi.useRealTimers());

function setUp() {
  vi.useFakeTimers();
  const balancer = createBalancer({ strategy: 'round-robin' });
  const [instance] = toInstances(['http://127.0.0.1:1']);
  balancer.update([instance!]);
  const load = new InBandLoad(balancer, { applicationUtilization: 0.9 });
  const state = () => balancer.snapshot().instances[0]?.state;
  return { balancer, instance: instance!, load, state };
}

describe('InBandLoad', () => {
  it('takes an instance out on a report over a limit and back on one under it', () => {
    const { load, instance, state, balancer } = setUp();
    load.observe(instance, { 'endpoint-load-metrics': 'TEXT application_utilization=0.95' }, 0);
    expect(state()).toBe('unhealthy');
    load.observe(instance, { 'endpoint-load-metrics': 'TEXT application_utilization=0.5' }, 0);
    expect(state()).toBe('healthy');
    load.close();
    balancer.close();
  });

  it('lets an instance out for its report back after RECHECK_MS, so that it can report again', () => {
    const { load, instance, state, balancer } = setUp();
    load.observe(instance, { 'endpoint-load-metrics': 'TEXT application_utilization=0.95' }, 0);
    vi.advanceTimersByTime(RECHECK_MS - 1);
    expect(state()).toBe('unhealthy');
    vi.advanceTimersByTime(1);
    expect(state()).toBe('healthy');
    load.close();
    balancer.close();
  });

  it('reads a text an instance repeats once, and still reports it (and counts it if unreadable) on every response', () => {
    const balancer = createBalancer({ strategy: 'round-robin' });
    const reported: Array<{ id: string; report: object }> = [];
    const sink = balancer as unknown as { reportLoad(id: string, report: object): void };
    vi.spyOn(sink, 'reportLoad').mockImplementation((id, report) => reported.push({ id, report }));
    const load = new InBandLoad(balancer, undefined);
    const [a, b] = toInstances(['http://127.0.0.1:1', 'http://127.0.0.1:2']);
    const text = { 'endpoint-load-metrics': 'TEXT application_utilization=0.5, rps_fractional=10' };
    load.observe(a!, text, 0);
    load.observe(a!, { ...text }, 0);
    load.observe(b!, text, 0);
    load.observe(a!, { 'endpoint-load-metrics': 'TEXT application_utilization=0.7, rps_fractional=10' }, 0);
    expect(reported.map((r) => r.id)).toEqual([a!.id, a!.id, b!.id, a!.id]);
    // The repeated text was not parsed again: the same report, not an equal one.
    expect(reported[1]!.report).toBe(reported[0]!.report);
    expect(reported[3]!.report).toMatchObject({ applicationUtilization: 0.7, rps: 10 });
    expect(load.reports).toBe(4);
    const bad = { 'endpoint-load-metrics': 'TEXT application_utilization=lots' };
    load.observe(a!, bad, 0);
    load.observe(a!, bad, 0);
    expect(load.malformed).toBe(2);
    expect(load.reports).toBe(4);
    // A report in another header is read too.
    load.observe(a!, { 'endpoint-load-metrics-json': '{"application_utilization":0.2}' }, 0);
    expect(reported[4]!.report).toMatchObject({ applicationUtilization: 0.2 });
    load.close();
    balancer.close();
  });

  it('counts a report it cannot read, and changes nothing', () => {
    const { load, instance, state, balancer } = setUp();
    load.observe(instance, { 'endpoint-load-metrics': 'TEXT application_utilization=lots' }, 0);
    expect(load.malformed).toBe(1);
    expect(state()).toBe('healthy');
    load.observe(instance, {}, 0);
    expect(load.reports).toBe(0);
    load.close();
    balancer.close();
  });

  it('asks each instance at most once per interval, counting a report received as an answered ask', () => {
    const balancer = createBalancer({ strategy: 'round-robin' });
    const load = new InBandLoad(balancer, undefined);
    const [a, b] = toInstances(['http://127.0.0.1:1', 'http://127.0.0.1:2']);
    expect(load.ask(a!, 100)).toBe(true);
    expect(load.ask(b!, 150)).toBe(true);
    expect(load.ask(a!, 100 + ASK_INTERVAL_MS - 1)).toBe(false);
    expect(load.ask(a!, 100 + ASK_INTERVAL_MS)).toBe(true);
    expect(load.ask(a!, 100 + ASK_INTERVAL_MS + 1)).toBe(false);
    // A report b sent unasked, at 900, puts its next ask an interval after it.
    load.observe(b!, { 'endpoint-load-metrics': 'TEXT application_utilization=0.5' }, 900);
    expect(load.ask(b!, 150 + ASK_INTERVAL_MS)).toBe(false);
    expect(load.ask(b!, 900 + ASK_INTERVAL_MS)).toBe(true);
    load.close();
    balancer.close();
  });

  it('asks on every attempt with an interval of 0', () => {
    const balancer = createBalancer({ strategy: 'round-robin' });
    const load = new InBandLoad(balancer, undefined, 0);
    const [a] = toInstances(['http://127.0.0.1:1']);
    expect([load.ask(a!, 5), load.ask(a!, 5), load.ask(a!, 6)]).toEqual([true, true, true]);
    load.close();
    balancer.close();
  });

  it('asks an instance taken out for its report again on its next attempt, within the interval', () => {
    const { load, instance, balancer } = setUp();
    expect(load.ask(instance, 0)).toBe(true);
    load.observe(instance, { 'endpoint-load-metrics': 'TEXT application_utilization=0.95' }, 10);
    vi.advanceTimersByTime(RECHECK_MS);
    expect(load.ask(instance, 20)).toBe(true);
    expect(load.ask(instance, 30)).toBe(false);
    load.close();
    balancer.close();
  });
});
