import { toInstance } from '@picket/core/internal';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { tcpCheck } from './tcp-check.ts';
import { closedPort, type TestServer, testServer, unacceptedPort } from './test-support.ts';

const never = new AbortController().signal;

describe('tcpCheck', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await testServer();
  });
  afterAll(() => server.close());

  it('passes when the port accepts, and closes the connection', async () => {
    const before = server.connections;
    const result = await tcpCheck().run(server.instance, never);
    expect(result).toMatchObject({ ok: true, layer: 'l4' });
    expect(result.reason).toMatch(
      new RegExp(`^l4: connected to 127\\.0\\.0\\.1:${server.port} in [\\d.]+ ms$`),
    );
    // The server may see the connection a turn after the client has it.
    await vi.waitFor(() => expect(server.connections).toBe(before + 1), { timeout: 5000, interval: 10 });
  });

  it('fails with "connection refused" on a closed port', async () => {
    const port = await closedPort();
    const result = await tcpCheck().run(toInstance(`http://127.0.0.1:${port}`), never);
    expect(result.ok).toBe(false);
    expect(result.reason).toMatch(
      new RegExp(`^l4: connection refused connecting to 127\\.0\\.0\\.1:${port} in [\\d.]+ ms$`),
    );
  });

  it('connects to the port option instead of the instance port', async () => {
    const port = await closedPort();
    const result = await tcpCheck({ port: server.port }).run(toInstance(`http://127.0.0.1:${port}`), never);
    expect(result.ok).toBe(true);
  });

  it('stops at once when aborted mid-connect', async () => {
    const controller = new AbortController();
    const pending = tcpCheck().run(server.instance, controller.signal);
    controller.abort();
    const result = await pending;
    expect(result.ok).toBe(false);
    expect(result.reason).toBe(`l4: aborted connecting to 127.0.0.1:${server.port}`);
  });

  it('enforces its timeout when the SYN goes unanswered', async (ctx) => {
    const listener = await unacceptedPort();
    if (listener === undefined) {
      if (process.env.CI === 'true') throw new Error('python3 is needed for this test (Debian: python3)');
      ctx.skip();
      return;
    }
    try {
      const start = performance.now();
      const result = await tcpCheck({ timeout: 300 }).run(
        toInstance(`http://127.0.0.1:${listener.port}`),
        never,
      );
      expect(result.ok).toBe(false);
      expect(result.reason).toBe(`l4: timed out after 300 ms connecting to 127.0.0.1:${listener.port}`);
      expect(performance.now() - start).toBeGreaterThanOrEqual(290);
    } finally {
      await listener.close();
    }
  });

  it('rejects a port out of range', () => {
    expect(() => tcpCheck({ port: 70000 })).toThrow(/`port` must be between 1 and 65535, got 70000/);
  });
});
