// Property-based, beside property.test.ts (random options for working clients): every public
// factory, given arbitrary input, either makes its object or throws a PicketError. Never a
// TypeError from reading a property of the wrong thing, never a throw that leaves a timer holding
// the process. The input is arbitrary values (BigInts, symbols, functions, NaN, null-prototype
// objects…) and objects of the factory's own option names holding such values, nested, so that
// validation is passed as often as it is failed. Nothing here reaches the network: whatever a
// factory makes is closed without being started.

import * as core from '@picket/core';
import { strategyByName, toInstances } from '@picket/core/internal';
import * as discovery from '@picket/discovery';
import * as health from '@picket/health';
import * as http from '@picket/http';
import fc from 'fast-check';
import * as picket from 'picket';
import { axiosAdapter } from 'picket/axios';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BALANCER_KEYS } from '../../packages/http/src/config.ts';
import { expectNoLeaks, explain, handleCounts, settle } from './support.ts';

/** Fixed seeds keep CI reproducible; PICKET_FC_SEED=<n> explores others (a failure prints its seed). */
const seed = (fixed: number) => Number(process.env.PICKET_FC_SEED ?? fixed);

type Make = (options: unknown, extra: unknown) => unknown;

interface Factory {
  name: string;
  /** The option names the factory knows, for generated objects that get past "unknown option". */
  keys: readonly string[];
  /** Valid required options, under the generated ones half the time, so that runs get past them. */
  base?: () => Record<string, unknown>;
  make: Make;
}

const LOCAL = 'http://127.0.0.1:1';

const HTTP_REGISTRY = ['tls', 'connectTimeoutMs', 'requestTimeoutMs', 'maxResponseBytes', 'backoff'];
const LIMITS = ['maxRecords', 'maxRecordBytes'];
const CLIENT = [
  'service',
  'discovery',
  'strategy',
  'health',
  'retry',
  'timeout',
  'perTryTimeout',
  'hedge',
  'breaker',
  'pool',
  'tls',
  'limits',
  'loadReports',
  'subset',
  'metrics',
  // The balancer's own options, which createClient passes through.
  ...BALANCER_KEYS,
];
const HEALTH = [
  'check',
  'interval',
  'unhealthyInterval',
  'transitionInterval',
  'timeout',
  'healthyThreshold',
  'unhealthyThreshold',
  'jitter',
  'concurrency',
  'source',
  'random',
];

// Things some factories take besides options, made once and shared by the runs.
let balancer: core.Balancer;
let client: picket.Client;
let provider: discovery.Provider;
const pick = <T>(extra: unknown, real: T): T | unknown => (typeof extra === 'boolean' ? real : extra);

const FACTORIES: readonly Factory[] = [
  // The umbrella, and @picket/http's own createClient (no health options of its own).
  {
    name: 'picket.createClient',
    keys: CLIENT,
    base: () => ({ service: 'fuzz', discovery: [LOCAL] }),
    make: (o) => picket.createClient(o as never),
  },
  {
    name: 'http.createClient',
    keys: CLIENT,
    base: () => ({ service: 'fuzz', discovery: [LOCAL] }),
    make: (o) => http.createClient(o as never),
  },
  {
    name: 'createAgent',
    keys: ['services', 'fallback'],
    base: () => ({ services: { fuzz: client } }),
    make: (o) => picket.createAgent(o as never),
  },
  {
    name: 'axiosAdapter',
    keys: ['axios'],
    make: (o, x) => axiosAdapter(pick(x, client) as never, o as never),
  },
  // @picket/core: the balancer, every strategy, subsetting.
  {
    name: 'createBalancer',
    keys: [...BALANCER_KEYS, 'strategy', 'subset'],
    make: (o) => core.createBalancer(o as never),
  },
  { name: 'roundRobin', keys: [], make: () => core.roundRobin() },
  { name: 'random', keys: [], make: () => core.random() },
  {
    name: 'leastRequest',
    keys: ['choices', 'activeRequestBias'],
    make: (o) => core.leastRequest(o as never),
  },
  {
    name: 'peakEwma',
    keys: ['decayMs', 'defaultRttMs', 'failurePenaltyMs'],
    make: (o) => core.peakEwma(o as never),
  },
  {
    name: 'ringHash',
    keys: ['minRingSize', 'maxRingSize', 'hashBalanceFactor'],
    make: (o) => core.ringHash(o as never),
  },
  { name: 'maglev', keys: ['tableSize', 'hashBalanceFactor'], make: (o) => core.maglev(o as never) },
  {
    name: 'weightedResponseTime',
    keys: ['intervalMs'],
    make: (o) => core.weightedResponseTime(o as never),
  },
  {
    name: 'weightedRoundRobin',
    keys: ['blackoutPeriodMs', 'weightExpirationPeriodMs', 'weightUpdatePeriodMs', 'errorUtilizationPenalty'],
    make: (o) => core.weightedRoundRobin(o as never),
  },
  { name: 'strategyByName', keys: [], make: (o) => strategyByName(o as never) },
  { name: 'seededRandom', keys: [], make: (o) => core.seededRandom(o as never) },
  {
    name: 'createSubset',
    keys: ['size', 'mode', 'callerId', 'peers', 'index', 'count', 'discovery', 'self'],
    base: () => ({ size: 2 }),
    make: (o, x) => core.createSubset(pick(x, balancer) as never, o as never),
  },
  {
    name: 'toInstances',
    keys: ['url', 'host', 'port', 'metadata'],
    make: (o) => toInstances(o as never),
  },
  // @picket/health: every check, the checker, the load reporter.
  {
    name: 'httpCheck',
    keys: [
      'path',
      'method',
      'port',
      'headers',
      'expectStatus',
      'expectBody',
      'timeout',
      'maxBodyBytes',
      'tls',
    ],
    make: (o) => health.httpCheck(o as never),
  },
  { name: 'tcpCheck', keys: ['port', 'timeout'], make: (o) => health.tcpCheck(o as never) },
  { name: 'icmpCheck', keys: ['timeout', 'pingPath'], make: (o) => health.icmpCheck(o as never) },
  {
    name: 'loadCheck',
    keys: [
      'path',
      'port',
      'headers',
      'max',
      'weight',
      'timeout',
      'tls',
      'cpu',
      'eventLoopDelayMs',
      'inFlight',
    ],
    make: (o) => health.loadCheck(o as never),
  },
  {
    name: 'customCheck',
    keys: ['layer', 'name', 'timeout'],
    make: (o, x) => health.customCheck(pick(x, () => true) as never, o as never),
  },
  { name: 'allChecks', keys: [], make: (o) => health.allChecks(o as never) },
  {
    name: 'createHealthChecker',
    keys: HEALTH,
    base: () => ({ check: health.tcpCheck() }),
    make: (o, x) => health.createHealthChecker(pick(x, balancer) as never, o as never),
  },
  {
    name: 'parseHealthOptions',
    keys: HEALTH,
    base: () => ({ check: health.tcpCheck() }),
    make: (o) => health.parseHealthOptions(o as never),
  },
  {
    name: 'loadReporter',
    keys: [
      'path',
      'inFlight',
      'weight',
      'sampleIntervalMs',
      'inBand',
      'shed',
      'maxInFlight',
      'retryAfterSeconds',
    ],
    make: (o) => health.loadReporter(o as never),
  },
  {
    name: 'parseLoadReport',
    keys: ['status', 'weight', 'cpu', 'loadAvg1', 'cpus', 'eventLoopDelayMs', 'inFlight', 'rssBytes'],
    make: (o) => health.parseLoadReport(o as never),
  },
  // @picket/discovery: every provider and register* helper, composition.
  {
    name: 'staticList',
    keys: ['url', 'host', 'port', 'metadata'],
    make: (o) => discovery.staticList(o as never),
  },
  {
    name: 'fileList',
    keys: ['format', 'debounceMs', 'pollMs', 'maxBytes', ...LIMITS],
    make: (o, x) => discovery.fileList(pick(x, '/nonexistent/picket-fuzz.json') as never, o as never),
  },
  {
    name: 'dns',
    keys: [
      'hostname',
      'port',
      'srv',
      'servers',
      'family',
      'secure',
      'zone',
      'minTtlMs',
      'maxTtlMs',
      'refreshMs',
      'timeoutMs',
      'tries',
      'backoff',
      ...LIMITS,
    ],
    base: () => ({ hostname: 'localhost', port: 80 }),
    make: (o) => discovery.dns(o as never),
  },
  {
    name: 'etcd',
    keys: ['endpoints', 'username', 'password', 'prefix', 'watchIdleTimeoutMs', ...HTTP_REGISTRY, ...LIMITS],
    base: () => ({ endpoints: [LOCAL], prefix: '/services/fuzz/' }),
    make: (o) => discovery.etcd(o as never),
  },
  {
    name: 'consul',
    keys: [
      'url',
      'service',
      'passingOnly',
      'dc',
      'tag',
      'token',
      'waitMs',
      'minQueryIntervalMs',
      'zoneTagPrefix',
      'zoneNodeMeta',
      'secure',
      ...HTTP_REGISTRY,
      ...LIMITS,
    ],
    base: () => ({ url: LOCAL, service: 'fuzz' }),
    make: (o) => discovery.consul(o as never),
  },
  {
    name: 'kubernetes',
    keys: [
      'service',
      'namespace',
      'port',
      'apiServer',
      'token',
      'ca',
      'labelSelector',
      'serviceAccountDir',
      'watchTimeoutMs',
      'pageSize',
      ...HTTP_REGISTRY,
      ...LIMITS,
    ],
    base: () => ({ service: 'fuzz', apiServer: LOCAL, token: 't' }),
    make: (o) => discovery.kubernetes(o as never),
  },
  {
    name: 'eureka',
    keys: [
      'url',
      'app',
      'deltaIntervalMs',
      'preferIpAddress',
      'zoneMetadataKey',
      ...HTTP_REGISTRY,
      ...LIMITS,
    ],
    base: () => ({ url: LOCAL, app: 'fuzz' }),
    make: (o) => discovery.eureka(o as never),
  },
  {
    name: 'registerConsul',
    keys: [
      'url',
      'service',
      'ttlMs',
      'deregisterCriticalAfterMs',
      'token',
      'deregisterTimeoutMs',
      ...HTTP_REGISTRY,
    ],
    base: () => ({ url: LOCAL, service: { name: 'fuzz', id: 'fuzz-1', port: 1 }, ttlMs: 1000 }),
    make: (o) => discovery.registerConsul(o as never),
  },
  {
    name: 'registerEtcd',
    keys: ['endpoints', 'key', 'instance', 'ttlMs', 'keepAliveMs', 'revokeTimeoutMs', ...HTTP_REGISTRY],
    base: () => ({ endpoints: [LOCAL], key: '/services/fuzz/1', instance: LOCAL }),
    make: (o) => discovery.registerEtcd(o as never),
  },
  {
    name: 'registerEureka',
    keys: [
      'url',
      'app',
      'instance',
      'heartbeatMs',
      'leaseDurationMs',
      'deregisterTimeoutMs',
      ...HTTP_REGISTRY,
    ],
    base: () => ({
      url: LOCAL,
      app: 'fuzz',
      instance: { instanceId: 'fuzz-1', hostName: 'localhost', ipAddr: '127.0.0.1', port: 1 },
    }),
    make: (o) => discovery.registerEureka(o as never),
  },
  { name: 'backoff', keys: ['initialMs', 'maxMs', 'factor'], make: (o) => discovery.backoff(o as never) },
  {
    name: 'createProvider',
    keys: ['name', 'run', 'limits', 'secrets', 'lastError', ...LIMITS],
    base: () => ({ name: 'fuzz', run: () => undefined }),
    make: (o) => discovery.createProvider(o as never),
  },
  { name: 'where', keys: ['zone', 'metadata'], make: (o) => discovery.where(o as never) },
  { name: 'filter', keys: [], make: (o, x) => discovery.filter(pick(x, provider) as never, o as never) },
  { name: 'merge', keys: [], make: (o, x) => discovery.merge(o as never, x as never) },
];

// Every option name any factory knows, for the objects nested inside options (`retry: { … }`).
const ALL_KEYS = [
  ...new Set([
    ...FACTORIES.flatMap((f) => f.keys),
    ...['retries', 'sameInstance', 'methods', 'statuses', 'rateLimited', 'maxRetryAfterMs', 'budget'],
    ...['baseMs', 'maxMs', 'initialMs', 'factor', 'percent', 'minPerSecond', 'windowMs', 'delayMs'],
    ...['maxHedges', 'errorThresholdPercentage', 'volumeThreshold', 'resetTimeoutMs', 'buckets'],
    ...['connections', 'keepAliveTimeout', 'pipelining', 'allowH2', 'connectTimeout', 'bodyTimeout'],
    ...['maxRequests', 'maxPendingPerInstance', 'maxConcurrentRetries', 'meterProvider', 'perInstance'],
    ...['local', 'aggression', 'minWeightPercent', 'consecutiveFailures', 'intervalMs', 'baseEjectionMs'],
    ...['maxEjectionMs', 'maxEjectionPercent', 'successRate', 'failurePercentage', 'threshold'],
    ...['ca', 'cert', 'key', 'passphrase', 'servername', 'rejectUnauthorized', 'min', 'max', 'name', 'id'],
    ...['address', 'tags', 'meta', 'hostName', 'ipAddr', 'vipAddress', 'metadata', 'weight', 'priority'],
  ]),
];

const leaf = fc.oneof(
  fc.constantFrom<unknown>(
    3e9,
    2 ** 31,
    2147483647,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    Number.NaN,
    -1,
    0,
    0.5,
    1,
    80,
    65536,
    '5000',
    '',
    'x',
    'p95',
    'GET',
    '/health',
    'http://127.0.0.1:0',
    'http://127.0.0.1:1',
    true,
    false,
    null,
    undefined,
    5n,
    Symbol('s'),
  ),
  fc.constant(0).map(() => () => undefined),
  // Real parts where options take them: a check, a strategy, a health factory, a provider.
  fc.constant(0).map(() => health.tcpCheck()),
  fc.constant(0).map(() => core.roundRobin()),
  fc.constant(0).map(() => () => ({ start() {}, async close() {} })),
  fc.constant(0).map(() => discovery.staticList([LOCAL])),
  fc.constant(0).map(() => Object.create(null) as unknown),
  fc.constant(0).map(() => new Map()),
  fc.constant(0).map(() => new Date(0)),
  fc.string({ maxLength: 8 }),
  fc.integer(),
  fc.double(),
);

const { value } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', maxDepth: 3 },
    { arbitrary: leaf, weight: 4 },
    { arbitrary: fc.array(tie('value'), { maxLength: 3 }), weight: 1 },
    { arbitrary: fc.dictionary(fc.constantFrom(...ALL_KEYS), tie('value'), { maxKeys: 4 }), weight: 2 },
  ),
}));

const anything = fc.anything({
  maxDepth: 2,
  withBigInt: true,
  withBoxedValues: true,
  withDate: true,
  withMap: true,
  withSet: true,
  withNullPrototype: true,
  withObjectString: true,
  withSparseArray: true,
  withTypedArray: true,
});

/** Arbitrary input, or an object of the factory's own option names holding arbitrary values. */
function inputFor(factory: Factory): fc.Arbitrary<unknown> {
  if (factory.keys.length === 0) return fc.oneof(anything, value);
  const base = factory.base;
  const known = fc
    .tuple(fc.dictionary(fc.constantFrom(...factory.keys), value, { maxKeys: 4 }), fc.boolean())
    .map(([options, onBase]) => (onBase && base !== undefined ? { ...base(), ...options } : options));
  return fc.oneof(
    { arbitrary: known, weight: 3 },
    { arbitrary: value, weight: 1 },
    { arbitrary: anything, weight: 1 },
  );
}

/** Closes what a factory made, without starting it. */
async function dispose(made: unknown): Promise<void> {
  if (made === null || (typeof made !== 'object' && typeof made !== 'function')) return;
  const closable = made as { close?: () => unknown; destroy?: () => unknown };
  if (typeof closable.close !== 'function') return;
  const r = await settle(
    Promise.resolve().then(() => closable.close?.()),
    5000,
    'close()',
  );
  if (!r.ok) {
    expect(core.isPicketError(r.error), `close() failed untyped: ${explain(r.error)}`).toBe(true);
  }
}

let baseline: Record<string, number>;

beforeAll(() => {
  baseline = handleCounts();
  balancer = core.createBalancer();
  client = picket.createClient({ service: 'fuzz', discovery: ['http://127.0.0.1:1'] });
  provider = discovery.staticList([]);
});
afterAll(async () => {
  await client.close();
  await provider.close();
  await expectNoLeaks(baseline);
});

describe('every public factory on arbitrary input', () => {
  it('covers every factory the packages export', () => {
    const made = new Set(FACTORIES.map((f) => f.name.replace(/^\w+\./, '')));
    // Exported functions that are not factories: guards, formatters, helpers.
    const helpers = new Set([
      'Emitter',
      'PicketError',
      'HttpStatusError',
      'callerIdFromEnvironment',
      'checkInstance',
      'describeIssues',
      'describeValue',
      'deterministicOrder',
      'assertBalancer',
      'durationError',
      'durationRule',
      'durationSchema',
      'formatPath',
      'hashKey',
      'hashString',
      'isDuration',
      'isFailure',
      'isInstance',
      'isPicketError',
      'offOr',
      'parseWith',
      'redactHeaders',
      'redactUrl',
      'rendezvousOrder',
      'tlsConnectOptions',
      'toInstance',
      'weightFromReport',
    ]);
    for (const mod of [core, health, discovery, http, picket]) {
      for (const [name, exported] of Object.entries(mod)) {
        if (typeof exported !== 'function' || helpers.has(name)) continue;
        expect(made, `${name} is exported but not fuzzed here`).toContain(name);
      }
    }
  });

  for (const [i, factory] of FACTORIES.entries()) {
    it(`${factory.name}: makes its object or throws a PicketError, and a throw holds nothing`, async () => {
      await fc.assert(
        fc.asyncProperty(inputFor(factory), fc.oneof(fc.boolean(), value), async (options, extra) => {
          const held = process.getActiveResourcesInfo().length;
          let made: unknown;
          try {
            made = factory.make(options, extra);
          } catch (error) {
            expect(core.isPicketError(error), `${factory.name} threw untyped: ${explain(error)}`).toBe(true);
            // A timer or socket left behind by a constructor that threw would hold the process.
            expect(process.getActiveResourcesInfo().length, `${factory.name} left a handle`).toBe(held);
            return;
          }
          await dispose(made);
        }),
        { numRuns: Number(process.env.PICKET_FC_RUNS ?? 150), seed: seed(101 + i) },
      );
    });
  }
});
