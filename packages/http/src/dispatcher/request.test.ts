// The request state machine, driven by hand through fake pools (fake-pool.ts) on a fake clock:
// retries, hedges, deadlines, the retry budget, breaker admission and the body replay rules,
// without sockets. Balancer, breakers, budget and deadlines are the real ones.

import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type FakeClient, fakeClient, transportError } from './fake-pool.ts';

let fake: FakeClient | null = null;

function start(count: number, options: Parameters<typeof fakeClient>[1] = {}): FakeClient {
  fake = fakeClient(count, { strategy: 'round-robin', outlierDetection: false, ...options });
  return fake;
}

beforeEach(() => {
  vi.useFakeTimers({
    toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'performance', 'Date'],
  });
});

afterEach(async () => {
  vi.useRealTimers();
  await fake?.client.destroy();
  fake = null;
});

describe('a request over fake pools', () => {
  it('retries a 503 on another instance and hands the caller the second answer', async () => {
    const { sent, call } = start(2, { breaker: false });
    const caller = call();
    expect(sent).toHaveLength(1);
    sent[0]!.respond(503, 'busy');
    // The first retry goes at once, to the instance not tried yet.
    expect(sent).toHaveLength(2);
    expect(sent[1]!.url).not.toBe(sent[0]!.url);
    expect(caller.statusCode).toBe(0);
    sent[1]!.respond(200, 'ok');
    expect(caller.statusCode).toBe(200);
    expect(caller.body).toBe('ok');
    expect(caller.ended).toBe(true);
  });

  it('hands the caller the last 503 when no retry is left', async () => {
    const { sent, call } = start(2, { breaker: false, retry: { retries: 1 } });
    const caller = call();
    sent[0]!.respond(503, 'first');
    sent[1]!.respond(503, 'second');
    expect(sent).toHaveLength(2);
    expect(caller.statusCode).toBe(503);
    expect(caller.body).toBe('second');
  });

  it('cancels the losing attempt of a hedge race, whichever wins', async () => {
    const { sent, call } = start(3, { breaker: false, hedge: { delayMs: 50 } });
    const hedgeWins = call();
    sent[0]!.start();
    await vi.advanceTimersByTimeAsync(49);
    expect(sent).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(sent).toHaveLength(2);
    expect(sent[1]!.url).not.toBe(sent[0]!.url);
    sent[1]!.respond(200, 'hedge');
    expect(hedgeWins.body).toBe('hedge');
    expect(sent[0]!.controller.aborted).toBe(true);
    expect((sent[0]!.controller.reason as { code?: string }).code).toBe('PICKET_ABORTED');
    sent[0]!.settleAbort();
    expect(hedgeWins.error).toBeNull();

    const primaryWins = call();
    await vi.advanceTimersByTimeAsync(50);
    expect(sent).toHaveLength(4);
    sent[2]!.respond(200, 'primary');
    expect(primaryWins.body).toBe('primary');
    expect(sent[3]!.controller.aborted).toBe(false);
    // The hedge never started on a connection: it is aborted as soon as it does.
    sent[3]!.start();
    expect(sent[3]!.controller.aborted).toBe(true);
  });

  it('abandons an attempt at perTryTimeout for another, and fails the call at its timeout', async () => {
    const { sent, call } = start(3, {
      breaker: false,
      perTryTimeout: 100,
      timeout: 250,
      retry: { backoff: { baseMs: 1, maxMs: 1 } },
    });
    const caller = call();
    sent[0]!.start();
    await vi.advanceTimersByTimeAsync(99);
    expect(sent).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(sent[0]!.controller.aborted).toBe(true);
    sent[0]!.settleAbort();
    expect(sent).toHaveLength(2);
    sent[1]!.start();
    await vi.advanceTimersByTimeAsync(100);
    sent[1]!.settleAbort();
    // The second retry waits its backoff (1 ms here).
    expect(sent).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(sent).toHaveLength(3);
    sent[2]!.start();
    await vi.advanceTimersByTimeAsync(48);
    expect(caller.error).toBeNull();
    await vi.advanceTimersByTimeAsync(1);
    expect(caller.error?.code).toBe('PICKET_TIMEOUT');
    expect(caller.error?.message).toContain('250');
    expect(sent[2]!.controller.aborted).toBe(true);
  });

  it('sends no retry once the retry budget is spent', async () => {
    const { sent, call } = start(2, { breaker: false, retry: { budget: { percent: 0, minPerSecond: 0 } } });
    const caller = call();
    sent[0]!.start().fail(transportError());
    expect(sent).toHaveLength(1);
    expect(caller.error?.code).toBe('PICKET_ATTEMPTS_EXHAUSTED');
    expect(caller.error?.message).toContain('retry budget is exhausted');
  });

  it('sends nothing to an instance whose breaker opened, and fails typed when every breaker is open', async () => {
    const { sent, call } = start(2, {
      retry: false,
      breaker: { volumeThreshold: 2, errorThresholdPercentage: 50, resetTimeoutMs: 60_000 },
    });
    // Round robin alternates: two failures on each instance open both breakers.
    for (let i = 0; i < 4; i++) {
      call();
      sent[i]!.respond(500);
    }
    const refused = call();
    expect(sent).toHaveLength(4);
    expect(refused.error?.code).toBe('PICKET_NO_AVAILABLE_INSTANCE');
  });

  it('goes round an open breaker to the instance whose breaker is closed', async () => {
    const { sent, call } = start(2, {
      retry: false,
      breaker: { volumeThreshold: 2, errorThresholdPercentage: 50, resetTimeoutMs: 60_000 },
    });
    const bad = 'http://10.0.0.1:8080';
    for (let i = 0; i < 4; i++) {
      call();
      sent[i]!.respond(sent[i]!.url === bad ? 500 : 200);
    }
    for (let i = 0; i < 4; i++) {
      const caller = call();
      expect(sent.at(-1)!.url).not.toBe(bad);
      sent.at(-1)!.respond(200, 'good');
      expect(caller.body).toBe('good');
    }
    expect(sent).toHaveLength(8);
  });

  it('does not send a streamed body again once it may have reached the server', async () => {
    const { sent, call } = start(2, { breaker: false });
    const caller = call({ method: 'PUT', body: Readable.from(['a', 'b']) });
    sent[0]!.start().fail(transportError());
    expect(sent).toHaveLength(1);
    expect(caller.error?.code).toBe('PICKET_ATTEMPTS_EXHAUSTED');
    expect(caller.error?.message).toContain('never replayed');
  });

  it('sends a streamed body again when the first attempt never reached the server', async () => {
    const { sent, call } = start(2, { breaker: false });
    const caller = call({ method: 'PUT', body: Readable.from(['a', 'b']) });
    // Refused before a connection took the request: nothing was sent.
    sent[0]!.fail(transportError('ECONNREFUSED'));
    expect(sent).toHaveLength(2);
    sent[1]!.respond(201);
    expect(caller.statusCode).toBe(201);
  });
});
