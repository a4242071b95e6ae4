// TLS settings for connections to `https` instances, shared by the HTTP client's pools and the
// HTTP health checks, so that the checks that judge an instance trust what requests trust.

import { z } from 'zod';

export interface TlsOptions {
  /** CA certificates to trust (PEM), instead of Node's bundled ones. */
  ca?: string | Buffer | ReadonlyArray<string | Buffer>;
  /** Client certificate (PEM), for instances that require one. */
  cert?: string | Buffer | ReadonlyArray<string | Buffer>;
  /** The client certificate's private key (PEM). */
  key?: string | Buffer | ReadonlyArray<string | Buffer>;
  /** SNI and certificate host name. Default the instance's host. */
  servername?: string;
  /** Default true. */
  rejectUnauthorized?: boolean;
}

const pem = z.union(
  [z.string(), z.instanceof(Buffer), z.array(z.union([z.string(), z.instanceof(Buffer)]))],
  { error: 'must be a PEM string, a Buffer, or a list of them' },
);

export const tlsSchema = z.strictObject(
  {
    ca: pem.optional(),
    cert: pem.optional(),
    key: pem.optional(),
    servername: z.string({ error: 'must be a string' }).optional(),
    rejectUnauthorized: z.boolean({ error: 'must be a boolean' }).default(true),
  },
  { error: 'must be an object' },
);

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
  if (tls.servername !== undefined) out.servername = tls.servername;
  return out;
}
