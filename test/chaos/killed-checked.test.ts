// The claim behind kill-hang's "no request goes to the dead instance after …": with active
// checks, no attempt is sent to a killed instance once a check has found it down. Attempts are
// seen on Picket's `picket:attempt:start` channel, the check's verdict on `instance-state`.

import diagnostics from 'node:diagnostics_channel';
import { createClient, httpCheck } from 'picket';
import { afterAll, describe, expect, it } from 'vitest';
import { type InstanceProcess, spawnInstances } from '../fixtures/instances.ts';
import { waitFor } from '../servers/wait.ts';

let instances: InstanceProcess[] = [];
afterAll(async () => {
  await Promise.all(instances.map((i) => i.close()));
});

describe('a killed instance under active checks', () => {
  it('gets no attempt after the check that found it down', async () => {
    instances = await spawnInstances(3);
    const victim = instances[0]!;
    const client = createClient({
      service: 'inventory',
      discovery: instances.map((i) => i.url),
      strategy: 'round-robin',
      // Only the active checks take it out here: no breaker or ejection gets there first.
      breaker: false,
      outlierDetection: false,
      health: { check: httpCheck({ path: '/health' }), interval: 100, timeout: 200, unhealthyThreshold: 1 },
    });
    const attempts: Array<{ instance: string; at: number }> = [];
    const onAttempt = (m: unknown) =>
      attempts.push({ instance: (m as { instance: string }).instance, at: performance.now() });
    diagnostics.subscribe('picket:attempt:start', onAttempt);
    let downAt: number | undefined;
    client.on('instance-state', (e) => {
      if (e.instance.url === victim.url && e.to === 'unhealthy' && /active/.test(e.reason))
        downAt ??= performance.now();
    });
    let running = true;
    const load = (async () => {
      while (running) {
        const res = await client.request({ path: '/work' }).catch(() => undefined);
        await res?.body.dump();
      }
    })();
    try {
      await waitFor(() => attempts.some((a) => a.instance === victim.url), {
        timeoutMs: 10_000,
        message: 'traffic on the victim',
      });
      victim.signal('SIGKILL');
      await waitFor(() => downAt !== undefined, { timeoutMs: 10_000, message: 'a check to find it down' });
      // Traffic goes on for a while after the verdict: a request sent to the victim would show.
      const after = attempts.length;
      await waitFor(() => attempts.length > after + 200, { timeoutMs: 20_000, message: '200 more attempts' });
    } finally {
      running = false;
      await load;
      diagnostics.unsubscribe('picket:attempt:start', onAttempt);
      await client.close();
    }
    const late = attempts.filter((a) => a.instance === victim.url && a.at > downAt!);
    expect(late).toEqual([]);
    expect(attempts.filter((a) => a.instance === victim.url).length).toBeGreaterThan(0);
  });
});
