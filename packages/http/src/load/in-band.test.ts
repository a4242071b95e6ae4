import { createBalancer } from '@picket/core';
import { toInstances } from '@picket/core/internal';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { InBandLoad, RECHECK_MS } from './in-band.ts';

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
    load.observe(instance, { 'endpoint-load-metrics': 'TEXT application_utilization=0.95' });
    expect(state()).toBe('unhealthy');
    load.observe(instance, { 'endpoint-load-metrics': 'TEXT application_utilization=0.5' });
    expect(state()).toBe('healthy');
    load.close();
    balancer.close();
  });

  it('lets an instance out for its report back after RECHECK_MS, so that it can report again', () => {
    const { load, instance, state, balancer } = setUp();
    load.observe(instance, { 'endpoint-load-metrics': 'TEXT application_utilization=0.95' });
    vi.advanceTimersByTime(RECHECK_MS - 1);
    expect(state()).toBe('unhealthy');
    vi.advanceTimersByTime(1);
    expect(state()).toBe('healthy');
    load.close();
    balancer.close();
  });

  it('counts a report it cannot read, and changes nothing', () => {
    const { load, instance, state, balancer } = setUp();
    load.observe(instance, { 'endpoint-load-metrics': 'TEXT application_utilization=lots' });
    expect(load.malformed).toBe(1);
    expect(state()).toBe('healthy');
    load.observe(instance, {});
    expect(load.reports).toBe(0);
    load.close();
    balancer.close();
  });
});
