import { createPrivateKey } from 'node:crypto';
import type { Server } from 'node:https';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { isPicketError, PicketError } from '@picket/core';
import { toInstance } from '@picket/core/internal';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeCertificates, opensslTool, type TestCertificates } from '../../../test/servers/tls.ts';
import { httpCheck } from './http-check.ts';
import { loadCheck } from './load-check.ts';
import { closedPort, type TestServer, testServer, waitFor } from './test-support.ts';

const never = new AbortController().signal;
const ms = String.raw`[\d.]+ ms`;

// Every check a test makes is closed after it.
const checks: { close?: () => Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(checks.splice(0).map((c) => c.close?.()));
});
const make = (...args: Parameters<typeof httpCheck>) => {
  const check = httpCheck(...args);
  checks.push(check);
  return check;
};
const makeLoad = (...args: Parameters<typeof loadCheck>) => {
  const check = loadCheck(...args);
  checks.push(check);
  return check;
};

describe('httpCheck', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await testServer();
  });
  afterEach(() => {
    server.status = 200;
    server.mode = 'answer';
    server.body = 'ok';
    server.contentType = 'text/plain';
    server.handler = undefined;
  });
  afterAll(() => server.close());

  it('passes on a 2xx from /health and names status, path and latency', async () => {
    const result = await make().run(server.instance, never);
    expect(result).toMatchObject({ ok: true, layer: 'l7' });
    expect(result.reason).toMatch(new RegExp(`^l7: status 200 from /health in ${ms}$`));
    expect(result.latencyMs).toBeGreaterThanOrEqual(0);
    expect(server.requests.at(-1)).toBe('/health');
  });

  it('fails while /health answers 503 and passes again once it recovers', async () => {
    const check = make({ path: '/health' });
    server.status = 503;
    const down = await check.run(server.instance, never);
    expect(down.ok).toBe(false);
    expect(down.reason).toMatch(new RegExp(`^l7: status 503 from /health in ${ms}$`));
    server.status = 200;
    expect((await check.run(server.instance, never)).ok).toBe(true);
  });

  it('enforces its own timeout against a server that never answers', async () => {
    server.mode = 'hang';
    const start = performance.now();
    const result = await make({ timeout: 200 }).run(server.instance, never);
    const took = performance.now() - start;
    expect(result.ok).toBe(false);
    expect(result.reason).toBe(`l7: timed out after 200 ms (GET /health on 127.0.0.1:${server.port})`);
    expect(took).toBeGreaterThanOrEqual(190);
    expect(took).toBeLessThan(3000);
  });

  it("stops when the caller's signal aborts, naming a timeout as one", async () => {
    server.mode = 'hang';
    const result = await make().run(server.instance, AbortSignal.timeout(150));
    expect(result.reason).toBe(`l7: timed out (GET /health on 127.0.0.1:${server.port})`);
    const controller = new AbortController();
    const pending = make().run(server.instance, controller.signal);
    controller.abort();
    expect((await pending).reason).toMatch(/^l7: aborted \(GET \/health on 127\.0\.0\.1:\d+, [\d.]+ ms\)$/);
  });

  it('reports a connection the server resets', async () => {
    server.mode = 'reset';
    const result = await make().run(server.instance, never);
    expect(result.ok).toBe(false);
    expect(result.reason).toMatch(
      new RegExp(
        `^l7: connection (reset|closed before a response) \\(GET /health on 127\\.0\\.0\\.1:${server.port}, ${ms}\\)$`,
      ),
    );
  });

  it('reports a refused connection on a closed port', async () => {
    const port = await closedPort();
    const result = await make().run(toInstance(`http://127.0.0.1:${port}`), never);
    expect(result.ok).toBe(false);
    expect(result.reason).toMatch(
      new RegExp(`^l7: connection refused \\(GET /health on 127\\.0\\.0\\.1:${port}, ${ms}\\)$`),
    );
  });

  it('accepts statuses by number, list, range and predicate, and says what it expected', async () => {
    server.status = 204;
    expect((await make({ expectStatus: 204 }).run(server.instance, never)).ok).toBe(true);
    expect((await make({ expectStatus: [200, 204] }).run(server.instance, never)).ok).toBe(true);
    expect((await make({ expectStatus: { min: 200, max: 399 } }).run(server.instance, never)).ok).toBe(true);
    expect((await make({ expectStatus: (s) => s === 204 }).run(server.instance, never)).ok).toBe(true);
    server.status = 301;
    expect((await make().run(server.instance, never)).ok).toBe(false); // redirects are not followed
    const wrong = await make({ expectStatus: [200, 204] }).run(server.instance, never);
    expect(wrong.reason).toMatch(/status 301 from \/health in [\d.]+ ms \(expected 200 or 204\)$/);
    expect((await make({ expectStatus: { min: 200, max: 399 } }).run(server.instance, never)).ok).toBe(true);
  });

  it('checks the body by substring, RegExp, and a predicate on the parsed JSON', async () => {
    server.body = JSON.stringify({ status: 'UP', db: 'ok' });
    server.contentType = 'application/json';
    expect((await make({ expectBody: '"UP"' }).run(server.instance, never)).ok).toBe(true);
    expect((await make({ expectBody: /"db":\s*"ok"/g }).run(server.instance, never)).ok).toBe(true);
    const json = make({ expectBody: (body) => (body as { status: string }).status === 'UP' });
    expect((await json.run(server.instance, never)).ok).toBe(true);
    server.body = JSON.stringify({ status: 'DOWN' });
    const down = await json.run(server.instance, never);
    expect(down.ok).toBe(false);
    expect(down.reason).toMatch(/^l7: status 200 from \/health in [\d.]+ ms, but body failed expectBody$/);
    const missing = await make({ expectBody: 'UP' }).run(server.instance, never);
    expect(missing.reason).toMatch(/but body did not contain "UP"$/);
  });

  it('fails a JSON predicate on a body that is not JSON, and a body over maxBodyBytes', async () => {
    server.body = '<html>fine</html>';
    const notJson = await make({ expectBody: () => true }).run(server.instance, never);
    expect(notJson.reason).toMatch(/but body was not JSON$/);
    server.body = 'x'.repeat(5000);
    const big = await make({ expectBody: 'x', maxBodyBytes: 1024 }).run(server.instance, never);
    expect(big).toMatchObject({ ok: false });
    expect(big.reason).toMatch(/but body over 1024 bytes$/);
  });

  it("requests the path under the instance's base path, on an overriding port when set", async () => {
    const other = await testServer();
    try {
      const instance = toInstance({ url: `http://127.0.0.1:${other.port}/api/v1` });
      await make({ path: '/status' }).run(instance, never);
      expect(other.requests.at(-1)).toBe('/api/v1/status');
      const elsewhere = toInstance(`http://127.0.0.1:${(await closedPort()).toString()}`);
      const result = await make({ port: server.port }).run(elsewhere, never);
      expect(result.ok).toBe(true);
    } finally {
      await other.close();
    }
  });

  it('sends the configured method: GET by default, HEAD, POST or OPTIONS when set', async () => {
    expect((await make().run(server.instance, never)).ok).toBe(true);
    expect(server.received.at(-1)).toMatchObject({ method: 'GET', url: '/health' });
    for (const method of ['HEAD', 'POST', 'OPTIONS'] as const) {
      const result = await make({ method }).run(server.instance, never);
      expect(result.ok).toBe(true);
      expect(server.received.at(-1)).toMatchObject({ method, url: '/health' });
    }
  });

  it('sends the configured headers, so a health endpoint that needs a token passes with it', async () => {
    // The endpoint answers 401 unless it gets the token.
    server.handler = (req, res) => {
      res.writeHead(req.headers.authorization === 'Bearer t' ? 200 : 401).end();
    };
    const anonymous = await make().run(server.instance, never);
    expect(anonymous.reason).toMatch(/^l7: status 401 from \/health/);
    const result = await make({ headers: { Authorization: 'Bearer t', 'X-Probe': 'yes' } }).run(
      server.instance,
      never,
    );
    expect(result).toMatchObject({ ok: true, layer: 'l7' });
    expect(server.received.at(-1)?.headers).toMatchObject({
      authorization: 'Bearer t',
      'x-probe': 'yes',
      'user-agent': 'picket-health',
    });
    // A user agent of the caller's replaces Picket's, whatever its case.
    await make({ headers: { 'User-Agent': 'lb-probe/1' } }).run(server.instance, never);
    expect(server.received.at(-1)?.headers['user-agent']).toBe('lb-probe/1');
  });

  it('rejects invalid options with PICKET_INVALID_OPTIONS naming the field and value', () => {
    const attempt = (options: unknown) => {
      try {
        httpCheck(options as Parameters<typeof httpCheck>[0]);
      } catch (error) {
        expect(isPicketError(error, 'PICKET_INVALID_OPTIONS')).toBe(true);
        return (error as PicketError).message;
      }
      throw new Error('expected httpCheck to throw');
    };
    expect(attempt({ path: 'health' })).toMatch(/`path` must be a path starting with `\/`.*got "health"/);
    expect(attempt({ expectStatus: 700 })).toMatch(/`expectStatus` .*got 700/);
    expect(attempt({ timeout: -1 })).toMatch(
      /`timeout` must be a number of milliseconds from 1 to 2147483647, got -1/,
    );
    expect(attempt({ method: 'HEAD', expectBody: 'ok' })).toMatch(
      /`expectBody` cannot check the body of a HEAD request/,
    );
    expect(attempt({ pth: '/x' })).toMatch(/unknown option `pth`/);
    expect(attempt({ tls: { ca: 5 } })).toMatch(
      /`tls.ca` must be a PEM string, a Buffer, or a list of them, got 5/,
    );
    expect(attempt({ tls: { rejectUnauthorised: false } })).toMatch(
      /`tls` has unknown option `rejectUnauthorised`/,
    );
  });

  it('closes its keep-alive sockets on close() and opens a new pool when used again', async () => {
    const check = make();
    await check.run(server.instance, never);
    await waitFor(() => server.sockets.size === 1, 'one keep-alive connection');
    await check.close?.();
    await waitFor(() => server.sockets.size === 0, 'the connection to close');
    expect((await check.run(server.instance, never)).ok).toBe(true);
  });

  it('reuses one keep-alive connection across checks', async () => {
    const check = make();
    const before = server.connections;
    for (let i = 0; i < 5; i++) expect((await check.run(server.instance, never)).ok).toBe(true);
    expect(server.connections - before).toBe(1);
  });
});

const REPORT = {
  status: 'up',
  cpu: 0.1,
  loadAvg1: 0.5,
  cpus: 2,
  eventLoopDelayMs: 1,
  eventLoopUtilization: 0.1,
  inFlight: 0,
  rssBytes: 1_000_000,
};

describe.skipIf(!opensslTool().available)('httpCheck and loadCheck over TLS', () => {
  let certs: TestCertificates;
  let server: Server;
  let instance: ReturnType<typeof toInstance>;

  beforeAll(async () => {
    certs = await makeCertificates();
    // An instance on a private CA that also asks for a client certificate (mutual TLS).
    server = createHttpsServer(
      {
        cert: certs.serverCert,
        key: certs.serverKey,
        ca: certs.ca,
        requestCert: true,
        rejectUnauthorized: true,
      },
      (req, res) => res.end(req.url === '/load' ? JSON.stringify(REPORT) : 'ok'),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    instance = toInstance(`https://127.0.0.1:${(server.address() as AddressInfo).port}`);
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it("passes with the client's trust and certificate, and fails, naming the cause, without them", async () => {
    const passed = await make({ tls: { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey } }).run(
      instance,
      never,
    );
    expect(passed).toMatchObject({ ok: true, layer: 'l7' });
    expect(passed.reason).toMatch(/^l7: status 200 from \/health/);

    // Node's CAs do not know the private one.
    const untrusted = await make().run(instance, never);
    expect(untrusted.ok).toBe(false);
    expect(untrusted.reason).toMatch(
      /^l7: self[- ]signed certificate in certificate chain \(SELF_SIGNED_CERT_IN_CHAIN\)/,
    );

    // Trusted, but with no client certificate the instance refuses the handshake.
    const anonymous = await make({ tls: { ca: certs.ca } }).run(instance, never);
    expect(anonymous.ok).toBe(false);
    expect(anonymous.reason).toMatch(
      /^l7: connection (closed before a response|reset) \(GET \/health on 127\.0\.0\.1:\d+/,
    );

    // A server name the certificate does not carry.
    const misnamed = await make({
      tls: { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey, servername: 'elsewhere.internal' },
    }).run(instance, never);
    expect(misnamed.ok).toBe(false);
    expect(misnamed.reason).toMatch(/elsewhere\.internal.*\(ERR_TLS_CERT_ALTNAME_INVALID\)/);
  });

  it('takes an encrypted client key with its passphrase', async () => {
    const key = createPrivateKey(certs.clientKey).export({
      type: 'pkcs8',
      format: 'pem',
      cipher: 'aes-256-cbc',
      passphrase: 'open sesame',
    });
    const tls = { ca: certs.ca, cert: certs.clientCert, key, passphrase: 'open sesame' };
    expect(await make({ tls }).run(instance, never)).toMatchObject({ ok: true });
    const wrong = await make({ tls: { ...tls, passphrase: 'open barley' } }).run(instance, never);
    expect(wrong.ok).toBe(false);
    expect(wrong.reason).toMatch(/^l7: .*decrypt/i);
  });

  it('reads a load report over the same TLS', async () => {
    const tls = { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey };
    expect(await makeLoad({ tls }).run(instance, never)).toMatchObject({ ok: true, status: 'up' });
    const untrusted = await makeLoad().run(instance, never);
    expect(untrusted.ok).toBe(false);
    expect(untrusted.reason).toMatch(/SELF_SIGNED_CERT_IN_CHAIN/);
  });
});

// Keeps the PicketError import used for the type in attempt().
void PicketError;
