// dns() when one address family fails and the other answers: the answer is used, the failing
// family is reported once per failing streak, and only a failure of every family fails the
// refresh. REFUSED comes from a real dnsmasq (a name outside its local domain, with no upstream);
// SERVFAIL and silence from a stub, since dnsmasq cannot be told to do those per record type.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type DnsmasqServer, dnsmasqTool, startDnsmasq } from '../../../test/servers/dnsmasq.ts';
import { waitFor } from '../../../test/servers/wait.ts';
import { dns } from './dns.ts';
import { type DnsStubServer, startDnsStub } from './dns-stub-server.ts';
import type { Provider, ProviderEvents } from './provider.ts';
import { nextEvent, untilInstances, urls } from './testing.ts';

const tool = dnsmasqTool();
const open: Provider[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((p) => p.close()));
});

/** Starts a provider and records its discovery errors. */
function started(options: Parameters<typeof dns>[0]) {
  const p = dns(options);
  open.push(p);
  const errors: ProviderEvents['discovery-error'][] = [];
  p.on('discovery-error', (e) => errors.push(e));
  p.start();
  return { p, errors };
}

const codeOf = (error: unknown) => (error as { cause?: { code?: unknown } }).cause?.code;

/** Waits until the stub has seen `n` more queries of `type`: proof that refreshes happened. */
function queriesMore(stub: DnsStubServer, type: 'A' | 'AAAA', n: number): Promise<boolean> {
  const target = (stub.queries[type] ?? 0) + n;
  return waitFor(() => (stub.queries[type] ?? 0) >= target, {
    timeoutMs: 10_000,
    message: `${n} more ${type} queries`,
  });
}

// Outside dnsmasq's local domain: it answers A from its hosts file and has no upstream for AAAA.
const V4_ONLY = 'v4only.elsewhere.test';

describe.skipIf(!tool.available)('dns when one family is REFUSED (dnsmasq)', () => {
  let server: DnsmasqServer;
  beforeAll(async () => {
    server = await startDnsmasq({
      hosts: { [V4_ONLY]: ['127.0.4.1'] },
      srv: [{ name: '_http._tcp.half.picket.test', target: V4_ONLY, port: 9100, priority: 0, weight: 1 }],
    });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('uses the A records when AAAA is refused, and reports AAAA once per failing streak', async () => {
    await server.setHosts({ [V4_ONLY]: ['127.0.4.1'] });
    const { p, errors } = started({ hostname: V4_ONLY, port: 80, servers: [server.server], refreshMs: 100 });
    expect(urls(await untilInstances(p, (l) => l.length > 0, 10_000))).toEqual(['http://127.0.4.1:80']);
    expect(errors).toHaveLength(1);
    const [{ error }] = errors as [ProviderEvents['discovery-error']];
    expect(error.code).toBe('PICKET_DISCOVERY_FAILED');
    expect(error.message).toBe(
      `dns:${V4_ONLY}:80: AAAA query for ${V4_ONLY} failed; using its A records only: queryAaaa EREFUSED ${V4_ONLY}`,
    );
    expect(error.details).toEqual({ provider: `dns:${V4_ONLY}:80`, hostname: V4_ONLY, family: 6 });
    expect(codeOf(error)).toBe('EREFUSED');
    expect(p.lastError()).toBeUndefined();

    // Later refreshes (one of them brings a new A record) report nothing new while AAAA still fails.
    await server.setHosts({ [V4_ONLY]: ['127.0.4.1', '127.0.4.2'] });
    await untilInstances(p, (l) => l.length === 2, 10_000);
    expect(errors).toHaveLength(1);

    // AAAA answers again, then fails again: a new streak, reported again.
    await server.setHosts({ [V4_ONLY]: ['127.0.4.1', '::1'] });
    await untilInstances(p, (l) => urls(l).includes('http://[::1]:80'), 10_000);
    const again = nextEvent(p, 'discovery-error', () => true, 10_000);
    await server.setHosts({ [V4_ONLY]: ['127.0.4.1'] });
    expect((await again).error.details.family).toBe(6);
    expect(urls(await untilInstances(p, (l) => l.length === 1, 10_000))).toEqual(['http://127.0.4.1:80']);
    expect(errors).toHaveLength(2);
  });

  it('fails the refresh only when every family fails, naming both', async () => {
    const { p, errors } = started({ hostname: 'nothing.elsewhere.test', port: 80, servers: [server.server] });
    await nextEvent(p, 'discovery-error', () => true, 10_000);
    expect(errors[0]?.error.message).toContain('queryA EREFUSED nothing.elsewhere.test');
    expect(errors[0]?.error.message).toContain('queryAaaa EREFUSED nothing.elsewhere.test');
    expect(p.current()).toBeUndefined();
  });

  it('treats a name with no AAAA records (NODATA) as an answer, not a failure', async () => {
    await server.setHosts({ 'v4.picket.test': ['127.0.4.11'] });
    const { p, errors } = started({
      hostname: 'v4.picket.test',
      port: 80,
      servers: [server.server],
      refreshMs: 100,
    });
    await untilInstances(p, (l) => l.length === 1, 10_000);
    await server.setHosts({ 'v4.picket.test': ['127.0.4.11', '127.0.4.12'] });
    await untilInstances(p, (l) => l.length === 2, 10_000);
    expect(errors).toEqual([]);
  });

  it('uses the A records of an SRV target whose AAAA is refused', async () => {
    await server.setHosts({ [V4_ONLY]: ['127.0.4.1'] });
    const { p, errors } = started({
      srv: '_http._tcp.half.picket.test',
      servers: [server.server],
      refreshMs: 100,
    });
    expect(urls(await untilInstances(p, (l) => l.length > 0, 10_000))).toEqual(['http://127.0.4.1:9100']);
    expect(errors.map((e) => e.error.message)).toEqual([
      `dns-srv:_http._tcp.half.picket.test: AAAA query for ${V4_ONLY} failed; using its A records only: queryAaaa EREFUSED ${V4_ONLY}`,
    ]);
    await server.setHosts({ [V4_ONLY]: ['127.0.4.1', '127.0.4.3'] });
    await untilInstances(p, (l) => l.length === 2, 10_000);
    expect(errors).toHaveLength(1);
  });
});

describe('dns when one family gets SERVFAIL or no answer (stub server)', () => {
  let stub: DnsStubServer;
  beforeAll(async () => {
    stub = await startDnsStub({});
  });
  afterAll(async () => {
    await stub?.close();
  });

  it('uses the A records when AAAA gets SERVFAIL, reporting it once until AAAA answers again', async () => {
    stub.answers = { A: ['127.0.5.1'], AAAA: 'servfail' };
    const { p, errors } = started({
      hostname: 'svc.stub.test',
      port: 80,
      servers: [stub.server],
      refreshMs: 50,
    });
    expect(urls(await untilInstances(p, (l) => l.length > 0, 10_000))).toEqual(['http://127.0.5.1:80']);
    await queriesMore(stub, 'AAAA', 5);
    expect(errors.map((e) => codeOf(e.error))).toEqual(['ESERVFAIL']);

    stub.answers.AAAA = ['::1'];
    await untilInstances(p, (l) => l.length === 2, 10_000);
    stub.answers.AAAA = 'servfail';
    await untilInstances(p, (l) => l.length === 1, 10_000);
    await queriesMore(stub, 'AAAA', 5);
    expect(errors.map((e) => codeOf(e.error))).toEqual(['ESERVFAIL', 'ESERVFAIL']);
    expect(p.lastError()).toBeUndefined();
  });

  it('uses the A records when AAAA is never answered, after the query times out', async () => {
    stub.answers = { A: ['127.0.5.2'], AAAA: 'drop' };
    const { p, errors } = started({
      hostname: 'svc.stub.test',
      port: 80,
      servers: [stub.server],
      refreshMs: 50,
      timeoutMs: 100,
      tries: 1,
    });
    expect(urls(await untilInstances(p, (l) => l.length > 0, 10_000))).toEqual(['http://127.0.5.2:80']);
    await queriesMore(stub, 'AAAA', 3);
    expect(errors.map((e) => codeOf(e.error))).toEqual(['ETIMEOUT']);
  });

  it('uses the AAAA records when A fails, reporting family 4', async () => {
    stub.answers = { A: 'servfail', AAAA: ['::1'] };
    const { p, errors } = started({
      hostname: 'svc.stub.test',
      port: 80,
      servers: [stub.server],
      refreshMs: 50,
    });
    expect(urls(await untilInstances(p, (l) => l.length > 0, 10_000))).toEqual(['http://[::1]:80']);
    expect(errors.map((e) => e.error.details.family)).toEqual([4]);
    expect(errors[0]?.error.message).toContain(
      'A query for svc.stub.test failed; using its AAAA records only',
    );
  });

  it('fails every refresh when the one family asked for fails', async () => {
    stub.answers = { A: ['127.0.5.3'], AAAA: 'servfail' };
    const { p, errors } = started({
      hostname: 'svc.stub.test',
      port: 80,
      servers: [stub.server],
      family: 6,
      backoff: { initialMs: 20, maxMs: 20 },
    });
    await queriesMore(stub, 'AAAA', 6);
    expect(errors.length).toBeGreaterThanOrEqual(2);
    expect(p.current()).toBeUndefined();
  });
});
