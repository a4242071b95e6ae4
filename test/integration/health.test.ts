// Active health checks (@picket/health) through the umbrella createClient (@picket/http), against
// three node:http instances on loopback with traffic flowing: an instance whose /health fails
// leaves within about unhealthyThreshold × interval and returns after about healthyThreshold ×
// interval; allChecks names the failing layer; a load report saying `drain` takes an instance out
// with no failed request; and a fleet whose checks all fail at once still serves (panic).

import {
  allChecks,
  type Client,
  createClient,
  type HealthCheck,
  httpCheck,
  type InstanceState,
  loadCheck,
  loadReporter,
  tcpCheck,
} from 'picket';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../servers/wait.ts';
import {
  type Backend,
  Closer,
  describeErrors,
  nextClientEvent,
  startBackend,
  startTraffic,
  type Traffic,
} from './support.ts';

const INTERVAL = 200;
const HEALTHY_THRESHOLD = 2;
const UNHEALTHY_THRESHOLD = 3;
// The machine has 2 shared cores: timers and checks run late under load, never early.
const SLACK = 1000;
const WORKERS = 2;

const closer = new Closer();
afterEach(() => closer.closeAll());

async function fleet(withReporter = false): Promise<Backend[]> {
  return Promise.all(
    ['a', 'b', 'c'].map((name) =>
      startBackend({ name, ...(withReporter ? { reporter: loadReporter({ sampleIntervalMs: 200 }) } : {}) }),
    ),
  ).then((backends) => backends.map((b) => closer.track(b)));
}

function clientFor(backends: readonly Backend[], check: HealthCheck): Client {
  return closer.track(
    createClient({
      service: 'inventory',
      discovery: backends.map((b) => b.url),
      health: {
        check,
        interval: INTERVAL,
        healthyThreshold: HEALTHY_THRESHOLD,
        unhealthyThreshold: UNHEALTHY_THRESHOLD,
      },
    }),
  );
}

function stateOf(client: Client, backend: Backend): InstanceState | undefined {
  return client.snapshot().instances.find((i) => i.url === backend.url)?.state;
}

async function allHealthy(client: Client, backends: readonly Backend[]): Promise<void> {
  await waitFor(() => backends.every((b) => stateOf(client, b) === 'healthy'), {
    message: 'instances did not all become healthy',
  });
}

/** Traffic with every instance serving before the test changes anything. */
async function flowing(client: Client, backends: readonly Backend[]): Promise<Traffic> {
  const traffic = startTraffic(client, { workers: WORKERS });
  closer.track({ close: () => traffic.stop() });
  await traffic.more(90);
  await waitFor(() => backends.every((b) => b.requests > 0), { message: 'not every instance got traffic' });
  return traffic;
}

const stateEvent = (client: Client, backend: Backend, to: InstanceState) =>
  nextClientEvent(client, 'instance-state', (e) => e.instance.url === backend.url && e.to === to);

async function noFailures(traffic: Traffic): Promise<void> {
  await traffic.stop();
  expect(traffic.failed, describeErrors(traffic.errors)).toBe(0);
}

describe('active health checks through createClient', () => {
  it('takes an instance whose /health turns 503 out within about unhealthyThreshold × interval, and brings it back after about healthyThreshold × interval', async () => {
    const backends = await fleet();
    const client = clientFor(backends, httpCheck({ path: '/health' }));
    await client.ready();
    await allHealthy(client, backends);
    const traffic = await flowing(client, backends);
    const sick = backends[1] as Backend;

    const out = stateEvent(client, sick, 'unhealthy');
    const failedAt = performance.now();
    sick.health = 503;
    const wentOut = await out;
    const servedWhenOut = sick.requests;
    await traffic.more(150);
    // Only requests already sent when the verdict changed may still arrive.
    expect(sick.requests - servedWhenOut).toBeLessThanOrEqual(WORKERS);
    const stoppedAfter = sick.lastRequestAt - failedAt;
    expect(stoppedAfter).toBeLessThanOrEqual(UNHEALTHY_THRESHOLD * INTERVAL + SLACK);
    // Hysteresis: not on the first failed check, but after three, two intervals (less jitter) apart.
    expect(wentOut.at - failedAt).toBeGreaterThanOrEqual((UNHEALTHY_THRESHOLD - 1) * INTERVAL * 0.75);
    expect(wentOut.reason).toMatch(/^active: l7: status 503 .*\(3 consecutive failures\)$/);
    for (const other of [backends[0], backends[2]] as Backend[]) {
      expect(stateOf(client, other)).toBe('healthy');
    }

    const back = stateEvent(client, sick, 'healthy');
    const recoveredAt = performance.now();
    sick.health = 200;
    const cameBack = await back;
    const firstAgain = await waitFor(() => sick.firstRequestAfter(recoveredAt), {
      message: 'the recovered instance got no traffic',
    });
    expect(firstAgain - recoveredAt).toBeLessThanOrEqual(HEALTHY_THRESHOLD * INTERVAL + SLACK);
    expect(cameBack.at - recoveredAt).toBeGreaterThanOrEqual((HEALTHY_THRESHOLD - 1) * INTERVAL * 0.75);
    const servedWhenBack = sick.requests;
    await traffic.more(150);
    expect(sick.requests - servedWhenBack).toBeGreaterThan(10);
    await noFailures(traffic);
  });

  it('allChecks([tcpCheck(), httpCheck()]) names the failing layer in snapshot() and instance-state events', async () => {
    const backends = await fleet();
    const client = clientFor(backends, allChecks([tcpCheck(), httpCheck({ path: '/health' })]));
    await client.ready();
    await allHealthy(client, backends);
    const traffic = await flowing(client, backends);
    const [, l7Failing, l4Failing] = backends as [Backend, Backend, Backend];
    const healthOf = (backend: Backend) =>
      (
        client.snapshot().health as {
          url: string;
          lastChecks: Record<string, { ok: boolean; reason: string }>;
        }[]
      ).find((h) => h.url === backend.url)?.lastChecks;

    // The port accepts, the service does not work: L4 passes, L7 fails and is named.
    const l7Out = stateEvent(client, l7Failing, 'unhealthy');
    l7Failing.health = 503;
    expect((await l7Out).reason).toMatch(/^active: l7: status 503 from \/health/);
    const l7View = healthOf(l7Failing);
    expect(l7View?.l4).toMatchObject({ ok: true, reason: expect.stringMatching(/^l4: connected to /) });
    expect(l7View?.l7).toMatchObject({ ok: false, reason: expect.stringMatching(/^l7: status 503 /) });
    const l7Back = stateEvent(client, l7Failing, 'healthy');
    l7Failing.health = 200;
    await l7Back;

    // The port stops accepting: L4 fails first, and L7 is not tried.
    const l4Out = stateEvent(client, l4Failing, 'unhealthy');
    await l4Failing.stopListening();
    expect((await l4Out).reason).toMatch(/^active: l4: .*connecting to 127\.0\.0\.1:\d+/);
    const l4View = healthOf(l4Failing);
    expect(l4View?.l4).toMatchObject({ ok: false, reason: expect.stringMatching(/^l4: /) });
    expect(l4View?.l7?.ok).toBe(true);
    const snapshot = client.snapshot().instances.find((i) => i.url === l4Failing.url);
    expect(snapshot?.health.active?.reason).toMatch(/^l4: /);

    await traffic.more(150);
    await noFailures(traffic);
  });

  it('a load report saying drain takes the instance out at once, with no failed request before it shuts down', async () => {
    const backends = await fleet(true);
    const client = clientFor(backends, loadCheck({ path: '/load' }));
    await client.ready();
    await allHealthy(client, backends);
    const traffic = await flowing(client, backends);
    const leaving = backends[2] as Backend;
    const reporter = leaving.reporter;
    expect(reporter).toBeDefined();

    let failuresAtVerdict: number | undefined;
    const off = client.on('instance-state', (e) => {
      if (e.instance.url !== leaving.url || e.to !== 'unhealthy') return;
      const view = (client.snapshot().health as { url: string; consecutive: { failures: number } }[]).find(
        (h) => h.url === leaving.url,
      );
      failuresAtVerdict = view?.consecutive.failures;
    });
    const out = stateEvent(client, leaving, 'unhealthy');
    const drainedAt = performance.now();
    reporter?.drain();
    const wentOut = await out;
    off();
    // `drain` needs no run of failures: the first report saying it is enough.
    expect(failuresAtVerdict).toBe(1);
    expect(wentOut.reason).toMatch(/^active: load: \/load in .*: status drain$/);
    expect(wentOut.at - drainedAt).toBeLessThanOrEqual(INTERVAL + SLACK);

    // Graceful shutdown: callers have stopped sending, so the instance can go.
    const servedWhenOut = leaving.requests;
    await leaving.close();
    await traffic.more(150);
    expect(leaving.requests - servedWhenOut).toBeLessThanOrEqual(WORKERS);
    await noFailures(traffic);
  });

  it('a fleet whose checks all fail at once still serves: the panic threshold spreads traffic over all', async () => {
    const backends = await fleet();
    const client = clientFor(backends, httpCheck({ path: '/health' }));
    await client.ready();
    await allHealthy(client, backends);
    const traffic = await flowing(client, backends);

    const panic = nextClientEvent(client, 'panic', (e) => e.priority === 0 && e.panic);
    const allOut = Promise.all(backends.map((b) => stateEvent(client, b, 'unhealthy')));
    for (const backend of backends) backend.health = 503;
    await panic;
    await allOut;
    expect(client.snapshot().panic).toEqual([0]);
    const served = backends.map((b) => b.requests);
    // Every instance still takes a share: the servers answer, only their checks fail.
    await waitFor(() => backends.every((b, i) => b.requests - (served[i] as number) > 30), {
      message: 'every instance to keep taking traffic in panic',
    });

    const calm = nextClientEvent(client, 'panic', (e) => e.priority === 0 && !e.panic);
    for (const backend of backends) backend.health = 200;
    await calm;
    await allHealthy(client, backends);
    expect(client.snapshot().panic).toEqual([]);
    await traffic.more(60);
    await noFailures(traffic);
  });
});
