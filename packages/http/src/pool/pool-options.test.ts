// The per-instance pool options reach the instance's undici Pool: `connections`, `pipelining`,
// `keepAliveTimeout` and `allowH2`, each seen from the server's side of real sockets.

import { createSecureServer, type Http2SecureServer } from 'node:http2';
import { type AddressInfo, createServer as createNetServer, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { echo, type Handler, testResources } from '../../../../test/fixtures/http-servers.ts';
import { opensslTool, selfSigned } from '../../../../test/servers/tls.ts';
import { type Client, createClient } from '../index.ts';

const resources = testResources();
const client = (options: Parameters<typeof createClient>[0]) => resources.track(createClient(options));

/** Answers after `ms`, counting how many requests it holds at once. */
function holding(ms: number) {
  const seen = { now: 0, most: 0 };
  const handler: Handler = (req, res, body) => {
    seen.most = Math.max(seen.most, ++seen.now);
    setTimeout(() => {
      seen.now--;
      echo('held')(req, res, body);
    }, ms);
  };
  return { seen, handler };
}

const burst = (c: Client, n: number, blocking?: boolean) =>
  Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const res = await c.request({ path: `/r/${i}`, ...(blocking === undefined ? {} : { blocking }) });
      await res.body.text();
      return res.statusCode;
    }),
  );

describe('pool options', () => {
  it('`connections` caps the sockets to one instance; the rest queue', async () => {
    const { seen, handler } = holding(30);
    const a = await resources.server(handler);
    const c = client({ service: 's', discovery: [a.url], pool: { connections: 2 } });
    expect(await burst(c, 8)).toEqual(Array(8).fill(200));
    expect(a.connections).toBe(2);
    expect(seen.most).toBeLessThanOrEqual(2);
  });

  it('`pipelining` sends several requests down one socket without waiting for answers', async () => {
    // A bare HTTP/1.1 responder: Node's own server takes pipelined requests one at a time, so
    // this one counts what arrived and is not answered yet, and answers in order, 30 ms apart.
    let sockets = 0;
    let most = 0;
    const raw = createNetServer((socket) => {
      sockets++;
      let waiting = 0;
      let buffered = '';
      socket.on('data', (chunk: Buffer) => {
        buffered += chunk.toString('latin1');
        let end = buffered.indexOf('\r\n\r\n');
        while (end !== -1) {
          buffered = buffered.slice(end + 4);
          most = Math.max(most, ++waiting);
          setTimeout(() => {
            waiting--;
            socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
          }, 30 * waiting);
          end = buffered.indexOf('\r\n\r\n');
        }
      });
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
    resources.track({ close: () => new Promise<void>((resolve) => raw.close(() => resolve())) });
    const at = `http://127.0.0.1:${(raw.address() as AddressInfo).port}`;
    // undici holds a GET back until the one before it has its headers unless it is marked
    // `blocking: false`, which a request through Picket may be, as through undici.
    const one = client({ service: 's', discovery: [at], pool: { connections: 1 } });
    expect(await burst(one, 4, false)).toEqual(Array(4).fill(200));
    expect(most).toBe(1); // the default: one request at a time per socket
    await one.close();
    most = 0;
    const c = client({ service: 's', discovery: [at], pool: { connections: 1, pipelining: 4 } });
    expect(await burst(c, 8, false)).toEqual(Array(8).fill(200));
    expect(sockets).toBe(2);
    expect(most).toBeGreaterThan(1);
    expect(most).toBeLessThanOrEqual(4);
  });

  it('`keepAliveTimeout` closes an idle socket (for servers that send no keep-alive hint)', async () => {
    const a = await resources.server(echo('a'));
    // With 0, Node's server neither times sockets out nor sends `Keep-Alive: timeout=…`, which
    // undici would follow instead of the option.
    a.server.keepAliveTimeout = 0;
    let closedAt = 0;
    a.server.on('connection', (socket: Socket) => socket.on('close', () => (closedAt = performance.now())));
    const c = client({ service: 's', discovery: [a.url], pool: { keepAliveTimeout: 300 } });
    await (await c.request({ path: '/' })).body.text();
    const idleFrom = performance.now();
    // The default (4 s) would keep it far longer than this waits.
    await vi.waitFor(() => expect(closedAt).toBeGreaterThan(0), { timeout: 2500, interval: 20 });
    expect(closedAt - idleFrom).toBeGreaterThanOrEqual(250);
  });
});

describe.skipIf(!opensslTool().available)('pool option allowH2', () => {
  let h2: Http2SecureServer;
  let url: string;
  let ca: string;
  const versions: string[] = [];
  let sessions = 0;

  beforeAll(async () => {
    const cert = await selfSigned('IP:127.0.0.1');
    ca = cert.cert;
    // Speaks HTTP/2 to clients that offer it in ALPN, HTTP/1.1 to the others.
    h2 = createSecureServer({ ...cert, allowHTTP1: true }, (req, res) => {
      versions.push(req.httpVersion);
      setTimeout(() => res.end(JSON.stringify({ version: req.httpVersion })), 20);
    });
    h2.on('session', () => sessions++);
    await new Promise<void>((resolve) => h2.listen(0, '127.0.0.1', resolve));
    url = `https://127.0.0.1:${(h2.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => h2.close(() => resolve()));
  });

  it('speaks HTTP/2 with allowH2, many requests on one session', async () => {
    versions.length = 0;
    const before = sessions;
    const c = client({ service: 's', discovery: [url], tls: { ca }, pool: { allowH2: true } });
    expect(await burst(c, 8)).toEqual(Array(8).fill(200));
    await c.close();
    expect(versions).toEqual(Array(8).fill('2.0'));
    expect(sessions - before).toBe(1);
  });

  it('speaks HTTP/1.1 without it (the default)', async () => {
    versions.length = 0;
    const c = client({ service: 's', discovery: [url], tls: { ca } });
    expect(await burst(c, 4)).toEqual(Array(4).fill(200));
    await c.close();
    expect(versions).toEqual(Array(4).fill('1.1'));
  });
});
