// Every instance refuses connections: each call fails fast with a typed error, never hangs, and
// keeps doing so call after call (breakers open, the budget runs dry, panic routing kicks in).

import { isPicketError } from '@picket/core';
import { createClient } from '@picket/http';
import { describe, expect, it } from 'vitest';
import { freePort } from '../fixtures/instances.ts';

describe('every instance refusing connections', () => {
  it('answers each call with a typed error within 3 s, call after call', async () => {
    const ports = [await freePort(), await freePort(), await freePort()];
    const client = createClient({
      service: 'inventory',
      discovery: ports.map((p) => `http://127.0.0.1:${p}`),
    });
    const codes = new Set<string>();
    for (let i = 0; i < 60; i++) {
      const started = performance.now();
      const error = await client.request({ path: '/' }).then(
        () => undefined,
        (e: unknown) => e,
      );
      const took = performance.now() - started;
      expect(took).toBeLessThan(3000);
      expect(isPicketError(error)).toBe(true);
      codes.add((error as { code: string }).code);
    }
    // Early calls exhaust their attempts; once breakers open, calls fail before any connect.
    for (const code of codes)
      expect(['PICKET_ATTEMPTS_EXHAUSTED', 'PICKET_NO_AVAILABLE_INSTANCE']).toContain(code);
    const concurrent = await Promise.all(
      Array.from({ length: 50 }, async () => {
        const started = performance.now();
        await client.request({ path: '/' }).catch(() => undefined);
        return performance.now() - started;
      }),
    );
    expect(Math.max(...concurrent)).toBeLessThan(3000);
    await client.close();
  });
});
