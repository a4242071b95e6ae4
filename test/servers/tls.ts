// Throwaway TLS material for tests: a CA, a server certificate for 127.0.0.1/localhost and a
// client certificate, made with the openssl CLI in a temporary directory.

import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { requireTool } from './require-tool.ts';

const run = promisify(execFile);

export const opensslTool = () => requireTool('openssl', 'openssl');

export interface TestCertificates {
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

export async function makeCertificates(): Promise<TestCertificates> {
  const openssl = opensslTool().path;
  if (openssl === undefined) throw new Error('openssl is not installed (Debian package openssl)');
  const dir = await mkdtemp(join(tmpdir(), 'picket-tls-'));
  const at = (name: string) => join(dir, name);
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  try {
    await run(openssl, [
      'req',
      '-x509',
      ...key,
      '-keyout',
      at('ca.key'),
      '-out',
      at('ca.crt'),
      '-days',
      '2',
      '-subj',
      '/CN=picket-test-ca',
    ]);
    for (const [name, ext] of [
      ['server', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n'],
      ['client', 'extendedKeyUsage=clientAuth\n'],
    ] as const) {
      await writeFile(at(`${name}.ext`), ext);
      await run(openssl, [
        'req',
        ...key,
        '-keyout',
        at(`${name}.key`),
        '-out',
        at(`${name}.csr`),
        '-subj',
        `/CN=picket-${name}`,
      ]);
      await run(openssl, [
        'x509',
        '-req',
        '-in',
        at(`${name}.csr`),
        '-CA',
        at('ca.crt'),
        '-CAkey',
        at('ca.key'),
        '-CAcreateserial',
        '-out',
        at(`${name}.crt`),
        '-days',
        '2',
        '-extfile',
        at(`${name}.ext`),
      ]);
    }
    const read = (name: string) => readFile(at(name), 'utf8');
    return {
      ca: await read('ca.crt'),
      serverCert: await read('server.crt'),
      serverKey: await read('server.key'),
      clientCert: await read('client.crt'),
      clientKey: await read('client.key'),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
