import { healthOptionsSchema } from '@picket/health';
import { describe, expect, it, vi } from 'vitest';
import { type ClientOptions, createClient, isPicketError, PicketError, tcpCheck } from './index.ts';

/** The error createClient throws for `options`; a client it makes instead is closed, and fails the test. */
async function rejection(options: ClientOptions): Promise<PicketError> {
  try {
    const client = createClient(options);
    await client.close();
  } catch (error) {
    return error as PicketError;
  }
  throw new Error('expected createClient to throw');
}

describe('createClient (picket)', () => {
  it('rejects a negative health.interval with PICKET_INVALID_OPTIONS naming the option and the value', async () => {
    const error = await rejection({
      service: 's',
      discovery: ['http://127.0.0.1:1'],
      health: { check: tcpCheck(), interval: -1 },
    });
    expect(error).toBeInstanceOf(PicketError);
    expect(isPicketError(error, 'PICKET_INVALID_OPTIONS')).toBe(true);
    // Named from the client's side (`health.interval`, not the checker's `interval`), with the value.
    expect(error.message).toMatch(
      /`health\.interval` must be a number of milliseconds from 1 to 2147483647, got -1$/,
    );
  });

  it('names an unknown health option under `health` (it said "value has unknown option `health.intervall`")', async () => {
    const error = await rejection({
      service: 's',
      discovery: ['http://127.0.0.1:1'],
      health: { check: tcpCheck(), intervall: 5 } as never,
    });
    expect(error.message).toBe('Invalid client options: `health` has unknown option `intervall`');
  });

  it.each([
    [{ retry: { retries: 3, minDelayMs: 1500 } }, '`retry` has unknown option `minDelayMs`'],
    [{ retry: { backoff: { min: 1 } } }, '`retry.backoff` has unknown option `min`'],
    [{ breaker: { threshold: 0.5 } }, '`breaker` has unknown option `threshold`'],
    [{ outlierDetection: { consecutive5xx: 3 } }, '`outlierDetection` has unknown option `consecutive5xx`'],
  ])(
    'names an unknown key inside an option that may be false (%j; it said "Unrecognized keys")',
    async (options, message) => {
      const error = await rejection({
        service: 's',
        discovery: ['http://127.0.0.1:1'],
        ...(options as object),
      });
      expect(error.message).toBe(`Invalid client options: ${message}`);
    },
  );

  it('names a bad health value in the client’s words, leaving back-quoted values alone', async () => {
    const error = await rejection({
      service: 's',
      discovery: ['http://127.0.0.1:1'],
      health: { check: tcpCheck(), source: 5, healthyThreshold: '`2`' } as never,
    });
    // The path comes from the parse itself; no text of the message is rewritten.
    expect(error.message).toBe(
      'Invalid client options: `health.healthyThreshold` must be a positive integer, got "`2`"; ' +
        '`health.source` must be a string, got 5',
    );
  });

  it('parses health options once', async () => {
    const parse = vi.spyOn(healthOptionsSchema, 'safeParse');
    try {
      const client = createClient({
        service: 's',
        discovery: ['http://127.0.0.1:1'],
        health: { check: tcpCheck(), interval: 60_000 },
      });
      await client.close();
      expect(parse).toHaveBeenCalledTimes(1);
    } finally {
      parse.mockRestore();
    }
  });

  it.each([
    [{}, '{}'],
    [5, '5'],
  ])(
    'rejects healthSources %j beside health, typed and by name (it threw a TypeError)',
    async (sources, shown) => {
      const held = process.getActiveResourcesInfo().length;
      for (const health of [{ check: tcpCheck() }, () => ({ start() {}, async close() {} })]) {
        const error = await rejection({
          service: 's',
          discovery: ['http://127.0.0.1:1'],
          health,
          healthSources: sources as never,
        });
        expect(isPicketError(error, 'PICKET_INVALID_OPTIONS')).toBe(true);
        expect(error.message).toBe(
          `Invalid client options: \`healthSources\` must be an array of health source names, got ${shown}`,
        );
      }
      // A client that failed to construct holds nothing that keeps the process alive.
      expect(process.getActiveResourcesInfo().length).toBe(held);
    },
  );

  it('rejects a record whose metadata holds a BigInt, naming the field (it threw a TypeError later)', async () => {
    const error = await rejection({
      service: 's',
      discovery: [{ url: 'http://127.0.0.1:1', metadata: { n: 1n } }],
    });
    expect(isPicketError(error, 'PICKET_INVALID_OPTIONS')).toBe(true);
    expect(error.message).toContain(
      'Invalid client options: `discovery[0]` is not a valid instance: `metadata.n` must be JSON data, not a BigInt, got 1n',
    );
  });

  it.each([
    ['http://127.0.0.1:0', 'must have a port between 1 and 65535'],
    [
      `http://${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(62)}:80`,
      'must have a host of at most 253 characters',
    ],
  ])('rejects the instance URL %s at construction, as the { host, port } form does', async (url, reason) => {
    const error = await rejection({ service: 's', discovery: [url] });
    expect(isPicketError(error, 'PICKET_INVALID_OPTIONS')).toBe(true);
    expect(error.message).toContain(`\`discovery[0]\` is not a valid instance: ${reason}`);
  });
});
