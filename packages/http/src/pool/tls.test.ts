import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { echo, startServer, type TestServer } from '../../../../test/fixtures/http-servers.ts';
import { makeCertificates, opensslTool, selfSigned } from '../../../../test/servers/tls.ts';
import type { AttemptRecord } from '../contracts.ts';
import { createClient } from '../index.ts';

describe.skipIf(!opensslTool().available)('TLS to instances', () => {
  let ipCert: { key: string; cert: string };
  let nameCert: { key: string; cert: string };
  let byIp: TestServer;
  let byName: TestServer;

  beforeAll(async () => {
    ipCert = await selfSigned('IP:127.0.0.1');
    nameCert = await selfSigned('DNS:inventory.internal');
    byIp = await startServer(echo('tls-ip'), ipCert);
    byName = await startServer(echo('tls-name'), nameCert);
  });
  afterAll(async () => {
    await byIp.close();
    await byName.close();
  });

  it('connects to an https instance trusting the given CA', async () => {
    const c = createClient({ service: 's', discovery: [byIp.url], tls: { ca: ipCert.cert } });
    try {
      const res = await c.request({ path: '/secure' });
      expect(res.statusCode).toBe(200);
      expect(((await res.body.json()) as { server: string }).server).toBe('tls-ip');
    } finally {
      await c.close();
    }
  });

  it('checks the certificate against `servername` when given', async () => {
    const c = createClient({
      service: 's',
      discovery: [byName.url],
      tls: { ca: nameCert.cert, servername: 'inventory.internal' },
    });
    try {
      const res = await c.request({ path: '/' });
      expect(res.statusCode).toBe(200);
      await res.body.text();
    } finally {
      await c.close();
    }
  });

  it('refuses an untrusted certificate with a typed connect error', async () => {
    const c = createClient({ service: 's', discovery: [byIp.url], breaker: false });
    try {
      const error = await c.request({ path: '/' }).then(
        () => undefined,
        (e: unknown) => e as { code: string; details: { attempts: AttemptRecord[] } },
      );
      expect(error?.code).toBe('PICKET_ATTEMPTS_EXHAUSTED');
      expect(error?.details.attempts[0]).toMatchObject({ error: 'connect' });
    } finally {
      await c.close();
    }
  });

  it('accepts any certificate with rejectUnauthorized: false', async () => {
    const c = createClient({ service: 's', discovery: [byName.url], tls: { rejectUnauthorized: false } });
    try {
      const res = await c.request({ path: '/' });
      expect(res.statusCode).toBe(200);
      await res.body.text();
    } finally {
      await c.close();
    }
  });

  it('presents a client certificate to an instance that requires one (mutual TLS)', async () => {
    const certs = await makeCertificates();
    const mutual = await startServer(
      (req, res) => {
        const peer = (req.socket as TLSSocket).getPeerCertificate();
        res.end(JSON.stringify({ client: peer.subject?.CN ?? null }));
      },
      {
        key: certs.serverKey,
        cert: certs.serverCert,
        ca: certs.ca,
        requestCert: true,
        rejectUnauthorized: true,
      },
    );
    const withCert = createClient({
      service: 's',
      discovery: [mutual.url],
      tls: { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey },
    });
    const without = createClient({
      service: 's',
      discovery: [mutual.url],
      tls: { ca: certs.ca },
      breaker: false,
    });
    try {
      const res = await withCert.request({ path: '/' });
      expect(await res.body.json()).toEqual({ client: 'picket-client' });
      // Without one, the handshake is refused: a typed failure, not an answer.
      await expect(without.request({ path: '/' })).rejects.toMatchObject({
        code: 'PICKET_ATTEMPTS_EXHAUSTED',
      });
    } finally {
      await withCert.close();
      await without.close();
      await mutual.close();
    }
  });
});
