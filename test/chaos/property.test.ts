// Property-based: random client options and random discovered records, against real servers on
// loopback (one that answers 200, 503, slowly or by dropping the connection, and a port that
// refuses). Whatever the input: createClient either works or throws PICKET_INVALID_OPTIONS /
// PICKET_INVALID_INSTANCE; every call settles within a deadline with a response or a typed
// error; a provider fed garbage never throws; close() settles. Never an untyped throw, never a hang.
// Generated hosts are loopback only and ports are ours, so no input reaches the network or DNS.

import { checkInstance, STRATEGY_NAMES } from '@picket/core/internal';
import { createProvider, type ProviderContext } from '@picket/discovery';
import fc from 'fast-check';
import { type Client, createClient, type Provider } from 'picket';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../fixtures/http-servers.ts';
import { freePort } from '../fixtures/instances.ts';
import { waitFor } from '../servers/wait.ts';
import { expectBodyError, expectNoLeaks, expectPicketError, handleCounts, settle } from './support.ts';

const CALL_DEADLINE_MS = 5000;
/** Fixed seeds keep CI reproducible; PICKET_FC_SEED=<n> explores others (a failure prints its seed). */
const seed = (fixed: number) => Number(process.env.PICKET_FC_SEED ?? fixed);
const PATHS = ['/ok', '/503', '/slow', '/drop', '/ok?x=1'];

let server: TestServer;
let dead: number;
let baseline: Record<string, number>;

beforeAll(async () => {
  baseline = handleCounts();
  server = await startServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/drop') {
      req.socket.destroy();
      return;
    }
    const answer = () => {
      res.writeHead(path === '/503' ? 503 : 200, { 'content-type': 'text/plain' });
      res.end('ok');
    };
    if (path === '/slow') setTimeout(answer, 30);
    else answer();
  });
  dead = await freePort();
});
afterAll(async () => {
  await server.close();
  await expectNoLeaks(baseline);
});

/** Sends each path once; each call must settle in time with a response or a typed error. */
async function exercise(client: Client): Promise<void> {
  for (const path of PATHS) {
    const r = await settle(
      client.request({ path }).then(async (res) => {
        try {
          await res.body.text();
        } catch (error) {
          expectBodyError(error);
        }
        return res.statusCode;
      }),
      CALL_DEADLINE_MS,
      `GET ${path}`,
    );
    if (!r.ok) expectPicketError(r.error);
  }
}

async function closes(client: Client): Promise<void> {
  const r = await settle(client.close(), CALL_DEADLINE_MS, 'close()');
  expect(r.ok).toBe(true);
}

// Mostly valid values, sometimes not: a record of fields each invalid now and then, so that
// many generated option sets construct a client (and get exercised) rather than all being refused.
// An invalid value is wrapped in `Bad`, so that the property knows a set must be refused, and why.
class Bad {
  readonly value: unknown;
  constructor(value: unknown) {
    this.value = value;
  }
}
const sometimesBad = <T, U>(valid: fc.Arbitrary<T>, invalid: fc.Arbitrary<U>) =>
  fc.oneof({ arbitrary: valid, weight: 20 }, { arbitrary: invalid.map((v) => new Bad(v)), weight: 1 });
const int = (min: number, max: number) => fc.integer({ min, max });
const NOT_A_DURATION = [-1, Number.NaN, Number.POSITIVE_INFINITY, 3e9, '1s', null] as const;
// Durations; the ones that add up across retries (backoff) stay short, so that a legitimately
// slow call still ends well inside the deadline. Timeouts and intervals refuse 0.
const duration = sometimesBad(
  fc.oneof(int(1, 2000), fc.constant(1.5)),
  fc.constantFrom(0, ...NOT_A_DURATION),
);
const short = sometimesBad(int(1, 300), fc.constantFrom(0, -1, Number.NaN, '25'));
const loose = <T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }) => fc.record(model, { requiredKeys: [] });

const options = loose({
  strategy: sometimesBad(
    fc.constantFrom(...STRATEGY_NAMES),
    fc.oneof(
      fc.string({ maxLength: 12 }).filter((s) => !(STRATEGY_NAMES as readonly string[]).includes(s)),
      fc.integer(),
    ),
  ),
  timeout: duration,
  perTryTimeout: duration,
  retry: fc.oneof(
    fc.constant(false),
    loose({
      retries: sometimesBad(int(0, 3), fc.constantFrom(-1, 1.5, 101)),
      sameInstance: sometimesBad(int(0, 2), fc.constant(-1)),
      statuses: fc.array(sometimesBad(int(400, 599), int(0, 99)), { maxLength: 3 }),
      methods: fc.array(
        sometimesBad(fc.constantFrom('GET', 'POST', 'put'), fc.constantFrom('', 42, 'get me', 'GET\n')),
        { maxLength: 3 },
      ),
      backoff: loose({ baseMs: short, maxMs: short }),
      budget: fc.oneof(
        fc.constant(false),
        loose({
          percent: sometimesBad(int(0, 100), int(101, 150)),
          minPerSecond: sometimesBad(int(0, 20), fc.constant(-1)),
        }),
      ),
    }),
  ),
  hedge: fc.oneof(
    fc.constant(false),
    fc.record(
      {
        delayMs: fc.oneof(short, fc.constant('p95')),
        maxHedges: sometimesBad(int(1, 3), fc.constantFrom(0, -1, 11)),
      },
      { requiredKeys: ['delayMs'] },
    ),
  ),
  breaker: fc.oneof(
    fc.constant(false),
    loose({
      errorThresholdPercentage: sometimesBad(int(1, 100), fc.constantFrom(-1, 101)),
      volumeThreshold: sometimesBad(int(1, 5), fc.constant(-1)),
      resetTimeoutMs: duration,
      windowMs: duration,
      buckets: sometimesBad(int(1, 12), fc.constantFrom(0, -1)),
    }),
  ),
  pool: loose({
    connections: sometimesBad(fc.oneof(int(1, 4), fc.constant(null)), fc.constantFrom(0, -1)),
    keepAliveTimeout: duration,
    pipelining: sometimesBad(int(0, 3), fc.constant(-1)),
    connectTimeout: duration,
    // 0 is "no limit" here.
    bodyTimeout: sometimesBad(int(0, 2000), fc.constantFrom(...NOT_A_DURATION)),
  }),
  panicThreshold: sometimesBad(int(0, 100), fc.constantFrom(-10, 110)),
  outlierDetection: fc.oneof(
    fc.constant(false),
    loose({ consecutiveFailures: sometimesBad(int(0, 6), fc.constant(-1)), baseEjectionMs: duration }),
  ),
  slowStart: fc.oneof(fc.constant(false), fc.record({ windowMs: duration })),
});
/** Now and then an option nobody knows (refused by name), in one set out of eight. */
const unknown = fc.oneof(
  { arbitrary: fc.constant(null), weight: 7 },
  { arbitrary: fc.anything({ maxDepth: 1 }).map((v) => new Bad(v)), weight: 1 },
);

/** `value` without its `Bad` wrappers; `bad` gets the path of each (as error messages write it). */
function unwrap(value: unknown, bad: string[], path = ''): unknown {
  if (value instanceof Bad) {
    bad.push(path);
    return value.value;
  }
  if (Array.isArray(value)) return value.map((v, i) => unwrap(v, bad, `${path}[${i}]`));
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k, unwrap(v, bad, path === '' ? k : `${path}.${k}`)]),
  );
}

describe('random client options', () => {
  it('construct a client exactly when every option is valid, else throw PICKET_INVALID_OPTIONS naming one; every call then settles, typed', async () => {
    let built = 0;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(options, unknown, fc.boolean(), async (generated, extra, withDead) => {
        const discovery = [server.url, ...(withDead ? [`http://127.0.0.1:${dead}`] : [])];
        const bad: string[] = [];
        const opts = unwrap({ ...generated, ...(extra === null ? {} : { unknownOption: extra }) }, bad);
        let client: Client;
        try {
          client = createClient({ service: 'inventory', discovery, ...(opts as object) });
        } catch (error) {
          expectPicketError(error, ['PICKET_INVALID_OPTIONS']);
          const message = (error as Error).message;
          expect(bad, `valid options refused: ${message}`).not.toEqual([]);
          expect(
            bad.some((path) => message.includes(`\`${path}\``)),
            `${message} names none of ${bad.join(', ')}`,
          ).toBe(true);
          refused++;
          return;
        }
        built++;
        try {
          expect(bad, 'invalid options accepted').toEqual([]);
          await exercise(client);
        } finally {
          await closes(client);
        }
      }),
      { numRuns: 80, seed: seed(7) },
    );
    // The property must have exercised clients, and refused some sets.
    expect(built).toBeGreaterThan(15);
    expect(refused).toBeGreaterThan(5);
  });
});

// Records, each generated valid or wrapped in `Bad` (a record the balancer must refuse).
const port = sometimesBad(
  fc.oneof(
    fc.constant(0).map(() => server.port),
    fc.constant(0).map(() => dead),
  ),
  fc.constantFrom(0, -1, 70_000, 1.5, Number.NaN),
);
const hostName = fc.constantFrom('127.0.0.1', 'localhost');
const host = sometimesBad(hostName, fc.constantFrom('', 'a b', 'x/y'));
/** A URL from its parts: `Bad` when any part is. */
const url = fc
  .tuple(
    sometimesBad(fc.constantFrom('http', 'HTTP'), fc.constantFrom('ftp', 'ws')),
    sometimesBad(fc.oneof(hostName, fc.constant('[::1]')), fc.constantFrom('', 'a b', '::1')),
    port,
    sometimesBad(fc.constantFrom('', '/api'), fc.constantFrom('/?q=1', '#f')),
  )
  .map((parts) => {
    const bad: string[] = [];
    const [scheme, h, p, rest] = unwrap(parts, bad) as unknown[];
    const text = `${scheme}://${h}:${p}${rest}`;
    return bad.length > 0 ? new Bad(text) : text;
  });
/** Anything that is neither a URL string nor an object with `url` or `host`. */
const garbage = fc
  .anything({ maxDepth: 2 })
  .filter((v) =>
    typeof v === 'string'
      ? !v.includes(':')
      : !(v !== null && typeof v === 'object' && ('url' in v || 'host' in v)),
  );
const json = fc.dictionary(fc.string({ maxLength: 4 }), fc.oneof(fc.string({ maxLength: 4 }), fc.integer()), {
  maxKeys: 2,
});
const record = fc.oneof(
  url,
  garbage.map((v) => new Bad(v)),
  fc.record(
    {
      url,
      id: sometimesBad(fc.string({ minLength: 1, maxLength: 6 }), fc.constantFrom('', 42)),
      zone: sometimesBad(fc.string({ maxLength: 4 }), fc.integer()),
      weight: sometimesBad(
        fc.oneof(fc.double({ min: 0.01, max: 1e6, noNaN: true }), int(1, 10)),
        fc.constantFrom(0, -1, Number.NaN, 2e6),
      ),
      priority: sometimesBad(int(0, 127), fc.constantFrom(-1, 128, 1.5)),
      metadata: sometimesBad(json, fc.constantFrom(5, 'x', null)),
    },
    { requiredKeys: ['url'] },
  ),
  fc.record(
    { host, port, secure: fc.boolean(), weight: sometimesBad(int(1, 3), fc.constantFrom(0, -1)) },
    { requiredKeys: ['host', 'port'] },
  ),
);

/** The records without `Bad`, the indexes of the bad ones, and the ids of the good ones. */
function unwrapRecords(generated: readonly unknown[]): { records: unknown[]; bad: number[]; ids: string[] } {
  const bad: number[] = [];
  const ids: string[] = [];
  const records = generated.map((r, i) => {
    const paths: string[] = [];
    const record = unwrap(r, paths);
    if (paths.length > 0) bad.push(i);
    else {
      const check = checkInstance(record);
      if (!check.ok) throw new Error(`a record generated as valid is not: ${check.reason}`);
      ids.push(check.instance.id);
    }
    return record;
  });
  return { records, bad, ids };
}

describe('random discovered records', () => {
  it('as a static list: a client exactly when every record is valid and ids are distinct, else PICKET_INVALID_OPTIONS naming a bad one; then calls settle, typed', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(record, { maxLength: 5 }), async (generated) => {
        const { records, bad, ids } = unwrapRecords(generated);
        const repeated = new Set(ids).size < ids.length;
        let client: Client;
        try {
          client = createClient({
            service: 'inventory',
            discovery: records as never,
            pool: { connectTimeout: 500 },
          });
        } catch (error) {
          expectPicketError(error, ['PICKET_INVALID_OPTIONS']);
          const message = (error as Error).message;
          expect(bad.length > 0 || repeated, `valid records refused: ${message}`).toBe(true);
          if (!repeated) {
            expect(
              bad.some((i) => message.includes(`\`discovery[${i}]\``)),
              `${message} names none of records ${bad.join(', ')}`,
            ).toBe(true);
          }
          return;
        }
        try {
          expect({ bad, repeated }, 'invalid records accepted').toEqual({ bad: [], repeated: false });
          await exercise(client);
        } finally {
          await closes(client);
        }
      }),
      { numRuns: 60, seed: seed(11) },
    );
  });

  it('from a provider: publish never throws, bad records are skipped, and calls settle, typed', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(record, { maxLength: 6 }), { minLength: 1, maxLength: 3 }),
        async (rounds) => {
          let ctx: ProviderContext | undefined;
          const provider: Provider = createProvider({
            name: 'random',
            run: (c) => {
              ctx = c;
            },
          });
          const client = createClient({
            service: 'inventory',
            discovery: provider,
            pool: { connectTimeout: 500 },
          });
          try {
            await waitFor(() => ctx !== undefined, { timeoutMs: 2000 });
            let kept = new Set<string>();
            for (const generated of rounds) {
              const { records, ids } = unwrapRecords(generated);
              expect(() => ctx!.publish(records)).not.toThrow();
              // Exactly the valid records are kept; a list of only invalid ones is a broken
              // answer, and the last good list stays (documented).
              if (ids.length > 0 || records.length === 0) kept = new Set(ids);
              expect(new Set(client.snapshot().instances.map((i) => i.id))).toEqual(kept);
              for (const i of client.snapshot().instances) expect(i.url).toMatch(/^https?:\/\/[^\s/]+/);
              await exercise(client);
            }
          } finally {
            await closes(client);
          }
        },
      ),
      { numRuns: 40, seed: seed(13) },
    );
  });
});
