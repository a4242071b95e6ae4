// Throwaway TLS material for tests, made with the openssl CLI in a temporary directory: a CA with
// a server certificate for 127.0.0.1/localhost and a client certificate, or one self-signed
// certificate for given names.

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

const NEW_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** Runs openssl with `args`. */
async function openssl(args: readonly string[]): Promise<void> {
  const path = opensslTool().path;
  if (path === undefined) throw new Error('openssl is not installed (Debian package openssl)');
  await run(path, args);
}

/** Calls `fn` with paths in a fresh temporary directory, removed afterwards. */
async function inTempDir<T>(fn: (at: (name: string) => string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'picket-tls-'));
  try {
    return await fn((name) => join(dir, name));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A self-signed certificate whose subjectAltName is `names`, e.g. `IP:127.0.0.1` or `DNS:a.internal`. */
export function selfSigned(names: string): Promise<{ key: string; cert: string }> {
  return inTempDir(async (at) => {
    await openssl([
      'req',
      '-x509',
      ...NEW_KEY,
      '-keyout',
      at('key.pem'),
      '-out',
      at('cert.pem'),
      '-days',
      '2',
      '-subj',
      '/CN=picket-test',
      '-addext',
      `subjectAltName=${names}`,
    ]);
    return { key: await readFile(at('key.pem'), 'utf8'), cert: await readFile(at('cert.pem'), 'utf8') };
  });
}

export function makeCertificates(): Promise<TestCertificates> {
  return inTempDir(async (at) => {
    await openssl([
      'req',
      '-x509',
      ...NEW_KEY,
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
      await openssl([
        'req',
        ...NEW_KEY,
        '-keyout',
        at(`${name}.key`),
        '-out',
        at(`${name}.csr`),
        '-subj',
        `/CN=picket-${name}`,
      ]);
      await openssl([
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
  });
}
