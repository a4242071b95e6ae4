// The caller's mistakes that caller-faults.test.ts leaves out, through every front (request,
// undici's request and raw dispatch on the dispatcher, fetch, axios): header values and header
// iterables undici cannot write, a synchronous iterable body that throws, inputs, paths,
// methods and per-request options of the wrong type or range. Each call settles (a promise that
// rejects, never a throw), typed, unsent, and no instance is charged.

import { isPicketError } from '@picket/core';
import { type Client, createAgent } from '@picket/http';
import { axiosAdapter } from '@picket/http/axios';
import axios, { type AxiosError } from 'axios';
import { type Dispatcher, request as undiciRequest } from 'undici';
import { describe, expect, it } from 'vitest';
import { callerFaultClients, failure, ONE_FAILURE, uncharged } from '../fixtures/caller-faults.ts';
import { echo, never, testResources } from '../fixtures/http-servers.ts';
import { waitFor } from '../fixtures/instances.ts';

const resources = testResources({ destroy: true });
const { client: tracked, fleet } = callerFaultClients(resources);

describe('a header value undici cannot write as text', () => {
  // `${value}` throws for a Symbol, and for a function whose toString throws: undici's request
  // builder fails with a TypeError (or the caller's own error) that has no code.
  const values: Array<[string, unknown]> = [
    ['a Symbol', Symbol('token')],
    [
      'a function whose toString throws',
      Object.assign(() => '', {
        toString() {
          throw new Error('the caller cannot render its header');
        },
      }),
    ],
  ];
  for (const [what, value] of values) {
    it(`(${what}) fails PICKET_INVALID_REQUEST on request and on the dispatcher, is never sent or retried, and charges no instance`, async () => {
      const { client, servers } = await fleet();
      const retries: unknown[] = [];
      client.on('retry', (e) => retries.push(e));
      for (let i = 0; i < 3; i++) {
        const viaRequest = await failure(() =>
          client.request({ path: '/', headers: { 'x-note': value as string } }),
        );
        expect(isPicketError(viaRequest, 'PICKET_INVALID_REQUEST'), String(viaRequest)).toBe(true);
        const viaUndici = await failure(() =>
          undiciRequest('http://inventory/', {
            dispatcher: client.dispatcher,
            headers: { 'x-note': value as string },
          }),
        );
        expect(isPicketError(viaUndici, 'PICKET_INVALID_REQUEST'), String(viaUndici)).toBe(true);
      }
      expect(retries).toEqual([]);
      expect(servers.map((s) => s.requests)).toEqual([0, 0]);
      uncharged(client);
      const ok = await client.request({ path: '/ok' });
      expect(ok.statusCode).toBe(200);
      await ok.body.dump();
    });
  }
});

describe('a synchronous iterable body that throws', () => {
  function* failingAfterOneChunk(): Generator<Buffer> {
    yield Buffer.from('first chunk');
    throw new Error('the caller could not produce its body');
  }

  it("fails request and undici's request with the caller's own error, once, and charges no instance", async () => {
    const { client } = await fleet();
    const retries: unknown[] = [];
    client.on('retry', (e) => retries.push(e));
    for (let i = 0; i < 3; i++) {
      for (const method of ['POST', 'PUT'] as const) {
        const viaRequest = await failure(() =>
          client.request({ path: '/', method, body: failingAfterOneChunk() as never }),
        );
        expect((viaRequest as Error).message).toBe('the caller could not produce its body');
        const viaUndici = await failure(() =>
          undiciRequest('http://inventory/', {
            dispatcher: client.dispatcher,
            method,
            body: failingAfterOneChunk() as never,
          }),
        );
        expect((viaUndici as Error).message).toBe('the caller could not produce its body');
      }
    }
    expect(retries).toEqual([]);
    uncharged(client);
  });

  it('still sends an array body and a synchronous generator that ends', async () => {
    const { client } = await fleet();
    const fromArray = await client.request({ path: '/', method: 'POST', body: ['a', 'b'] as never });
    expect(((await fromArray.body.json()) as { body: string }).body).toBe('ab');
    const fromGenerator = await client.request({
      path: '/',
      method: 'POST',
      body: (function* () {
        yield Buffer.from('c');
        yield Buffer.from('d');
      })() as never,
    });
    expect(((await fromGenerator.body.json()) as { body: string }).body).toBe('cd');
  });
});

describe('an input that is not a path or a URL', () => {
  it('rejects client.request (never throws) with PICKET_INVALID_OPTIONS naming the value', async () => {
    const { client, servers } = await fleet();
    const cases: Array<[unknown, string]> = [
      [{ path: 42 }, '42'],
      [{ path: null }, 'null'],
      [{ path: 'items/42' }, '"items/42"'],
      [{ path: 'http://elsewhere/x' }, 'http://elsewhere/x'],
      [null, 'null'],
      ['items', '"items"'],
    ];
    for (const [options, named] of cases) {
      let promise: Promise<unknown> | undefined;
      expect(() => {
        promise = client.request(options as never);
      }, JSON.stringify(options)).not.toThrow();
      const error = await failure(() => promise!);
      expect(isPicketError(error, 'PICKET_INVALID_OPTIONS'), String(error)).toBe(true);
      expect((error as Error).message).toContain(named);
    }
    expect(servers.map((s) => s.requests)).toEqual([0, 0]);
  });

  it('takes a null init as Node’s fetch does: as none', async () => {
    const { client } = await fleet();
    let promise: Promise<Response> | undefined;
    expect(() => {
      promise = client.fetch('/items/1', null as never);
    }).not.toThrow();
    const res = await promise!;
    expect(((await res.json()) as { url: string }).url).toBe('/items/1');
  });

  it('rejects client.fetch with PICKET_INVALID_OPTIONS naming the value', async () => {
    const { client, servers } = await fleet();
    const cases: Array<[unknown, string]> = [
      [42, '42'],
      [null, 'null'],
      [undefined, 'undefined'],
      [{ path: '/x' }, 'an object'],
      [{ href: 'items/42' }, '"items/42"'],
    ];
    for (const [input, named] of cases) {
      const error = await failure(() => client.fetch(input as never));
      expect(isPicketError(error, 'PICKET_INVALID_OPTIONS'), String(error)).toBe(true);
      expect((error as Error).message).toContain(named);
    }
    expect(servers.map((s) => s.requests)).toEqual([0, 0]);
  });
});

describe('per-request options of the wrong type', () => {
  // `idempotent: 'no'` is truthy: read as it is, it would let a POST be sent twice. An object
  // as `hashKey` hashes like every other object: all of them would stick to one instance.
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['idempotent', { idempotent: 'no' }, '`idempotent` must be true or false, got "no"'],
    ['idempotent', { idempotent: null }, '`idempotent` must be true or false, got null'],
    ['hashKey', { hashKey: { user: 7 } }, '`hashKey` must be a string or a finite number, got an object'],
    ['hashKey', { hashKey: Number.NaN }, '`hashKey` must be a string or a finite number, got NaN'],
  ];
  it('fail PICKET_INVALID_OPTIONS naming the option and the value on request, the dispatcher and fetch, unsent', async () => {
    const { client, servers } = await fleet();
    for (const [option, extra, message] of cases) {
      const calls = [
        () => client.request({ path: '/', method: 'POST', body: 'x', ...extra }),
        () => undiciRequest('http://inventory/', { dispatcher: client.dispatcher, method: 'POST', ...extra }),
        () => client.fetch('/', { method: 'POST', body: 'x', ...extra }),
      ];
      for (const call of calls) {
        const error = await failure(call);
        // fetch wraps a dispatcher's error in its own TypeError, as it does every network error.
        const picket = isPicketError(error) ? error : (error as Error).cause;
        expect(isPicketError(picket, 'PICKET_INVALID_OPTIONS'), `${option}: ${String(error)}`).toBe(true);
        expect((picket as Error).message).toContain(message);
      }
    }
    expect(servers.map((s) => s.requests)).toEqual([0, 0]);
    uncharged(client);
  });
});

describe("axios's timeout outside what a timer can hold", () => {
  // axios reads `timeout` with parseInt and hands it to a timer: its own adapter crashes the
  // process on a negative one, and times out at once past 2^31 - 1 ms (Node's overflow warning).
  it('fails ERR_BAD_OPTION_VALUE naming the value, unsent; in range, and parsed as axios parses it, it is honoured', async () => {
    const { client, servers } = await fleet();
    const api = axios.create({ adapter: axiosAdapter(client) });
    for (const timeout of [-1, 2 ** 31, '-5', Number.MAX_SAFE_INTEGER]) {
      const error = (await failure(() => api.get('/', { timeout: timeout as number }))) as AxiosError;
      expect(error?.code, String(timeout)).toBe('ERR_BAD_OPTION_VALUE');
      expect(error.message).toContain(`got ${JSON.stringify(timeout)}`);
    }
    expect(servers.map((s) => s.requests)).toEqual([0, 0]);
    for (const timeout of [0, 2 ** 31 - 1, '5000']) {
      const res = await api.get('/', { timeout: timeout as number });
      expect(res.status).toBe(200);
    }
    uncharged(client);
  });
});

describe('dispatch options undici would refuse', () => {
  /** dispatch() with a handler that records how the call ended. */
  function dispatched(client: Client, options: unknown): Promise<unknown> {
    return new Promise((resolve) => {
      client.dispatcher.dispatch(options as Dispatcher.DispatchOptions, {
        onRequestStart() {},
        onResponseStart() {},
        onResponseData() {},
        onResponseEnd: () => resolve('answered'),
        onResponseError: (_controller, error) => resolve(error),
      });
    });
  }

  it('(not an object, or a path or method that is not a string) fail PICKET_INVALID_REQUEST through the handler, never throw, and leave nothing behind', async () => {
    // The client's timeout passes during the test: a request left behind would fire it.
    const { client, servers } = await fleet(echo('x'), { timeout: 50 });
    const cases: Array<[unknown, string]> = [
      [null, 'null'],
      ['/items', '"/items"'],
      [{ method: 'GET' }, '`path` must be a string, got undefined'],
      [{ method: 'GET', path: 42 }, '`path` must be a string, got 42'],
      [{ method: 'GET', path: { toString: () => '/' } }, '`path` must be a string, got an object'],
      [{ method: Symbol('GET'), path: '/' }, '`method` must be a string, got Symbol(GET)'],
    ];
    for (const [options, named] of cases) {
      let outcome: Promise<unknown> | undefined;
      expect(() => {
        outcome = dispatched(client, options);
      }, JSON.stringify(options)).not.toThrow();
      const error = await outcome;
      expect(isPicketError(error, 'PICKET_INVALID_REQUEST'), String(error)).toBe(true);
      expect((error as Error).message).toContain(named);
    }
    // A Symbol method through the fronts too (neither undici's request API nor ours reads it).
    const viaRequest = await failure(() => client.request({ path: '/', method: Symbol('GET') as never }));
    expect(isPicketError(viaRequest, 'PICKET_INVALID_REQUEST'), String(viaRequest)).toBe(true);
    const viaUndici = await failure(() =>
      undiciRequest('http://inventory/', { dispatcher: client.dispatcher, method: Symbol('GET') as never }),
    );
    expect(isPicketError(viaUndici, 'PICKET_INVALID_REQUEST'), String(viaUndici)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(servers.map((s) => s.requests)).toEqual([0, 0]);
    uncharged(client);
    await client.close();
  });
});

describe("createAgent's dispatch given options that are not an object", () => {
  it('refuses them through the handler as undici does (UND_ERR_INVALID_ARG), never throwing', async () => {
    const { client } = await fleet();
    const agent = createAgent({ services: [client] });
    try {
      for (const options of [null, '/items']) {
        let outcome: Promise<unknown> | undefined;
        expect(() => {
          outcome = new Promise((resolve) => {
            agent.dispatch(options as never, {
              onRequestStart() {},
              onResponseStart() {},
              onResponseData() {},
              onResponseEnd: () => resolve('answered'),
              onResponseError: (_controller, error) => resolve(error),
            });
          });
        }, String(options)).not.toThrow();
        expect(await outcome).toMatchObject({ code: 'UND_ERR_INVALID_ARG' });
      }
    } finally {
      await agent.close();
    }
  });
});

describe('headers given as an iterable of pairs', () => {
  it('are read once: a generator of pairs reaches the instance, on a retry too', async () => {
    let answered = 0;
    const { client } = await fleet((req, res) => {
      if (answered++ === 0) res.writeHead(503).end();
      else res.end(String(req.headers['x-note']));
    });
    const res = await client.request({
      path: '/',
      headers: (function* () {
        yield ['x-note', 'from a generator'];
      })() as never,
    });
    expect(res.statusCode).toBe(200);
    expect(await res.body.text()).toBe('from a generator');
    expect(answered).toBe(2);
  });

  it('that throws, or yields what is not a pair, fail PICKET_INVALID_REQUEST unsent, and leave no instance busy', async () => {
    const { client, servers } = await fleet();
    const cases: Array<[string, unknown, string]> = [
      ['a Set of numbers', new Set([1]), 'got 1'],
      [
        'an iterator that throws',
        {
          [Symbol.iterator]() {
            throw new Error('the caller could not list its headers');
          },
        },
        'the caller could not list its headers',
      ],
    ];
    for (const [what, headers, named] of cases) {
      const error = await failure(() => client.request({ path: '/', headers: headers as never }));
      expect(isPicketError(error, 'PICKET_INVALID_REQUEST'), `${what}: ${String(error)}`).toBe(true);
      expect((error as Error).message).toContain(named);
    }
    expect(servers.map((s) => s.requests)).toEqual([0, 0]);
    uncharged(client);
  });
});

describe('headers whose getter throws, copied for an instance with a base path', () => {
  it('fail PICKET_INVALID_REQUEST and give the pick back, from the first attempt or from a hedge’s timer', async () => {
    const servers = await Promise.all([resources.server(never), resources.server(never)]);
    // Different base paths: each instance gets its own copy of the options, made as it is tried.
    const discovery = [`${servers[0]!.url}/a`, `${servers[1]!.url}/b`];
    const client = tracked({
      service: 'inventory',
      discovery,
      hedge: { delayMs: 10 },
      ...ONE_FAILURE,
    });
    const always = {
      get 'x-note'(): string {
        throw new Error('the caller could not read its header');
      },
    };
    let reads = 0;
    const onTheSecondRead = {
      get 'x-note'(): string {
        if (reads++ > 0) throw new Error('the caller could not read its header again');
        return 'first';
      },
    };
    for (const headers of [always, onTheSecondRead]) {
      const error = await failure(() => client.request({ path: '/', headers }));
      expect(isPicketError(error, 'PICKET_INVALID_REQUEST'), String(error)).toBe(true);
      expect((error as Error).message).toContain('the caller could not read its header');
      await waitFor(
        () => client.snapshot().instances.every((i) => i.active === 0),
        'every pick to be given back',
      );
    }
    uncharged(client);
  });
});

describe("the client's own methods given what they cannot use", () => {
  it('on(): an unknown event or a listener that is not a function throws PICKET_INVALID_OPTIONS naming it', async () => {
    const { client } = await fleet();
    const misspelt = failure(() => client.on('ejected' as never, () => {}) as never);
    expect(await misspelt).toMatchObject({ threw: { code: 'PICKET_INVALID_OPTIONS' } });
    expect(String(((await misspelt) as { threw: Error }).threw.message)).toContain('"ejected"');
    const notAFunction = (await failure(() => client.on('retry', 5 as never) as never)) as { threw: Error };
    expect(notAFunction.threw).toMatchObject({ code: 'PICKET_INVALID_OPTIONS' });
    expect(notAFunction.threw.message).toContain('got 5');
    // Every documented event still subscribes.
    for (const name of ['eject', 'retry', 'hedge', 'breaker', 'instances', 'discovery-error'] as const)
      client.on(name, () => {})();
  });

  it('ready(): options that are not an object reject PICKET_INVALID_OPTIONS naming them', async () => {
    const { client } = await fleet();
    const error = await failure(() => client.ready('5s' as never));
    expect(isPicketError(error, 'PICKET_INVALID_OPTIONS'), String(error)).toBe(true);
    expect((error as Error).message).toContain('"5s"');
    await client.ready(undefined);
  });
});
