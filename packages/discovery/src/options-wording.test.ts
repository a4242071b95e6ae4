import { isPicketError } from '@picket/core';
import { describe, expect, it } from 'vitest';
import { consul } from './consul.ts';
import { dns } from './dns.ts';
import { etcd } from './etcd.ts';
import { fileList } from './file-list.ts';
import { kubernetes } from './kubernetes.ts';
import { registerConsul } from './register-consul.ts';
import { registerEureka } from './register-eureka.ts';

const LOCAL = 'http://127.0.0.1:1';

function invalid(make: () => unknown): string {
  try {
    (make() as { close?: () => unknown }).close?.();
  } catch (error) {
    expect(isPicketError(error, 'PICKET_INVALID_OPTIONS')).toBe(true);
    return (error as Error).message;
  }
  throw new Error('expected PICKET_INVALID_OPTIONS');
}

// These fields had no message of their own, so zod's showed through ("Too small: expected number
// to be >=1"); ports now read as they do in instance records and health checks.
describe('discovery options say ports and counts as the other packages do', () => {
  it.each([
    ['dns', () => dns({ hostname: 'localhost', port: 0 }), 'Invalid dns options: `port`'],
    [
      'kubernetes',
      () => kubernetes({ service: 's', apiServer: LOCAL, token: 't', port: 0 }),
      'Invalid kubernetes options: `port`',
    ],
    [
      'registerConsul',
      () => registerConsul({ url: LOCAL, service: { name: 's', id: 's-1', port: 0 }, ttlMs: 1000 }),
      'Invalid registerConsul options: `service.port`',
    ],
    [
      'registerEureka',
      () =>
        registerEureka({
          url: LOCAL,
          app: 's',
          instance: { instanceId: 's-1', hostName: 'localhost', ipAddr: '127.0.0.1', port: 0 },
        }),
      'Invalid registerEureka options: `instance.port`',
    ],
  ])('%s: a port of 0 must be between 1 and 65535', (_, make, prefix) => {
    expect(invalid(make)).toBe(`${prefix} must be between 1 and 65535, got 0`);
  });

  it('says counts and the backoff factor with their rules', () => {
    const base = { hostname: 'localhost', port: 80 };
    expect(invalid(() => dns({ ...base, tries: 0 }))).toBe(
      'Invalid dns options: `tries` must be a positive integer, got 0',
    );
    expect(invalid(() => dns({ ...base, maxRecords: 2e6 }))).toBe(
      'Invalid dns options: `maxRecords` must be at most 1000000, got 2000000',
    );
    expect(invalid(() => dns({ ...base, backoff: { factor: 0.5 } }))).toBe(
      'Invalid dns options: `backoff.factor` must be a number from 1 to 10, got 0.5',
    );
  });
});

// Where a schema gave no message of its own, zod's showed through: "Invalid dns options: value
// Invalid input: expected object, received number, got 123".
describe('discovery factories say what they expected, as createClient does', () => {
  it.each([
    ['dns(123)', () => dns(123 as never), 'Invalid dns options: expected an object, got 123'],
    [
      'etcd()',
      () => (etcd as (o?: unknown) => unknown)(),
      'Invalid etcd options: expected an object, got undefined',
    ],
    ['consul("x")', () => consul('x' as never), 'Invalid consul options: expected an object, got "x"'],
    ['fileList({})', () => fileList({} as never), 'Invalid fileList path: expected a string, got {}'],
    ['fileList("")', () => fileList(''), 'Invalid fileList path: must not be empty, got ""'],
    [
      'dns servers []',
      () => dns({ hostname: 'a.example', port: 80, servers: [] }),
      'Invalid dns options: `servers` must not be empty, got []',
    ],
    [
      'etcd endpoints []',
      () => etcd({ endpoints: [], prefix: '/x/' }),
      'Invalid etcd options: `endpoints` must not be empty, got []',
    ],
  ])('%s', (_, make, message) => {
    expect(invalid(make)).toBe(message);
  });

  it('says which of hostname or srv is missing or too many', () => {
    expect(invalid(() => dns({} as never))).toBe(
      'Invalid dns options: `hostname` is required (with `port`), or `srv`, got undefined',
    );
    expect(invalid(() => dns({ hostname: 'a.example', port: 80, srv: '_http._tcp.a.example' }))).toBe(
      'Invalid dns options: `srv` replaces `hostname` and `port`; give one or the other, got "_http._tcp.a.example"',
    );
  });
});
