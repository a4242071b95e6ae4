// TLS settings, one shape everywhere Picket dials TLS: the HTTP client's pools and the HTTP health
// checks (so that the checks that judge an instance trust what requests trust), and the
// registries discovery reads.

import { z } from 'zod';
import { type Agrees, bytes } from './fields.ts';

type Pem = string | Uint8Array | ReadonlyArray<string | Uint8Array>;

export interface TlsOptions {
  /** CA certificates to trust (PEM), instead of Node's bundled ones. */
  ca?: Pem;
  /** Client certificate (PEM), for servers that require one (mutual TLS). */
  cert?: Pem;
  /** The client certificate's private key (PEM). */
  key?: Pem;
  /** Passphrase of an encrypted `key`. */
  passphrase?: string;
  /** SNI and certificate host name. Default the instance's host. */
  servername?: string;
  /** Default true. */
  rejectUnauthorized?: boolean;
}

const pem = z.union([z.string(), bytes, z.array(z.union([z.string(), bytes])).readonly()], {
  error: 'must be a PEM string, a Buffer, or a list of them',
});

export const tlsSchema = z.strictObject(
  {
    ca: pem.optional(),
    cert: pem.optional(),
    key: pem.optional(),
    passphrase: z.string({ error: 'must be a string' }).optional(),
    servername: z.string({ error: 'must be a string' }).optional(),
    rejectUnauthorized: z.boolean({ error: 'must be a boolean' }).default(true),
  },
  { error: 'must be an object' },
);

true satisfies Agrees<TlsOptions, z.input<typeof tlsSchema>>;

export type TlsConfig = z.output<typeof tlsSchema>;

/** undici `connect` options for `tls`, on top of `base` (a connect timeout, say). */
export function tlsConnectOptions(
  tls: TlsConfig,
  base: Record<string, unknown> = {},
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base, rejectUnauthorized: tls.rejectUnauthorized };
  if (tls.ca !== undefined) out.ca = tls.ca;
  if (tls.cert !== undefined) out.cert = tls.cert;
  if (tls.key !== undefined) out.key = tls.key;
  if (tls.passphrase !== undefined) out.passphrase = tls.passphrase;
  if (tls.servername !== undefined) out.servername = tls.servername;
  return out;
}
