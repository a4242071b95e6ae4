// A caller's own mistake — an invalid request, its upload stream failing, its abort — fails that
// call once and is neutral for the instance: no retry, no breaker count, no outlier ejection, no
// latency sample. Checked on every front (request, undici's request on the dispatcher, fetch,
// axios), then the instances must serve valid calls at once.

import { Readable } from 'node:stream';
import { isPicketError } from '@picket/core';
import { type Client, createClient } from '@picket/http';
import { axiosAdapter } from '@picket/http/axios';
import axios from 'axios';
import { request as undiciRequest } from 'undici';
import { describe, expect, it } from 'vitest';
import { after as answerAfter, echo, type TestServer, testResources } from '../fixtures/http-servers.ts';

const resources = testResources({ destroy: true });

async function fleet(): Promise<{ client: Client; servers: TestServer[] }> {
  const servers = await Promise.all([
    resources.server(echo('a')),
    resources.server(echo('b')),
    resources.server(echo('c')),
  ]);
  const client = resources.track(
    createClient({
      service: 'inventory',
      discovery: servers.map((s) => s.url),
      // Quick to open and to eject: charging a caller's mistake would show within a few calls.
      breaker: { volumeThreshold: 2, errorThresholdPercentage: 10 },
      outlierDetection: { consecutiveFailures: 2 },
    }),
  );
  return { client, servers };
}

/** Every instance as if the calls had never been made, and serving valid calls at once. */
async function untouched(client: Client): Promise<void> {
  for (const instance of client.snapshot().instances) {
    expect(instance, instance.url).toMatchObject({ state: 'healthy', failures: 0, requests: 0, active: 0 });
    expect(instance.meanLatencyMs, instance.url).toBeUndefined();
    expect(instance.breaker?.failures ?? 0, instance.url).toBe(0);
  }
  for (let i = 0; i < 20; i++) {
    const res = await client.request({ path: '/ok' });
    expect(res.statusCode).toBe(200);
    await res.body.dump();
  }
}

/** An upload that sends `bytes`, then fails with the caller's own error. */
function failingUpload(bytes = 1024): Readable {
  let sent = false;
  return new Readable({
    read() {
      if (!sent) {
        sent = true;
        this.push(Buffer.alloc(bytes, 1));
        return;
      }
      setImmediate(() => this.destroy(new Error('the caller could not read its file')));
    },
  });
}

function failingWebStream(): ReadableStream<Uint8Array> {
  let sent = false;
  return new ReadableStream({
    pull(controller) {
      if (!sent) {
        sent = true;
        controller.enqueue(new Uint8Array(1024));
        return;
      }
      controller.error(new Error('the caller could not read its file'));
    },
  });
}

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => error,
  );

describe('an invalid request', () => {
  it('with CR/LF in a header value fails PICKET_INVALID_REQUEST on request and on the dispatcher, is never sent, and charges no instance', async () => {
    const { client, servers } = await fleet();
    for (let i = 0; i < 6; i++) {
      const viaRequest = await failure(client.request({ path: '/', headers: { 'x-note': 'a\r\nb' } }));
      expect(isPicketError(viaRequest, 'PICKET_INVALID_REQUEST'), String(viaRequest)).toBe(true);
      const viaUndici = await failure(
        undiciRequest('http://inventory/', { dispatcher: client.dispatcher, headers: { 'x-note': 'a\nb' } }),
      );
      expect(isPicketError(viaUndici, 'PICKET_INVALID_REQUEST'), String(viaUndici)).toBe(true);
    }
    expect(servers.map((s) => s.requests)).toEqual([0, 0, 0]);
    await untouched(client);
  });

  it('with a plain object as body fails PICKET_INVALID_REQUEST once and charges no instance', async () => {
    const { client, servers } = await fleet();
    const retries: unknown[] = [];
    client.on('retry', (e) => retries.push(e));
    for (let i = 0; i < 6; i++) {
      const error = await failure(client.request({ path: '/', method: 'PUT', body: { id: 1 } as never }));
      expect(isPicketError(error, 'PICKET_INVALID_REQUEST'), String(error)).toBe(true);
    }
    expect(retries).toEqual([]);
    expect(servers.map((s) => s.requests)).toEqual([0, 0, 0]);
    await untouched(client);
  });
  // axios itself strips CR/LF from header values and drops invalid names: it cannot send these.
});

describe("a caller's upload stream that fails mid-body", () => {
  it("fails request with the caller's own error, once, and charges no instance", async () => {
    const { client } = await fleet();
    const retries: unknown[] = [];
    client.on('retry', (e) => retries.push(e));
    for (let i = 0; i < 8; i++) {
      const error = await failure(client.request({ path: '/', method: 'POST', body: failingUpload() }));
      expect((error as Error).message).toBe('the caller could not read its file');
    }
    expect(retries).toEqual([]);
    await untouched(client);
  });

  it('fails fetch (a web stream body) and axios (a Readable body), and charges no instance', async () => {
    const { client } = await fleet();
    const api = axios.create({ adapter: axiosAdapter(client) });
    for (let i = 0; i < 4; i++) {
      const fetched = await failure(
        client.fetch('/', { method: 'POST', body: failingWebStream() as never, duplex: 'half' }),
      );
      expect(fetched).toBeInstanceOf(Error);
      const posted = await failure(api.post('/', failingUpload()));
      expect(posted).toBeInstanceOf(Error);
    }
    await untouched(client);
  });
});

describe("a caller's abort", () => {
  it('on request, fetch and axios is neutral: no failure, no request counted, no latency sample', async () => {
    const servers = await Promise.all([
      resources.server(answerAfter(5_000, 'a')),
      resources.server(answerAfter(5_000, 'b')),
    ]);
    const client = resources.track(
      createClient({ service: 'inventory', discovery: servers.map((s) => s.url), hedge: false }),
    );
    const api = axios.create({ adapter: axiosAdapter(client) });
    for (let i = 0; i < 4; i++) {
      const calls = [
        (signal: AbortSignal) => client.request({ path: '/', signal }),
        (signal: AbortSignal) => client.fetch('/', { signal }),
        (signal: AbortSignal) => api.get('/', { signal }),
      ];
      for (const call of calls) {
        const controller = new AbortController();
        const pending = failure(call(controller.signal));
        // Aborted once the request is on an instance.
        const before = servers.reduce((n, s) => n + s.requests, 0);
        while (servers.reduce((n, s) => n + s.requests, 0) === before)
          await new Promise((resolve) => setTimeout(resolve, 5));
        controller.abort(new Error('the caller gave up'));
        expect(await pending).toBeInstanceOf(Error);
      }
    }
    for (const instance of client.snapshot().instances) {
      expect(instance, instance.url).toMatchObject({ state: 'healthy', failures: 0, requests: 0, active: 0 });
      expect(instance.meanLatencyMs).toBeUndefined();
    }
  });
});
