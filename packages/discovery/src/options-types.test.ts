// Options the documented types allow and the schemas take, written without casts. The registrars'
// schemas took `maxResponseBytes` while their types did not name it (npm run typecheck refused
// it); the schemas' input types left out readonly lists and a Buffer's Uint8Array, which the
// documented types allow (each type is now checked against its schema's input).

import { describe, expect, it } from 'vitest';
import { eureka } from './eureka.ts';
import { kubernetes } from './kubernetes.ts';
import { registerConsul } from './register-consul.ts';
import { registerEureka } from './register-eureka.ts';

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
});
