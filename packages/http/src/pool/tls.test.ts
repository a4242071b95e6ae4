import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { echo, startServer, type TestServer } from '../../../../test/fixtures/http-servers.ts';
import type { AttemptRecord } from '../contracts.ts';
import { createClient } from '../index.ts';

// A self-signed certificate made for this run; `names` become its subjectAltName.
function selfSigned(names: string): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), 'picket-tls-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-days',
        '1',
        '-subj',
        '/CN=picket-test',
        '-addext',
        `subjectAltName=${names}`,
      ],
      { stdio: 'ignore' },
    );
    return {
      key: readFileSync(join(dir, 'key.pem'), 'utf8'),
      cert: readFileSync(join(dir, 'cert.pem'), 'utf8'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

let ipCert: { key: string; cert: string };
let nameCert: { key: string; cert: string };
let byIp: TestServer;
let byName: TestServer;

beforeAll(async () => {
  ipCert = selfSigned('IP:127.0.0.1');
  nameCert = selfSigned('DNS:inventory.internal');
  byIp = await startServer(echo('tls-ip'), ipCert);
  byName = await startServer(echo('tls-name'), nameCert);
});
afterAll(async () => {
  await byIp.close();
  await byName.close();
});

describe('TLS to instances', () => {
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
});
