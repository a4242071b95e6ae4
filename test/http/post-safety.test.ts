// Replay safety with real instance processes: a POST whose connection drops after it was sent
// is not sent again (the server may have acted on it); a POST refused at connect never reached
// a server, so it is sent to another instance.

import { createClient } from '@picket/http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, type InstanceProcess, spawnInstances } from '../fixtures/instances.ts';

let instances: InstanceProcess[];
beforeAll(async () => {
  instances = await spawnInstances(2);
});
afterAll(async () => {
  await Promise.all(instances.map((i) => i.close()));
});

async function posts(path: string): Promise<number> {
  let total = 0;
  for (const i of instances) total += (await i.stats()).byPath[`POST ${path}`] ?? 0;
  return total;
}

describe('POST replay safety', () => {
  it('does not replay a POST whose connection dropped after sending', async () => {
    const client = createClient({ service: 'orders', discovery: instances.map((i) => i.url) });
    for (let i = 0; i < 5; i++) {
      const error = await client.request({ path: '/drop', method: 'POST', body: `order-${i}` }).then(
        () => undefined,
        (e: unknown) => e as { code: string; details: { attempts: unknown[] } },
      );
      expect(error?.code).toBe('PICKET_ATTEMPTS_EXHAUSTED');
      expect(error?.details.attempts).toHaveLength(1);
    }
    expect(await posts('/drop')).toBe(5);
    await client.close();
  });

  it('replays a POST refused at connect on another instance', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const client = createClient({
      service: 'orders',
      // The refusing instance is preferred, so every POST is refused before it is retried.
      discovery: [dead, ...instances.map((i) => ({ url: i.url, priority: 1 }))],
      breaker: false,
      outlierDetection: false,
    });
    for (let i = 0; i < 5; i++) {
      const res = await client.request({ path: '/orders', method: 'POST', body: `order-${i}` });
      expect(res.statusCode).toBe(200);
      expect(((await res.body.json()) as { bodyBytes: number }).bodyBytes).toBe(`order-${i}`.length);
    }
    expect(await posts('/orders')).toBe(5);
    await client.close();
  });
});
