// Failures through axiosAdapter carry axios's codes, names and messages (those of Node's socket
// errors, as axios's Node adapter passes them on), with Picket's error, every attempt in it, as
// `cause`; cancellation and timeouts end a call as they end it on axios's own adapter.

import { Readable } from 'node:stream';
import axios, { type AxiosError, type AxiosResponse } from 'axios';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Handler, startServer, type TestServer } from '../../../test/fixtures/http-servers.ts';
import { freePort, waitFor } from '../../../test/fixtures/instances.ts';
import { failure, type SideBySide, sideBySide } from './axios/side-by-side.ts';
import { type Client, createClient } from './index.ts';

const routes: Record<string, Handler> = {
  '/drop': (req) => req.socket.destroy(),
  '/cut': (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '100' });
    res.write('part of it');
    setTimeout(() => res.socket?.destroy(), 20);
  },
  '/trickle': (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    let n = 0;
    const timer = setInterval(() => {
      res.write(`${n}`);
      if (++n === 10) {
        clearInterval(timer);
        res.end();
      }
    }, 100);
    res.on('close', () => clearInterval(timer));
  },
  '/stall': (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('begun');
  },
  '/hang': () => {},
  '/slow-stream': (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('first');
  },
};

let server: TestServer;
let client: Client;
let both: SideBySide;
const clients: Client[] = [];

beforeAll(async () => {
  server = await startServer((req, res, body) => {
    const route = routes[new URL(req.url ?? '/', 'http://x').pathname];
    if (route !== undefined) route(req, res, body);
    else res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  });
  client = createClient({
    service: 'inventory',
    discovery: [server.url],
    breaker: false,
    outlierDetection: false,
  });
  both = sideBySide(client, server.url);
});
afterAll(async () => {
  await Promise.all([client, ...clients].map((c) => c.destroy()));
  await server.close();
});

function track(c: Client): Client {
  clients.push(c);
  return c;
}

describe('axiosAdapter errors', () => {
  it("gives a refused connection axios's ECONNREFUSED, with Picket's error and its attempts as cause", async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const local = sideBySide(track(createClient({ service: 'inventory', discovery: [dead] })), dead);
    const { axios: a, picket } = await local.run({ url: '/x' });
    expect(picket).toEqual(a);
    expect(picket.error).toMatchObject({ code: 'ECONNREFUSED', name: 'Error' });
    const error = await failure(local.picket.get('/x'));
    expect(error.cause).toMatchObject({ code: 'PICKET_ATTEMPTS_EXHAUSTED' });
    expect(
      (error.cause as unknown as { details: { attempts: unknown[] } }).details.attempts.length,
    ).toBeGreaterThan(1);
  });

  it('gives a host name that does not resolve ENOTFOUND', async () => {
    const nowhere = 'http://no-such-host.invalid:81';
    const local = sideBySide(track(createClient({ service: 'inventory', discovery: [nowhere] })), nowhere);
    const { axios: a, picket } = await local.run({ url: '/x' });
    expect(picket).toEqual(a);
    expect(picket.error?.code).toBe('ENOTFOUND');
  });

  it('gives a connection dropped before the response ECONNRESET (socket hang up)', async () => {
    const { axios: a, picket } = await both.run({ url: '/drop' });
    expect(picket).toEqual(a);
    expect(picket.error).toMatchObject({ code: 'ECONNRESET', message: 'socket hang up' });
  });

  it('gives a body cut short ERR_BAD_RESPONSE (stream has been aborted)', async () => {
    const { axios: a, picket } = await both.run({ url: '/cut' });
    expect(picket).toEqual(a);
    expect(picket.error).toMatchObject({ code: 'ERR_BAD_RESPONSE', message: 'stream has been aborted' });
  });

  it('reports a params serializer that throws as axios does (ERR_BAD_REQUEST)', async () => {
    const params = { n: 1n };
    const { axios: a, picket } = await both.run({
      url: '/x',
      params,
      paramsSerializer: {
        serialize: () => {
          throw new RangeError('cannot serialize');
        },
      },
    });
    expect(picket).toEqual(a);
    expect(picket.error).toMatchObject({ code: 'ERR_BAD_REQUEST', message: 'cannot serialize' });
  });

  it.each(['tel:+123', 'ftp://inventory/file'])('says "Unsupported protocol" for %s', async (url) => {
    const error = await failure(both.picket.get(url, { baseURL: '' }));
    const native = await failure(both.native.get(url, { baseURL: '' }));
    expect({ code: error.code, message: error.message }).toEqual({
      code: native.code,
      message: native.message,
    });
    expect(error.message).toMatch(/^Unsupported protocol/);
  });
});

describe('axiosAdapter cancellation', () => {
  it('keeps the CancelToken reason', async () => {
    const run = async (api: typeof both.native) => {
      const source = axios.CancelToken.source();
      const pending = api.get('/hang', { cancelToken: source.token });
      await new Promise((resolve) => setTimeout(resolve, 50));
      source.cancel('the user left');
      return failure(pending);
    };
    const [a, p] = [await run(both.native), await run(both.picket)];
    expect(axios.isCancel(p)).toBe(true);
    expect({ code: p.code, name: p.name, message: p.message }).toEqual({
      code: a.code,
      name: a.name,
      message: a.message,
    });
    expect(p.message).toBe('the user left');
  });

  it('fails a stream response aborted mid-body with CanceledError', async () => {
    const run = async (api: typeof both.native) => {
      const controller = new AbortController();
      const res: AxiosResponse<Readable> = await api.get('/slow-stream', {
        responseType: 'stream',
        signal: controller.signal,
      });
      const failed = new Promise<Error>((resolve) => res.data.once('error', resolve));
      res.data.resume();
      controller.abort();
      return failed;
    };
    const [a, p] = [await run(both.native), await run(both.picket)];
    expect(axios.isCancel(p)).toBe(true);
    expect({ code: (p as AxiosError).code, name: p.name }).toEqual({
      code: (a as AxiosError).code,
      name: a.name,
    });
    await waitFor(() => client.snapshot().instances[0]!.active === 0, 'the attempt to be released');
  });

  it('fails with CanceledError when the upload stream is destroyed', async () => {
    const run = async (api: typeof both.native) => {
      const data = new Readable({ read() {} });
      data.push('some');
      const pending = api.post('/x', data);
      setTimeout(() => data.destroy(), 50);
      return failure(pending);
    };
    const [a, p] = [await run(both.native), await run(both.picket)];
    expect({ code: p.code, name: p.name, message: p.message }).toEqual({
      code: a.code,
      name: a.name,
      message: a.message,
    });
    expect(p.code).toBe('ERR_CANCELED');
  });
});

describe('axiosAdapter upload failures', () => {
  it.each([21, 0])(
    "fails with the upload's own error as axios does, its attempt released first (maxRedirects %i)",
    async (maxRedirects) => {
      const failing = () => {
        let sent = false;
        return new Readable({
          read() {
            if (sent) setImmediate(() => this.destroy(new Error('the file could not be read')));
            else this.push(Buffer.alloc(1024, 1));
            sent = true;
          },
        });
      };
      const own = track(createClient({ service: 'inventory', discovery: [server.url] }));
      const { axios: a, picket } = await sideBySide(own, server.url).run(() => ({
        method: 'POST',
        url: '/x',
        data: failing(),
        maxRedirects,
      }));
      expect(picket).toEqual(a);
      expect(picket.error?.message).toBe('the file could not be read');
      expect(own.snapshot().instances[0]).toMatchObject({ active: 0, failures: 0 });
    },
  );
});

describe('axiosAdapter timeouts', () => {
  it('lets a body that keeps trickling in outlast timeout, as a socket idle time', async () => {
    const { axios: a, picket } = await both.run({ url: '/trickle', timeout: 300 });
    expect(picket).toEqual(a);
    expect(picket.data).toBe('0123456789');
  });

  it.each([
    ['no option', {}],
    ['timeoutErrorMessage', { timeoutErrorMessage: 'too slow' }],
    ['clarifyTimeoutError', { transitional: { clarifyTimeoutError: true } }],
  ])('times out waiting for headers as axios does, with %s', async (_name, extra) => {
    const { axios: a, picket } = await both.run({ url: '/hang', timeout: 200, ...extra });
    expect(picket).toEqual(a);
    expect(picket.error?.code).toMatch(/^(ECONNABORTED|ETIMEDOUT)$/);
  });

  it.each([21, 0])('times out a body that stops as axios does (maxRedirects %i)', async (maxRedirects) => {
    const { axios: a, picket } = await both.run({ url: '/stall', timeout: 200, maxRedirects });
    expect(picket).toEqual(a);
    expect(picket.error).toBeDefined();
  });

  it('refuses a timeout that is not a number with ERR_BAD_OPTION_VALUE', async () => {
    const { axios: a, picket } = await both.run({ url: '/x', timeout: 'soon' as never });
    expect(picket).toEqual(a);
    expect(picket.error?.code).toBe('ERR_BAD_OPTION_VALUE');
  });

  it('does not destroy a stream response later with an error of its own', async () => {
    const res: AxiosResponse<Readable> = await both.picket.get('/trickle', {
      responseType: 'stream',
      timeout: 300,
    });
    let body = '';
    for await (const chunk of res.data) body += chunk;
    expect(body).toBe('0123456789');
  });
});
