import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { makeCertificates, opensslTool } from '../../../test/servers/tls.ts';
import { createHttpJson, type HttpJson, HttpStatusError } from './http-json.ts';
import { activeHandles } from './testing.ts';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
const servers: Server[] = [];
const clients: HttpJson[] = [];

async function serve(
  handler: Handler,
  make: (h: Handler) => Server = (h) => createHttpServer(h),
): Promise<string> {
  const server = make(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return `http://127.0.0.1:${port}`;
}

function client(overrides: Partial<Parameters<typeof createHttpJson>[0]> = {}) {
  const c = createHttpJson({
    connectTimeoutMs: 2000,
    requestTimeoutMs: 2000,
    maxResponseBytes: 1024,
    ...overrides,
  });
  clients.push(c);
  return c;
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

describe('http-json', () => {
  it('sends JSON and parses the JSON answer, whatever the status', async () => {
    const url = await serve((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        res.statusCode = req.url === '/missing' ? 404 : 200;
        res.end(JSON.stringify({ echo: JSON.parse(body), type: req.headers['content-type'] }));
      });
    });
    const c = client();
    const ok = await c.request(`${url}/x`, { method: 'POST', body: { a: 1 } });
    expect(ok).toMatchObject({ status: 200, data: { echo: { a: 1 }, type: 'application/json' } });
    const missing = await c.request(`${url}/missing`, { method: 'POST', body: {} });
    expect(missing.status).toBe(404);
    expect(() => c.expectOk(missing, 'lookup')).toThrow(HttpStatusError);
  });

  it('refuses a response over maxResponseBytes, with or without a content-length', async () => {
    const url = await serve((req, res) => {
      if (req.url === '/chunked') {
        res.write('x'.repeat(800));
        res.end('y'.repeat(800));
      } else {
        res.end('z'.repeat(2000));
      }
    });
    const c = client();
    await expect(c.request(`${url}/sized`)).rejects.toThrow(/larger than 1024/);
    await expect(c.request(`${url}/chunked`)).rejects.toThrow(/larger than 1024/);
  });

  it('gives up on a server that never answers', async () => {
    const url = await serve(() => {});
    const c = client({ requestTimeoutMs: 200 });
    await expect(c.request(`${url}/slow`)).rejects.toThrow(
      /GET http:\/\/127\.0\.0\.1:\d+\/slow: no complete response within 200 ms/,
    );
  });

  it('masks secrets that a registry echoes back in an error', async () => {
    const url = await serve((_req, res) => {
      res.statusCode = 403;
      res.end(JSON.stringify({ error: 'token tok-ABC-123 is not allowed' }));
    });
    const c = client({ secrets: () => ['tok-ABC-123'] });
    const res = await c.request(`${url}/x`);
    let message = '';
    try {
      c.expectOk(res, 'GET x');
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('HTTP 403');
    expect(message).toContain('[redacted]');
    expect(message).not.toContain('tok-ABC-123');
  });

  it('streams newline-delimited JSON split across chunks, and rejects a broken line', async () => {
    const url = await serve((req, res) => {
      res.setHeader('content-type', 'application/json');
      if (req.url === '/bad') {
        res.end('{"a":1}\n{oops}\n');
        return;
      }
      res.write('{"n":1}\n{"n"');
      setTimeout(() => res.end(':2}\n\n{"n":3}'), 20);
    });
    const c = client();
    const seen: unknown[] = [];
    for await (const message of await c.stream(`${url}/ok`)) seen.push(message);
    expect(seen).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    const bad: unknown[] = [];
    await expect(
      (async () => {
        for await (const message of await c.stream(`${url}/bad`)) bad.push(message);
      })(),
    ).rejects.toThrow(/stream/);
    expect(bad).toEqual([{ a: 1 }]);
  });

  it('throws a status error for a stream refused with a non-2xx status', async () => {
    const url = await serve((_req, res) => {
      res.statusCode = 410;
      res.end('{"reason":"Expired"}');
    });
    const c = client();
    const error = await c.stream(`${url}/watch`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HttpStatusError);
    expect((error as HttpStatusError).status).toBe(410);
    expect((error as HttpStatusError).data).toEqual({ reason: 'Expired' });
  });

  it('close() ends a stream in progress and leaves no socket', async () => {
    const url = await serve((_req, res) => {
      res.write('{"first":true}\n');
    });
    const before = activeHandles();
    const c = createHttpJson({ connectTimeoutMs: 2000, requestTimeoutMs: 2000, maxResponseBytes: 1024 });
    const abort = new AbortController();
    const iterator = (await c.stream(`${url}/watch`, { signal: abort.signal }))[Symbol.asyncIterator]();
    expect((await iterator.next()).value).toEqual({ first: true });
    const pending = iterator.next();
    abort.abort();
    await expect(pending).rejects.toThrow();
    await c.close();
    await c.close();
    // The server keeps its side open for as long as the client's stays open, so both sockets
    // are gone only once the client has closed its own; they go within a few turns.
    await vi.waitFor(
      () => expect(activeHandles().TCPSocketWrap ?? 0).toBeLessThanOrEqual(before.TCPSocketWrap ?? 0),
      {
        timeout: 5000,
        interval: 20,
      },
    );
  });
});

describe.skipIf(!opensslTool().available)('http-json over TLS', () => {
  it('trusts the given CA, presents a client certificate, and refuses an unknown CA', async () => {
    const certs = await makeCertificates();
    const url = await serve(
      (req, res) => {
        const socket = req.socket as import('node:tls').TLSSocket;
        res.end(JSON.stringify({ client: socket.getPeerCertificate().subject?.CN ?? null }));
      },
      (h) =>
        createHttpsServer(
          {
            cert: certs.serverCert,
            key: certs.serverKey,
            ca: certs.ca,
            requestCert: true,
            rejectUnauthorized: true,
          },
          h,
        ),
    );
    const https = url.replace('http:', 'https:');
    const trusted = client({
      tls: { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey, rejectUnauthorized: true },
    });
    expect((await trusted.request(`${https}/me`)).data).toEqual({ client: 'picket-client' });
    const untrusted = client();
    await expect(untrusted.request(`${https}/me`)).rejects.toThrow(/certificate/i);
  });
});
