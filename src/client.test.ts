import { describe, expect, it } from 'vitest';
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
});
