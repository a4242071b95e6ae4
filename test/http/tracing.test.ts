// Diagnostics channels for tracers: `picket:request` (a tracing channel around each call) and
// `picket:attempt:start` / `picket:attempt:end`; and, with OpenTelemetry's undici
// instrumentation, undici's span for each attempt (retries included, which start from timers and
// socket events) nested under the caller's active span.

import diagnostics from 'node:diagnostics_channel';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { createClient } from '@picket/http';
import { afterAll, describe, expect, it } from 'vitest';
import { echo, testResources } from '../fixtures/http-servers.ts';

const resources = testResources();

interface Seen {
  name: string;
  message: Record<string, unknown>;
}

function listen(): { seen: Seen[]; stop(): void } {
  const seen: Seen[] = [];
  const request = diagnostics.tracingChannel('picket:request');
  const handlers = {
    start: (m: unknown) => seen.push({ name: 'start', message: { ...(m as object) } }),
    end: (m: unknown) => seen.push({ name: 'end', message: { ...(m as object) } }),
    asyncStart: (m: unknown) => seen.push({ name: 'asyncStart', message: { ...(m as object) } }),
    asyncEnd: (m: unknown) => seen.push({ name: 'asyncEnd', message: { ...(m as object) } }),
    error: (m: unknown) => seen.push({ name: 'error', message: { ...(m as object) } }),
  };
  const start = (m: unknown) => seen.push({ name: 'attempt:start', message: { ...(m as object) } });
  const end = (m: unknown) => seen.push({ name: 'attempt:end', message: { ...(m as object) } });
  request.subscribe(handlers);
  diagnostics.subscribe('picket:attempt:start', start);
  diagnostics.subscribe('picket:attempt:end', end);
  return {
    seen,
    stop() {
      request.unsubscribe(handlers);
      diagnostics.unsubscribe('picket:attempt:start', start);
      diagnostics.unsubscribe('picket:attempt:end', end);
    },
  };
}

describe('diagnostics channels', () => {
  it('publish a call (start, end, asyncStart, asyncEnd) and each of its attempts', async () => {
    const live = await resources.server(echo('a'));
    const client = resources.track(
      createClient({
        service: 'inventory',
        discovery: ['http://127.0.0.1:1', { url: live.url, priority: 1 }],
        breaker: false,
      }),
    );
    const { seen, stop } = listen();
    const res = await client.request({ path: '/items?access_token=secret' });
    await res.body.dump();
    stop();
    expect(seen.map((s) => s.name)).toEqual([
      'start',
      'attempt:start',
      'end',
      'attempt:end',
      'attempt:start',
      'attempt:end',
      'asyncStart',
      'asyncEnd',
    ]);
    expect(seen[0]?.message).toEqual({
      service: 'inventory',
      method: 'GET',
      path: '/items?access_token=[REDACTED]',
    });
    expect(seen.at(-1)?.message.result).toEqual({ statusCode: 200, attempts: 2 });
    const attempts = seen.filter((s) => s.name === 'attempt:end').map((s) => s.message);
    expect(attempts[0]).toMatchObject({ instance: 'http://127.0.0.1:1', attempt: 1, retry: false });
    expect(attempts[0]?.outcome).toMatchObject({ ok: false, error: 'connect' });
    expect(attempts[1]).toMatchObject({ instance: live.url, attempt: 2, retry: true, hedge: false });
  });

  it('publish error before asyncStart when a call fails', async () => {
    const client = resources.track(createClient({ service: 'inventory', discovery: ['http://127.0.0.1:1'] }));
    const { seen, stop } = listen();
    await client.request({ path: '/' }).catch(() => undefined);
    stop();
    const names = seen.map((s) => s.name).filter((n) => !n.startsWith('attempt'));
    expect(names).toEqual(['start', 'end', 'error', 'asyncStart', 'asyncEnd']);
    expect(seen.find((s) => s.name === 'error')?.message.error).toMatchObject({
      code: 'PICKET_ATTEMPTS_EXHAUSTED',
    });
  });
});

describe('with OpenTelemetry undici instrumentation', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  trace.setGlobalTracerProvider(provider);
  const instrumentation = new UndiciInstrumentation();
  instrumentation.setTracerProvider(provider);
  instrumentation.enable();
  afterAll(async () => {
    instrumentation.disable();
    trace.disable();
    context.disable();
    await provider.shutdown();
  });

  it("nests undici's span for every attempt, retries included, under the caller's active span", async () => {
    let failFirst = false;
    const live = await resources.server((req, res, body) => {
      // The first attempt answers 503: the retry starts from the socket's events, not the caller.
      if (failFirst) {
        failFirst = false;
        res.writeHead(503).end();
        return;
      }
      echo('a')(req, res, body);
    });
    const client = resources.track(
      createClient({ service: 'inventory', discovery: [live.url], breaker: false, outlierDetection: false }),
    );
    // The connection is made outside the caller's span: its socket's events (where the 503
    // arrives and the retry is decided) run in that other context.
    await (await client.request({ path: '/warm-up' })).body.dump();
    failFirst = true;
    exporter.reset();
    const tracer = provider.getTracer('test');
    await tracer.startActiveSpan('caller', async (span) => {
      const res = await client.request({ path: '/items' });
      expect(res.statusCode).toBe(200);
      await res.body.dump();
      span.end();
    });
    const spans = exporter.getFinishedSpans();
    const caller = spans.find((s) => s.name === 'caller');
    const attempts = spans.filter((s) => s !== caller);
    expect(attempts).toHaveLength(2);
    for (const s of attempts) {
      expect(s.parentSpanContext?.spanId).toBe(caller?.spanContext().spanId);
      expect(s.spanContext().traceId).toBe(caller?.spanContext().traceId);
    }
    expect(attempts.map((s) => s.attributes['http.response.status_code'])).toEqual([503, 200]);
  });
});
