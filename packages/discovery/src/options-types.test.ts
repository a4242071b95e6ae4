// Options the documented types allow and the schemas take, written without casts. The registrars'
// schemas took `maxResponseBytes` while their types did not name it (npm run typecheck refused
// it); the schemas' input types left out readonly lists and a Buffer's Uint8Array, which the
// documented types allow (each type is now checked against its schema's input).

import { toInstance } from '@picket/core/internal';
import { describe, expect, it } from 'vitest';
import { dns } from './dns.ts';
import { etcd } from './etcd.ts';
import { eureka } from './eureka.ts';
import { kubernetes } from './kubernetes.ts';
import { registerConsul } from './register-consul.ts';
import { registerEureka } from './register-eureka.ts';
import { where } from './where.ts';

const PEERS = ['http://127.0.0.1:1/eureka', 'http://127.0.0.1:2/eureka'] as const;

describe('discovery option types agree with what the options accept', () => {
  it('takes a readonly list of Eureka peers, a Buffer CA and maxResponseBytes on the registrars', async () => {
    const made = [
      eureka({ url: PEERS, app: 'inventory' }),
      kubernetes({
        service: 'inventory',
        apiServer: 'https://127.0.0.1:1',
        token: 't',
        ca: Buffer.from('x'),
      }),
    ];
    const registrars = [
      registerConsul({
        url: 'http://127.0.0.1:1',
        service: { name: 'inventory', id: 'inventory-1', port: 8080 },
        ttlMs: 10_000,
        maxResponseBytes: 1 << 20,
      }),
      registerEureka({
        url: PEERS,
        app: 'inventory',
        instance: { instanceId: 'inventory-1', hostName: 'localhost', ipAddr: '127.0.0.1', port: 8080 },
        maxResponseBytes: 1 << 20,
      }),
    ];
    expect(made.every((p) => typeof p.start === 'function')).toBe(true);
    expect(registrars.every((r) => typeof r.close === 'function')).toBe(true);
    for (const p of made) await p.close();
    for (const r of registrars) await r.close();
  });

  // A list a caller keeps `as const` (or types readonly) was refused by tsc for these five.
  it('takes readonly lists of DNS servers, etcd endpoints, Consul tags and where() criteria', async () => {
    const servers = ['127.0.0.1:1'] as const;
    const endpoints = ['http://127.0.0.1:1'] as const;
    const tags = ['v2'] as const;
    const zones = ['eu-1a', 'eu-1b'] as const;
    const tracks = ['canary', 'stable'] as const;
    const made = [
      dns({ hostname: 'inventory.test', port: 8080, servers }),
      etcd({ endpoints, prefix: '/services/inventory/' }),
    ];
    const registrar = registerConsul({
      url: 'http://127.0.0.1:1',
      service: { name: 'inventory', id: 'inventory-1', port: 8080, tags },
      ttlMs: 10_000,
    });
    const matches = where({ zone: zones, metadata: { track: tracks } });
    const instance = (zone: string, track: string) =>
      toInstance({ url: 'http://127.0.0.1:8080', zone, metadata: { track } });
    expect(matches(instance('eu-1b', 'stable'))).toBe(true);
    expect(matches(instance('eu-1c', 'stable'))).toBe(false);
    expect(matches(instance('eu-1a', 'beta'))).toBe(false);
    for (const p of made) await p.close();
    await registrar.close();
  });
});
