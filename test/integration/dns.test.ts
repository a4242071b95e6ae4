// DNS discovery (@picket/discovery's dns()) through createClient, against a real dnsmasq on a
// loopback port and node:http instances on 127.0.0.2, .3 and .4 (all of 127/8 is loopback on
// Linux), one port for all as a DNS name implies. What DNS round robin gets wrong, Picket must
// not: the load spreads evenly over every A record, a changed record set is followed, an address
// that is listed but dead costs no failed request, and losing the DNS server loses nothing.

import { connect } from 'node:net';
import { type Client, createClient, dns } from 'picket';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type DnsmasqServer, dnsmasqTool, startDnsmasq } from '../servers/dnsmasq.ts';
import { freePort } from '../servers/ports.ts';
import { waitFor } from '../servers/wait.ts';
import {
  type Backend,
  Closer,
  describeErrors,
  instanceUrls,
  nextClientEvent,
  startBackend,
  startTraffic,
} from './support.ts';

const tool = dnsmasqTool();
const NAME = 'inventory.picket.test';
// dnsmasq answers with TTL 1 s; the provider refreshes no sooner than minTtlMs (1 s).
const TTL_MS = 1000;
const SLACK = 4000;
const LIVE = ['127.0.0.2', '127.0.0.3', '127.0.0.4'] as const;
const SPARE = '127.0.0.6';
/** Listed in DNS, nothing listening. */
const DEAD = '127.0.0.5';

let dnsmasq: DnsmasqServer;
let port: number;
const backends = new Map<string, Backend>();

/** One port free on every address the suite listens on. */
async function listenEverywhere(): Promise<void> {
  for (let attempt = 0; attempt < 20; attempt++) {
    port = await freePort();
    try {
      for (const host of [...LIVE, SPARE]) {
        backends.set(host, await startBackend({ name: host, host, port }));
      }
      return;
    } catch (error) {
      await Promise.all([...backends.values()].map((b) => b.close()));
      backends.clear();
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    }
  }
  throw new Error('no port free on all of 127.0.0.2-6');
}

function refused(host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}

const backend = (host: string) => backends.get(host) as Backend;
const url = (host: string) => `http://${host}:${port}`;

const closer = new Closer();
afterEach(() => closer.closeAll());

function clientFor(options: { strategy?: 'round-robin' } = {}): Client {
  return closer.track(
    createClient({
      service: 'inventory',
      // One quick try per query, so that a dead server is noticed within a refresh.
      discovery: dns({
        hostname: NAME,
        port,
        servers: [dnsmasq.server],
        family: 4,
        timeoutMs: 500,
        tries: 1,
        backoff: { initialMs: 200, maxMs: 1000 },
      }),
      ...options,
    }),
  );
}

/** Counts attempts on `host` that failed and were retried elsewhere. */
function retriesFrom(client: Client, host: string): () => number {
  let n = 0;
  client.on('retry', (e) => {
    if (e.attempt.url === url(host)) n++;
  });
  return () => n;
}

function trafficOn(client: Client) {
  const traffic = startTraffic(client, { workers: 2 });
  closer.track({ close: () => traffic.stop() });
  return traffic;
}

describe.skipIf(!tool.available)('dns() discovery through createClient, against dnsmasq', () => {
  beforeAll(async () => {
    await listenEverywhere();
    dnsmasq = await startDnsmasq({ hosts: { [NAME]: LIVE } });
  });
  afterAll(async () => {
    await dnsmasq?.close();
    await Promise.all([...backends.values()].map((b) => b.close()));
  });

  it('spreads load evenly over every A record', async () => {
    await dnsmasq.setHosts({ [NAME]: LIVE });
    // Round robin shows the spread over the records itself: the default, peak-EWMA, balances on
    // latency, which in-process servers on a loaded 2-core machine make noisy.
    const client = clientFor({ strategy: 'round-robin' });
    await client.ready();
    expect(instanceUrls(client)).toEqual(LIVE.map(url));
    const before = LIVE.map((h) => backend(h).requests);
    const traffic = trafficOn(client);
    await traffic.more(600);
    await traffic.stop();
    expect(traffic.failed, describeErrors(traffic.errors)).toBe(0);
    const served = LIVE.map((h, i) => backend(h).requests - (before[i] as number));
    const total = served.reduce((a, b) => a + b, 0);
    for (const [i, n] of served.entries()) {
      expect(Math.abs(n / total - 1 / 3), `${LIVE[i]} served ${n} of ${total}`).toBeLessThan(0.05);
    }
  });

  it('follows a changed record set within TTL plus a refresh', async () => {
    await dnsmasq.setHosts({ [NAME]: LIVE });
    const client = clientFor();
    await client.ready();
    const traffic = trafficOn(client);
    await traffic.more(60);

    const next = [LIVE[0], LIVE[1], SPARE];
    const changed = nextClientEvent(client, 'instances', (e) =>
      e.instances.some((i) => i.url === url(SPARE)),
    );
    await dnsmasq.setHosts({ [NAME]: next });
    const changedAt = performance.now();
    const event = await changed;
    expect(event.at - changedAt).toBeLessThan(2 * TTL_MS + SLACK);
    expect(event.added.map((i) => i.url)).toEqual([url(SPARE)]);
    expect(event.removed.map((i) => i.url)).toEqual([url(LIVE[2])]);
    expect(instanceUrls(client)).toEqual(next.map(url).sort());

    const gone = backend(LIVE[2]);
    const spare = backend(SPARE);
    const goneServed = gone.requests;
    const spareServed = spare.requests;
    // Peak-EWMA starts a new instance at a pessimistic latency, so its share grows over seconds.
    await waitFor(() => spare.requests - spareServed > 10, { message: 'the new instance to take traffic' });
    await traffic.more(100);
    await traffic.stop();
    // At most the requests already under way when the record went.
    expect(gone.requests - goneServed).toBeLessThanOrEqual(2);
    expect(traffic.failed, describeErrors(traffic.errors)).toBe(0);
  });

  it('an address that is listed but dead costs no failed request: retried elsewhere, then avoided', async () => {
    expect(await refused(DEAD)).toBe(true);
    await dnsmasq.setHosts({ [NAME]: [...LIVE, DEAD] });
    const client = clientFor();
    await client.ready();
    expect(instanceUrls(client)).toContain(url(DEAD));
    const retries = retriesFrom(client, DEAD);
    const traffic = trafficOn(client);
    await traffic.more(600);
    await traffic.stop();
    expect(traffic.failed, describeErrors(traffic.errors)).toBe(0);
    // It was tried, every attempt there was retried on another instance, and peak-EWMA's failure
    // penalty kept it from being tried often.
    const dead = client.snapshot().instances.find((i) => i.url === url(DEAD));
    expect(retries()).toBeGreaterThan(0);
    expect(retries()).toBe(dead?.failures);
    expect(dead?.failures).toBe(dead?.requests);
    expect(retries()).toBeLessThanOrEqual(10);
  });

  it('an address that is listed but dead is ejected by outlier detection, with no failed request', async () => {
    await dnsmasq.setHosts({ [NAME]: [...LIVE, DEAD] });
    // Round robin keeps sending it its turn, so only outlier detection can take it out.
    const client = clientFor({ strategy: 'round-robin' });
    await client.ready();
    const retries = retriesFrom(client, DEAD);
    const ejected = nextClientEvent(client, 'eject', (e) => e.instance.url === url(DEAD));
    const traffic = trafficOn(client);
    const { reason } = await ejected;
    expect(reason).toBe('5 consecutive failures');
    await traffic.more(300);
    await traffic.stop();
    expect(traffic.failed, describeErrors(traffic.errors)).toBe(0);
    // Five attempts, each retried elsewhere, and none after the ejection.
    expect(retries()).toBe(5);
    expect(client.snapshot().instances.find((i) => i.url === url(DEAD))?.state).toBe('ejected');
  });

  it('keeps serving from the last answer when the DNS server goes away', async () => {
    await dnsmasq.setHosts({ [NAME]: LIVE });
    const client = clientFor();
    await client.ready();
    const traffic = trafficOn(client);
    await traffic.more(60);

    const failed = nextClientEvent(client, 'discovery-error');
    await dnsmasq.stop();
    const stoppedAt = performance.now();
    const { error, at } = await failed;
    expect(at - stoppedAt).toBeLessThan(2 * TTL_MS + SLACK);
    expect(error.code).toBe('PICKET_DISCOVERY_FAILED');
    expect(client.snapshot().discovery.lastError).toBe(error.message);
    expect(instanceUrls(client)).toEqual(LIVE.map(url));

    const before = LIVE.map((h) => backend(h).requests);
    await waitFor(() => LIVE.every((h, i) => backend(h).requests - (before[i] as number) > 30), {
      message: 'every listed instance to keep taking traffic',
    });
    expect(instanceUrls(client)).toEqual(LIVE.map(url));

    // And it recovers when the server returns.
    await dnsmasq.start();
    await waitFor(() => client.snapshot().discovery.lastError === undefined, {
      message: 'the dns provider did not recover after dnsmasq returned',
    });
    await traffic.stop();
    expect(traffic.failed, describeErrors(traffic.errors)).toBe(0);
  });
});
