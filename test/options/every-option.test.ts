// One bad value per documented option of every public factory (the README option tables): each
// must throw PICKET_INVALID_OPTIONS whose message names the option's path and the value it got
// (``Invalid client options: `retry.budget.percent` must be a percentage…, got 101``). Beside the
// property tests (test/chaos), which check that throws are typed, this checks each one is there.

import * as core from '@picket/core';
import { describeValue } from '@picket/core/internal';
import * as discovery from '@picket/discovery';
import * as health from '@picket/health';
import { createAgent, createClient } from 'picket';
import { axiosAdapter } from 'picket/axios';
import { dashboard } from 'picket/dashboard';
import { afterAll, describe, expect, it } from 'vitest';

const LOCAL = 'http://127.0.0.1:1';
const client = createClient({ service: 'opts', discovery: [LOCAL] });
const balancer = core.createBalancer();
afterAll(() => client.close());

/** A factory, the valid options its rows change one field of, and how to call it. */
interface Factory {
  base: Record<string, unknown>;
  make: (options: Record<string, unknown>) => unknown;
  /** Rows: the options over `base` (one bad value each), and the path the message must name. */
  rows: ReadonlyArray<readonly [options: Record<string, unknown>, path: string]>;
}

// The connection options every HTTP registry provider and registrar shares.
const HTTP_REGISTRY = [
  [{ tls: { rejectUnauthorized: 'no' } }, 'tls.rejectUnauthorized'],
  [{ connectTimeoutMs: 0 }, 'connectTimeoutMs'],
  [{ requestTimeoutMs: 3e9 }, 'requestTimeoutMs'],
  [{ maxResponseBytes: 0 }, 'maxResponseBytes'],
  [{ backoff: { initialMs: -1 } }, 'backoff.initialMs'],
  [{ backoff: { maxMs: 0 } }, 'backoff.maxMs'],
  [{ backoff: { factor: 0.5 } }, 'backoff.factor'],
] as const;
const LIMITS = [
  [{ maxRecords: 0 }, 'maxRecords'],
  [{ maxRecordBytes: -1 }, 'maxRecordBytes'],
] as const;
const HEALTH = [
  [{ check: {} }, 'check'],
  [{ interval: 0 }, 'interval'],
  [{ unhealthyInterval: -1 }, 'unhealthyInterval'],
  [{ transitionInterval: 3e9 }, 'transitionInterval'],
  [{ timeout: 0 }, 'timeout'],
  [{ healthyThreshold: 0 }, 'healthyThreshold'],
  [{ unhealthyThreshold: 1.5 }, 'unhealthyThreshold'],
  [{ jitter: 1.5 }, 'jitter'],
  [{ concurrency: 0 }, 'concurrency'],
  [{ source: '' }, 'source'],
] as const;
const TLS = [[{ tls: { servername: 5 } }, 'tls.servername']] as const;

const FACTORIES: Record<string, Factory> = {
  createClient: {
    base: { service: 'opts', discovery: [LOCAL] },
    make: (o) => createClient(o as never),
    rows: [
      [{ service: 'no spaces' }, 'service'],
      [{ discovery: 5 }, 'discovery'],
      [{ discovery: ['ftp://x'] }, 'discovery[0]'],
      [{ strategy: 'fastest' }, 'strategy'],
      ...HEALTH.map(
        ([o, path]) => [{ health: { check: health.tcpCheck(), ...o } }, `health.${path}`] as const,
      ),
      [{ health: 5 }, 'health'],
      [{ timeout: 0 }, 'timeout'],
      [{ perTryTimeout: -1 }, 'perTryTimeout'],
      [{ retry: true }, 'retry'],
      [{ retry: { retries: -1 } }, 'retry.retries'],
      [{ retry: { sameInstance: 101 } }, 'retry.sameInstance'],
      [{ retry: { methods: ['GET POST'] } }, 'retry.methods[0]'],
      [{ retry: { statuses: [200] } }, 'retry.statuses[0]'],
      [{ retry: { rateLimited: 'yes' } }, 'retry.rateLimited'],
      [{ retry: { maxRetryAfterMs: -1 } }, 'retry.maxRetryAfterMs'],
      [{ retry: { backoff: { baseMs: 0 } } }, 'retry.backoff.baseMs'],
      [{ retry: { backoff: { maxMs: 3e9 } } }, 'retry.backoff.maxMs'],
      [{ retry: { budget: { percent: 101 } } }, 'retry.budget.percent'],
      [{ retry: { budget: { minPerSecond: -1 } } }, 'retry.budget.minPerSecond'],
      [{ retry: { budget: { windowMs: 0 } } }, 'retry.budget.windowMs'],
      [{ hedge: { delayMs: 0 } }, 'hedge.delayMs'],
      [{ hedge: { delayMs: 'p95', maxHedges: 0 } }, 'hedge.maxHedges'],
      [{ breaker: { errorThresholdPercentage: 101 } }, 'breaker.errorThresholdPercentage'],
      [{ breaker: { volumeThreshold: -1 } }, 'breaker.volumeThreshold'],
      [{ breaker: { resetTimeoutMs: 0 } }, 'breaker.resetTimeoutMs'],
      [{ breaker: { windowMs: 0 } }, 'breaker.windowMs'],
      [{ breaker: { buckets: 0 } }, 'breaker.buckets'],
      [{ pool: { connections: 0 } }, 'pool.connections'],
      [{ pool: { keepAliveTimeout: 0 } }, 'pool.keepAliveTimeout'],
      [{ pool: { pipelining: -1 } }, 'pool.pipelining'],
      [{ pool: { allowH2: 1 } }, 'pool.allowH2'],
      [{ pool: { connectTimeout: 0 } }, 'pool.connectTimeout'],
      [{ pool: { bodyTimeout: -1 } }, 'pool.bodyTimeout'],
      ...TLS,
      [{ tls: { rejectUnauthorized: 'no' } }, 'tls.rejectUnauthorized'],
      [{ limits: { maxRequests: 0 } }, 'limits.maxRequests'],
      [{ limits: { maxPendingPerInstance: 0 } }, 'limits.maxPendingPerInstance'],
      [{ limits: { maxConcurrentRetries: 0 } }, 'limits.maxConcurrentRetries'],
      [{ loadReports: { max: { cpuUtilization: -1 } } }, 'loadReports.max.cpuUtilization'],
      [{ loadReports: { max: { applicationUtilization: -1 } } }, 'loadReports.max.applicationUtilization'],
      [{ loadReports: { max: { eventLoopDelayMs: 0 } } }, 'loadReports.max.eventLoopDelayMs'],
      [{ loadReports: { max: { inFlight: 0 } } }, 'loadReports.max.inFlight'],
      [{ loadReports: { intervalMs: -1 } }, 'loadReports.intervalMs'],
      [{ subset: { size: 0 } }, 'subset.size'],
      [{ metrics: { meterProvider: {} } }, 'metrics.meterProvider'],
      [{ metrics: { perInstance: 1 } }, 'metrics.perInstance'],
      [{ metrics: { attemptDuration: 1 } }, 'metrics.attemptDuration'],
      [{ panicThreshold: 101 }, 'panicThreshold'],
      [{ overprovisioningFactor: 0.5 }, 'overprovisioningFactor'],
      [{ slowStart: { windowMs: 0 } }, 'slowStart.windowMs'],
      [{ slowStart: { windowMs: 1000, aggression: 0 } }, 'slowStart.aggression'],
      [{ slowStart: { windowMs: 1000, minWeightPercent: 101 } }, 'slowStart.minWeightPercent'],
      [{ zone: '' }, 'zone'],
      [{ zone: { local: '' } }, 'zone.local'],
      [{ outlierDetection: { consecutiveFailures: -1 } }, 'outlierDetection.consecutiveFailures'],
      [{ outlierDetection: { intervalMs: 0 } }, 'outlierDetection.intervalMs'],
      [{ outlierDetection: { baseEjectionMs: 0 } }, 'outlierDetection.baseEjectionMs'],
      [{ outlierDetection: { maxEjectionMs: 0 } }, 'outlierDetection.maxEjectionMs'],
      [{ outlierDetection: { maxEjectionPercent: 101 } }, 'outlierDetection.maxEjectionPercent'],
      [{ outlierDetection: { successRate: { stdevFactor: 0 } } }, 'outlierDetection.successRate.stdevFactor'],
      [
        { outlierDetection: { successRate: { minimumHosts: -1 } } },
        'outlierDetection.successRate.minimumHosts',
      ],
      [
        { outlierDetection: { successRate: { requestVolume: 1.5 } } },
        'outlierDetection.successRate.requestVolume',
      ],
      [
        { outlierDetection: { failurePercentage: { threshold: 101 } } },
        'outlierDetection.failurePercentage.threshold',
      ],
      [
        { outlierDetection: { failurePercentage: { minimumHosts: -1 } } },
        'outlierDetection.failurePercentage.minimumHosts',
      ],
      [
        { outlierDetection: { failurePercentage: { requestVolume: -1 } } },
        'outlierDetection.failurePercentage.requestVolume',
      ],
      [{ healthSources: [''] }, 'healthSources[0]'],
      [{ random: 5 }, 'random'],
      [{ now: 5 }, 'now'],
    ],
  },
  createHealthChecker: {
    base: { check: health.tcpCheck() },
    make: (o) => health.createHealthChecker(balancer, o as never),
    rows: [...HEALTH, [{ random: 5 }, 'random']],
  },
  httpCheck: {
    base: {},
    make: (o) => health.httpCheck(o as never),
    rows: [
      [{ path: 'health' }, 'path'],
      [{ method: 'DELETE' }, 'method'],
      [{ port: 0 }, 'port'],
      [{ headers: { a: 5 } }, 'headers.a'],
      [{ expectStatus: 99 }, 'expectStatus'],
      [{ expectBody: 5 }, 'expectBody'],
      [{ timeout: 0 }, 'timeout'],
      [{ maxBodyBytes: 0 }, 'maxBodyBytes'],
      ...TLS,
    ],
  },
  tcpCheck: {
    base: {},
    make: (o) => health.tcpCheck(o as never),
    rows: [
      [{ port: 65536 }, 'port'],
      [{ timeout: 0 }, 'timeout'],
    ],
  },
  icmpCheck: {
    base: {},
    make: (o) => health.icmpCheck(o as never),
    rows: [
      [{ timeout: 0 }, 'timeout'],
      [{ pingPath: '' }, 'pingPath'],
    ],
  },
  loadCheck: {
    base: {},
    make: (o) => health.loadCheck(o as never),
    rows: [
      [{ path: 'load' }, 'path'],
      [{ port: -1 }, 'port'],
      [{ headers: { a: 5 } }, 'headers.a'],
      [{ timeout: 0 }, 'timeout'],
      ...TLS,
      [{ max: { cpu: -1 } }, 'max.cpu'],
      [{ max: { loadAvgPerCpu: -1 } }, 'max.loadAvgPerCpu'],
      [{ max: { eventLoopDelayMs: -1 } }, 'max.eventLoopDelayMs'],
      [{ max: { eventLoopUtilization: 1.5 } }, 'max.eventLoopUtilization'],
      [{ max: { inFlight: -1 } }, 'max.inFlight'],
      [{ max: { rssBytes: -1 } }, 'max.rssBytes'],
      [{ weight: 'yes' }, 'weight'],
    ],
  },
  customCheck: {
    base: {},
    make: (o) => health.customCheck(() => true, o as never),
    rows: [
      [{ layer: '' }, 'layer'],
      [{ name: '' }, 'name'],
      [{ timeout: 0 }, 'timeout'],
    ],
  },
  loadReporter: {
    base: {},
    make: (o) => health.loadReporter(o as never),
    rows: [
      [{ path: 'load' }, 'path'],
      [{ inFlight: 5 }, 'inFlight'],
      [{ weight: -1 }, 'weight'],
      [{ sampleIntervalMs: 0 }, 'sampleIntervalMs'],
      [{ inBand: 'sometimes' }, 'inBand'],
      [{ shed: { maxInFlight: 0 } }, 'shed.maxInFlight'],
      [{ shed: { eventLoopDelayMs: 0 } }, 'shed.eventLoopDelayMs'],
      [{ shed: { retryAfterSeconds: -1 } }, 'shed.retryAfterSeconds'],
    ],
  },
  fileList: {
    base: {},
    make: (o) => discovery.fileList('/nonexistent/picket-options.json', o as never),
    rows: [
      [{ format: 'toml' }, 'format'],
      [{ debounceMs: -1 }, 'debounceMs'],
      [{ pollMs: -1 }, 'pollMs'],
      [{ maxBytes: 0 }, 'maxBytes'],
      ...LIMITS,
    ],
  },
  dns: {
    base: { hostname: 'localhost', port: 80 },
    make: (o) => discovery.dns(o as never),
    rows: [
      [{ hostname: 'a b' }, 'hostname'],
      [{ port: 0 }, 'port'],
      [{ hostname: undefined, srv: '' }, 'srv'],
      [{ servers: ['not an address'] }, 'servers[0]'],
      [{ family: 5 }, 'family'],
      [{ secure: 'yes' }, 'secure'],
      [{ zone: 5 }, 'zone'],
      [{ minTtlMs: -1 }, 'minTtlMs'],
      [{ maxTtlMs: 0 }, 'maxTtlMs'],
      [{ refreshMs: 0 }, 'refreshMs'],
      [{ timeoutMs: 0 }, 'timeoutMs'],
      [{ tries: 0 }, 'tries'],
      [{ backoff: { initialMs: -1 } }, 'backoff.initialMs'],
      [{ backoff: { maxMs: 0 } }, 'backoff.maxMs'],
      [{ backoff: { factor: 0.5 } }, 'backoff.factor'],
      ...LIMITS,
    ],
  },
  etcd: {
    base: { endpoints: [LOCAL], prefix: '/services/opts/' },
    make: (o) => discovery.etcd(o as never),
    rows: [
      [{ endpoints: ['ftp://x'] }, 'endpoints[0]'],
      [{ prefix: '' }, 'prefix'],
      [{ username: 5, password: 'p' }, 'username'],
      [{ username: 'u', password: 5 }, 'password'],
      [{ watchIdleTimeoutMs: -1 }, 'watchIdleTimeoutMs'],
      ...HTTP_REGISTRY,
      ...LIMITS,
    ],
  },
  consul: {
    base: { url: LOCAL, service: 'opts' },
    make: (o) => discovery.consul(o as never),
    rows: [
      [{ url: 'ftp://x' }, 'url'],
      [{ service: '' }, 'service'],
      [{ passingOnly: 'yes' }, 'passingOnly'],
      [{ dc: '' }, 'dc'],
      [{ tag: 5 }, 'tag'],
      [{ token: 5 }, 'token'],
      [{ waitMs: 600_001 }, 'waitMs'],
      [{ minQueryIntervalMs: -1 }, 'minQueryIntervalMs'],
      [{ zoneTagPrefix: 5 }, 'zoneTagPrefix'],
      [{ zoneNodeMeta: 5 }, 'zoneNodeMeta'],
      [{ secure: 'yes' }, 'secure'],
      ...HTTP_REGISTRY,
      ...LIMITS,
    ],
  },
  kubernetes: {
    base: { service: 'opts', apiServer: LOCAL, token: 't' },
    make: (o) => discovery.kubernetes(o as never),
    rows: [
      [{ service: '' }, 'service'],
      [{ namespace: 'Not_A_Namespace' }, 'namespace'],
      [{ port: 0 }, 'port'],
      [{ apiServer: 'ftp://x' }, 'apiServer'],
      [{ token: 5 }, 'token'],
      [{ ca: 5 }, 'ca'],
      [{ labelSelector: 5 }, 'labelSelector'],
      [{ serviceAccountDir: '' }, 'serviceAccountDir'],
      [{ watchTimeoutMs: 0 }, 'watchTimeoutMs'],
      [{ pageSize: 0 }, 'pageSize'],
      ...HTTP_REGISTRY,
      ...LIMITS,
    ],
  },
  eureka: {
    base: { url: LOCAL, app: 'opts' },
    make: (o) => discovery.eureka(o as never),
    rows: [
      [{ url: 'ftp://x' }, 'url'],
      [{ app: '' }, 'app'],
      [{ deltaIntervalMs: 0 }, 'deltaIntervalMs'],
      [{ preferIpAddress: 'yes' }, 'preferIpAddress'],
      [{ zoneMetadataKey: '' }, 'zoneMetadataKey'],
      ...HTTP_REGISTRY,
      ...LIMITS,
    ],
  },
  registerConsul: {
    base: { url: LOCAL, service: { name: 'opts', id: 'opts-1', port: 1 }, ttlMs: 1000 },
    make: (o) => discovery.registerConsul(o as never),
    rows: [
      [{ url: 'ftp://x' }, 'url'],
      [{ service: { name: '', id: 'opts-1', port: 1 } }, 'service.name'],
      [{ service: { name: 'opts', id: '', port: 1 } }, 'service.id'],
      [{ service: { name: 'opts', id: 'opts-1', port: 1, address: '' } }, 'service.address'],
      [{ service: { name: 'opts', id: 'opts-1', port: 0 } }, 'service.port'],
      [{ ttlMs: 0 }, 'ttlMs'],
      [{ deregisterCriticalAfterMs: 0 }, 'deregisterCriticalAfterMs'],
      [{ token: 5 }, 'token'],
      [{ deregisterTimeoutMs: 0 }, 'deregisterTimeoutMs'],
      ...HTTP_REGISTRY,
    ],
  },
  registerEtcd: {
    base: { endpoints: [LOCAL], key: '/services/opts/1', instance: LOCAL },
    make: (o) => discovery.registerEtcd(o as never),
    rows: [
      [{ endpoints: [] }, 'endpoints'],
      [{ key: '' }, 'key'],
      [{ instance: 'ftp://x' }, 'instance'],
      [{ ttlMs: 0 }, 'ttlMs'],
      [{ keepAliveMs: 0 }, 'keepAliveMs'],
      [{ revokeTimeoutMs: 0 }, 'revokeTimeoutMs'],
      ...HTTP_REGISTRY,
    ],
  },
  registerEureka: {
    base: {
      url: LOCAL,
      app: 'opts',
      instance: { instanceId: 'opts-1', hostName: 'localhost', ipAddr: '127.0.0.1', port: 1 },
    },
    make: (o) => discovery.registerEureka(o as never),
    rows: [
      [{ url: 'ftp://x' }, 'url'],
      [{ app: '' }, 'app'],
      [{ instance: { instanceId: '', hostName: 'h', ipAddr: '127.0.0.1', port: 1 } }, 'instance.instanceId'],
      [{ instance: { instanceId: 'i', hostName: '', ipAddr: '127.0.0.1', port: 1 } }, 'instance.hostName'],
      [{ instance: { instanceId: 'i', hostName: 'h', ipAddr: '', port: 1 } }, 'instance.ipAddr'],
      [{ instance: { instanceId: 'i', hostName: 'h', ipAddr: '127.0.0.1', port: 0 } }, 'instance.port'],
      [{ heartbeatMs: 0 }, 'heartbeatMs'],
      [{ leaseDurationMs: 0 }, 'leaseDurationMs'],
      [{ deregisterTimeoutMs: 0 }, 'deregisterTimeoutMs'],
      ...HTTP_REGISTRY,
    ],
  },
  createAgent: {
    base: { services: { opts: client } },
    make: (o) => createAgent(o as never),
    rows: [
      [{ services: 5 }, 'services'],
      [{ fallback: 5 }, 'fallback'],
    ],
  },
  axiosAdapter: {
    base: {},
    make: (o) => axiosAdapter(client, o as never),
    rows: [[{ axios: 5 }, 'axios']],
  },
  dashboard: {
    base: { clients: [client] },
    make: (o) => dashboard(o as never),
    rows: [
      [{ clients: [] }, 'clients'],
      [{ host: '' }, 'host'],
      [{ port: 65536 }, 'port'],
      [{ token: 'has space' }, 'token'],
      [{ intervalMs: 99 }, 'intervalMs'],
    ],
  },
  // @picket/core's balancer: the options it has beyond the client's (its README's table).
  createBalancer: {
    base: {},
    make: (o) => core.createBalancer(o as never),
    rows: [
      [{ subset: { size: 1.5 } }, 'subset.size'],
      [{ subset: { size: 2, mode: 'sticky' } }, 'subset.mode'],
      [{ subset: { size: 2, callerId: '' } }, 'subset.callerId'],
      [{ subset: { size: 2, mode: 'deterministic', peers: { index: -1, count: 3 } } }, 'subset.peers.index'],
      [{ subset: { size: 2, mode: 'deterministic', peers: { index: 0, count: 0 } } }, 'subset.peers.count'],
    ],
  },
  // @picket/core's strategies (their options are documented in its README).
  peakEwma: {
    base: {},
    make: (o) => core.peakEwma(o as never),
    rows: [
      [{ decayMs: 0 }, 'decayMs'],
      [{ defaultRttMs: -1 }, 'defaultRttMs'],
      [{ failurePenaltyMs: -1 }, 'failurePenaltyMs'],
    ],
  },
  leastRequest: {
    base: {},
    make: (o) => core.leastRequest(o as never),
    rows: [
      [{ choices: 1 }, 'choices'],
      [{ activeRequestBias: -1 }, 'activeRequestBias'],
    ],
  },
  weightedResponseTime: {
    base: {},
    make: (o) => core.weightedResponseTime(o as never),
    rows: [[{ intervalMs: 0 }, 'intervalMs']],
  },
  weightedRoundRobin: {
    base: {},
    make: (o) => core.weightedRoundRobin(o as never),
    rows: [
      [{ blackoutPeriodMs: -1 }, 'blackoutPeriodMs'],
      [{ weightExpirationPeriodMs: 0 }, 'weightExpirationPeriodMs'],
      [{ weightUpdatePeriodMs: 99 }, 'weightUpdatePeriodMs'],
      [{ errorUtilizationPenalty: -1 }, 'errorUtilizationPenalty'],
    ],
  },
  ringHash: {
    base: {},
    make: (o) => core.ringHash(o as never),
    rows: [
      [{ minRingSize: 0 }, 'minRingSize'],
      [{ maxRingSize: 0 }, 'maxRingSize'],
      [{ hashBalanceFactor: 0.5 }, 'hashBalanceFactor'],
    ],
  },
  maglev: {
    base: {},
    make: (o) => core.maglev(o as never),
    rows: [
      [{ tableSize: 100 }, 'tableSize'],
      [{ hashBalanceFactor: 0.5 }, 'hashBalanceFactor'],
    ],
  },
};

/** The value at `path` (`a.b[0]`) in `options`. */
function valueAt(options: unknown, path: string): unknown {
  let value = options;
  for (const key of path.split(/\.|\[(\d+)\]/).filter(Boolean)) {
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

const literal = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Calls `make`; the error it threw (or rejected with), or undefined when it was accepted (closing what it made). */
async function outcomeOf(make: () => unknown): Promise<unknown> {
  let made: unknown;
  try {
    made = await make();
  } catch (error) {
    return error;
  }
  await (made as { close?: () => unknown } | undefined)?.close?.();
  return undefined;
}

/** Calls `make`, which must throw (or reject) PICKET_INVALID_OPTIONS; closes what it made if not. */
async function refusal(make: () => unknown): Promise<unknown> {
  return (await outcomeOf(make)) ?? expect.unreachable('accepted: nothing was thrown');
}

for (const [name, factory] of Object.entries(FACTORIES)) {
  describe(name, () => {
    it.each(factory.rows.map(([options, path]) => [path, options] as const))(
      'refuses a bad `%s`, naming it and the value',
      async (path, options) => {
        const error = await refusal(() => factory.make({ ...factory.base, ...options }));
        expect(core.isPicketError(error, 'PICKET_INVALID_OPTIONS'), String(error)).toBe(true);
        const got = describeValue(valueAt(options, path));
        expect((error as Error).message).toMatch(
          new RegExp(`\`${literal(path)}\` [^;]*, got ${literal(got)}(;|$)`),
        );
      },
    );
  });
}

// zod's own wording, which no message should show: Picket says what it expected and what it got.
const ZOD_WORDING =
  /Invalid input|Invalid option|Invalid string|Invalid element|Too (small|big)|Unrecognized key|received /;

// Options whose keys are the caller's own names (header names, service names): any key is valid.
const RECORDS = new Set(['headers', 'services']);

// Valid objects for options that need fields of their own, so that only the unknown key is wrong.
const VALID: Record<string, unknown> = {
  zone: { local: 'a' },
  health: { check: health.tcpCheck() },
  subset: { size: 2 },
  'subset.peers': { index: 0, count: 3 },
  slowStart: { windowMs: 1000 },
};

/** The options a factory's rows reach (`retry`, `retry.backoff`, `retry.backoff.baseMs`), each with the row that reaches it. */
function optionPaths(factory: Factory): Map<string, Record<string, unknown>> {
  const paths = new Map<string, Record<string, unknown>>();
  for (const [options, path] of factory.rows) {
    const parts = path.replace(/\[\d+\]/g, '').split('.');
    for (let i = 1; i <= parts.length; i++) {
      const at = parts.slice(0, i).join('.');
      if (!paths.has(at)) paths.set(at, options);
    }
  }
  return paths;
}

/** A copy of `value` in which plain objects are new (so a test may change them) and everything else is shared. */
function copied(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Object.getPrototypeOf(value) !== Object.prototype)
    return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, copied(v)]));
}

/** `options` with `value` at `path` (`a.b.c`), the objects on the way made when missing. */
function setAt(options: Record<string, unknown>, path: string, value: unknown): Record<string, unknown> {
  const out = copied(options) as Record<string, unknown>;
  const parts = path.split('.');
  let at = out;
  for (const part of parts.slice(0, -1)) {
    if (at[part] === null || typeof at[part] !== 'object') at[part] = {};
    at = at[part] as Record<string, unknown>;
  }
  at[parts.at(-1)!] = value;
  return out;
}

/** The message names `path`, or the option it sits in when that has a message of its own, and the value there. */
function expectNamed(message: string, options: unknown, path: string, what: string): void {
  const parts = path.split('.');
  const named = parts
    .map((_, i) => parts.slice(0, parts.length - i).join('.'))
    .find((p) => message.includes(`\`${p}\``));
  expect(named, `${what}: ${message}`).toBeDefined();
  expect(message, what).toContain(`got ${describeValue(valueAt(options, named!))}`);
  expect(message, what).not.toMatch(ZOD_WORDING);
}

for (const [name, factory] of Object.entries(FACTORIES)) {
  describe(`${name}, walked`, () => {
    const paths = optionPaths(factory);
    it.each([...paths.keys()])(
      '`%s` of the wrong type, or empty, is refused in Picket’s words naming it and the value',
      async (path) => {
        for (const value of [Symbol('wrong'), '']) {
          const options = setAt({ ...factory.base, ...paths.get(path) }, path, value);
          const error = await outcomeOf(() => factory.make(options));
          if (error === undefined && value === '') continue; // an empty string valid here
          const what = describeValue(value);
          expect(core.isPicketError(error, 'PICKET_INVALID_OPTIONS'), `${what}: ${String(error)}`).toBe(true);
          expectNamed((error as Error).message, options, path, what);
        }
      },
    );

    it('an unknown option is named as one, at the top and inside every object option', async () => {
      const parents = [
        '',
        ...[...paths.keys()].filter((p) => [...paths.keys()].some((q) => q.startsWith(`${p}.`))),
      ];
      for (const parent of parents.filter((p) => !RECORDS.has(p.split('.').at(-1)!))) {
        let options = copied(factory.base) as Record<string, unknown>;
        const parts = parent === '' ? [] : parent.split('.');
        for (let i = 1; i <= parts.length; i++) {
          const at = parts.slice(0, i).join('.');
          if (valueAt(options, at) === undefined || typeof valueAt(options, at) !== 'object')
            options = setAt(options, at, VALID[at] ?? {});
        }
        if (parent === 'subset.peers') options = setAt(options, 'subset.mode', 'deterministic');
        options = setAt(options, parent === '' ? 'notAnOption' : `${parent}.notAnOption`, 1);
        const error = await outcomeOf(() => factory.make(options));
        expect(core.isPicketError(error, 'PICKET_INVALID_OPTIONS'), `${parent}: ${String(error)}`).toBe(true);
        const message = (error as Error).message;
        expect(message, parent).toContain(
          `${parent === '' ? '' : `\`${parent}\` has `}unknown option \`notAnOption\``,
        );
        expect(message, parent).not.toMatch(ZOD_WORDING);
      }
    });
  });
}
