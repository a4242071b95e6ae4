// The checker hands a load check's figures to the balancer (`reportLoad`), where weighted round
// robin reads them.

import { createBalancer, type LoadReport, seededRandom } from '@picket/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { allChecks } from './all-checks.ts';
import type { CheckResult, HealthCheck } from './check.ts';
import { createHealthChecker, type HealthChecker } from './scheduler.ts';

const urls = ['http://127.0.0.1:8001', 'http://127.0.0.1:8002'];

function checkReporting(
  loads: Record<string, LoadReport | undefined>,
  layer: 'load' | 'l4' = 'load',
): HealthCheck {
  return {
    layer,
    run: async (instance): Promise<CheckResult> => {
      const result: CheckResult = { ok: true, layer, reason: `${layer}: up`, latencyMs: 1 };
      const load = loads[instance.id];
      if (load !== undefined) result.load = load;
      return result;
    },
  };
}

let checker: HealthChecker | undefined;
afterEach(async () => {
  await checker?.close();
  checker = undefined;
});

describe('load reports from active checks', () => {
  it('reports each result’s load to the balancer, for the instance checked', async () => {
    const balancer = createBalancer({ strategy: 'weighted-round-robin', random: seededRandom(1) });
    balancer.update(urls);
    const reportLoad = vi.spyOn(balancer, 'reportLoad');
    const loads = {
      [urls[0]!]: { cpuUtilization: 0.25, applicationUtilization: 0.5 },
      [urls[1]!]: undefined,
    };
    checker = createHealthChecker(balancer, { check: checkReporting(loads), interval: 60_000 });
    checker.start();
    await vi.waitFor(() => expect(checker!.snapshot().every((s) => s.state === 'healthy')).toBe(true));
    expect(reportLoad).toHaveBeenCalledTimes(1);
    expect(reportLoad).toHaveBeenCalledWith(urls[0], { cpuUtilization: 0.25, applicationUtilization: 0.5 });
  });

  it('passes the load on through allChecks', async () => {
    const balancer = createBalancer({ strategy: 'weighted-round-robin', random: seededRandom(1) });
    balancer.update(urls.slice(0, 1));
    const reportLoad = vi.spyOn(balancer, 'reportLoad');
    const check = allChecks([
      checkReporting({}, 'l4'),
      checkReporting({ [urls[0]!]: { cpuUtilization: 0.75 } }),
    ]);
    checker = createHealthChecker(balancer, { check, interval: 60_000 });
    checker.start();
    await vi.waitFor(() => expect(reportLoad).toHaveBeenCalledWith(urls[0], { cpuUtilization: 0.75 }));
  });
});
