import { describe, expect, it } from 'vitest';
import { isPicketError } from './errors.ts';
import { checkInstance, isInstance, toInstance, toInstances } from './instance.ts';

function reasonFor(record: unknown): string {
  const result = checkInstance(record);
  if (result.ok) throw new Error(`expected ${JSON.stringify(record)} to be rejected`);
  return result.reason;
}

// 254 characters: one more than a DNS name may have.
const LONG_HOST = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(62)}`;

describe('instance records', () => {
  it('normalises a URL string with a stable id defaulting to the origin', () => {
    const i = toInstance('http://127.0.0.1:8001');
    expect(i).toMatchObject({
      id: 'http://127.0.0.1:8001',
      url: 'http://127.0.0.1:8001',
      origin: 'http://127.0.0.1:8001',
      basePath: '',
      host: '127.0.0.1',
      port: 8001,
      secure: false,
      weight: 1,
      priority: 0,
      zone: undefined,
    });
    expect(Object.isFrozen(i)).toBe(true);
    expect(isInstance(i)).toBe(true);
  });

  it('fills default ports and keeps a base path without its trailing slash', () => {
    expect(toInstance('https://api.example.test/v1/')).toMatchObject({
      origin: 'https://api.example.test:443',
      url: 'https://api.example.test:443/v1',
      basePath: '/v1',
      port: 443,
      secure: true,
    });
    expect(toInstance('http://h').port).toBe(80);
  });

  it('accepts host/port records, including IPv6 hosts', () => {
    expect(
      toInstance({ host: '::1', port: 9000, secure: true, zone: 'a', weight: 3, priority: 1 }),
    ).toMatchObject({
      origin: 'https://[::1]:9000',
      host: '::1',
      zone: 'a',
      weight: 3,
      priority: 1,
    });
  });

  it('keeps explicit ids and metadata', () => {
    const i = toInstance({ url: 'http://10.0.0.1:80', id: 'pod-a', metadata: { version: '2' } });
    expect(i.id).toBe('pod-a');
    expect(i.metadata).toEqual({ version: '2' });
  });

  it.each([
    [{ url: 'not a url' }, '`url` must be an absolute http:// or https:// URL, got "not a url"'],
    [{ url: 'ftp://h:21' }, '`url` must use http: or https:, not ftp:, got "ftp://h:21"'],
    [{ url: 'http://user:pw@h:1' }, '`url` must not carry credentials'],
    [{ url: 'http://h:1/?q=1' }, '`url` must not have a query or fragment'],
    [{ url: 42 }, '`url` must be a string, got 42'],
    [{ url: 'http://h:1', id: '' }, '`id` must not be empty, got ""'],
    [{ url: 'http://h:1', id: 7 }, '`id` must be a string, got 7'],
    [{ url: 'http://h:1', zone: 3 }, '`zone` must be a string, got 3'],
    [{ url: 'http://h:1', weight: 0 }, '`weight` must be a positive number up to 1000000, got 0'],
    [{ url: 'http://h:1', weight: -1 }, '`weight` must be a positive number up to 1000000, got -1'],
    [{ url: 'http://h:1', weight: '2' }, '`weight` must be a number, got "2"'],
    [{ url: 'http://h:1', priority: 1.5 }, '`priority` must be an integer, got 1.5'],
    [{ url: 'http://h:1', priority: -1 }, '`priority` must be at least 0, got -1'],
    [{ url: 'http://h:1', priority: 200 }, '`priority` must be at most 127, got 200'],
    [{ url: 'http://h:1', metadata: 'x' }, '`metadata` must be an object, got "x"'],
    [{ url: 'http://h:1', colour: 'red' }, 'has unknown option `colour`'],
    [{ host: 'h', port: 0 }, '`port` must be between 1 and 65535, got 0'],
    [{ host: 'h', port: 70000 }, '`port` must be between 1 and 65535, got 70000'],
    [{ host: 'h', port: 80.5 }, '`port` must be an integer, got 80.5'],
    [{ host: '', port: 80 }, '`host` must not be empty, got ""'],
    [{ host: 'a/b', port: 80 }, '`host` must be a host name or IP address, got "a/b"'],
    [{ host: 'h', port: 80, secure: 'yes' }, '`secure` must be a boolean, got "yes"'],
    [{ host: 'h' }, '`port` must be a number, got undefined'],
    [{ name: 'x' }, 'must be a URL string or an object with `url` or `host` and `port`, got {"name":"x"}'],
    ['localhost:8080', 'must use http: or https:'],
    [null, 'must be a URL string or an object with `url` or `host` and `port`'],
    // The URL form holds to a `{ host, port }` record's limits.
    ['http://127.0.0.1:0', 'must have a port between 1 and 65535, got "http://127.0.0.1:0"'],
    [{ url: 'https://h:0/api' }, '`url` must have a port between 1 and 65535, got "https://h:0/api"'],
    [`http://${LONG_HOST}:80`, 'must have a host of at most 253 characters'],
    [{ url: `http://${LONG_HOST}` }, '`url` must have a host of at most 253 characters'],
    [{ host: LONG_HOST, port: 80 }, '`host` must be at most 253 characters'],
  ])('rejects %j with a message naming the field and value', (record, message) => {
    expect(reasonFor(record)).toContain(message);
  });

  it('accepts a host of exactly 253 characters in both forms', () => {
    const host = LONG_HOST.slice(1);
    expect(toInstance(`http://${host}:80`).host).toBe(host);
    expect(toInstance({ host, port: 80 }).host).toBe(host);
  });

  it('rejects metadata that is not JSON data, naming the field, instead of throwing later', () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect(reasonFor({ url: 'http://h:1', metadata: { n: 1n } })).toBe(
      '`metadata.n` must be JSON data, not a BigInt, got 1n',
    );
    expect(reasonFor({ host: 'h', port: 1, metadata: { list: [1, { deep: 2n }] } })).toBe(
      '`metadata.list[1].deep` must be JSON data, not a BigInt, got 2n',
    );
    expect(reasonFor({ url: 'http://h:1', metadata: circular })).toMatch(
      /^`metadata(\.self)+` must be JSON data, not a circular reference/,
    );
    const throwing = {
      toJSON() {
        throw new Error('no JSON here');
      },
    };
    expect(reasonFor({ url: 'http://h:1', metadata: { t: throwing } })).toMatch(
      /^`metadata` must be JSON data/,
    );
    // A Date, a function: JSON takes them (as a string, by leaving it out).
    expect(
      toInstance({ url: 'http://h:1', metadata: { at: new Date(0), f: () => 1 } }).metadata,
    ).toHaveProperty('at');
  });

  it('describes a record JSON cannot print without throwing itself', () => {
    expect(reasonFor({ colour: 1n })).toContain('must be a URL string or an object');
    expect(() => toInstances(1n as never)).toThrow(/Expected an array of instance records, got 1n/);
  });

  it('throws PICKET_INVALID_INSTANCE naming the index', () => {
    try {
      toInstances(['http://a:1', 'http://b:2', { url: 'http://c:3', weight: -1 }]);
      expect.unreachable();
    } catch (error) {
      expect(isPicketError(error, 'PICKET_INVALID_INSTANCE')).toBe(true);
      expect((error as Error).message).toBe(
        'Invalid instance record at index 2: `weight` must be a positive number up to 1000000, got -1',
      );
    }
  });

  it('rejects two records with one id', () => {
    expect(() => toInstances(['http://a:1', { url: 'http://b:2', id: 'http://a:1' }])).toThrow(
      /index 1: `id` "http:\/\/a:1" is used by an earlier record/,
    );
  });

  it('rejects a non-array list', () => {
    expect(() => toInstances('http://a:1' as never)).toThrow(/Expected an array of instance records/);
  });

  // Found by the failure suite's property tests: such hosts used to pass the schema and then make
  // `new URL` throw an untyped TypeError out of checkInstance (and out of a provider's publish).
  it.each(['127.0.0.1:1', '[::1', 'a%b'])('rejects the host %j with a reason instead of throwing', (host) => {
    expect(reasonFor({ host, port: 8080 })).toContain('must be a host name or IP address');
  });
});

describe('the fast path for well-formed records', () => {
  it('agrees with the schema on every record it accepts', async () => {
    const fc = (await import('fast-check')).default;
    const { checkWithSchema } = await import('./instance.ts');
    const host = fc.oneof(
      fc.domain(),
      fc.ipV4(),
      fc.constantFrom('010.0.0.1', '1.2.3.04', '2130706433', 'a.1', 'LocalHost', 'x--y.test', '0.0.0.0'),
    );
    const url = fc
      .tuple(
        fc.constantFrom('http', 'https', 'HTTP'),
        host,
        fc.integer({ min: 0, max: 70000 }),
        fc.constantFrom('', '/', '/api', '/api/', '/a/b/', '//x', '/./a', '/%20', '/a b'),
      )
      .map(([scheme, h, port, path]) => `${scheme}://${h}:${port}${path}`);
    const record = fc.oneof(
      url,
      fc.record(
        {
          url,
          id: fc.oneof(fc.string({ maxLength: 3 }), fc.constant(undefined)),
          weight: fc.oneof(fc.double({ noNaN: false }), fc.integer({ min: 1, max: 5 })),
          priority: fc.oneof(fc.integer({ min: -2, max: 130 }), fc.double()),
          zone: fc.oneof(fc.string({ maxLength: 3 }), fc.integer()),
        },
        { requiredKeys: ['url'] },
      ),
    );
    fc.assert(
      fc.property(record, (r) => {
        const slow = checkWithSchema(r);
        const fast = checkInstance(r);
        expect(fast.ok).toBe(slow.ok);
        if (fast.ok && slow.ok) expect(fast.instance).toEqual(slow.instance);
      }),
      { numRuns: 3000, seed: 42 },
    );
  });
});
