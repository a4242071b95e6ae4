// registerConsul(): registers this process with the local Consul agent under a TTL check, reports
// the check passing at half the TTL, registers again when the agent has forgotten it, and
// deregisters on close(). A crashed process turns critical after one TTL and leaves discovery.

import { type Agrees, parseWith } from '@picket/core/internal';
import { z } from 'zod';
import { type BackoffOptions, backoffSchema, createBackoff } from './backoff.ts';
import { port, wholeMs } from './fields.ts';
import { createHttpJson, HttpStatusError, httpShape, type TlsOptions } from './http-json.ts';
import { createKeepAliveRegistrar } from './keepalive.ts';
import type { Registrar } from './registrar.ts';
import { registryUrl } from './registry-url.ts';

export interface RegisterConsulOptions {
  /** The local Consul agent, `http(s)://127.0.0.1:8500`, without credentials. */
  url: string;
  /** The service instance to register (Consul's service definition). */
  service: {
    /** Service name others discover. */
    name: string;
    /** Unique on this agent, e.g. `inventory-<hostname>-<port>`. */
    id: string;
    /** Address others connect to. Default: the agent's node address. */
    address?: string;
    /** Port others connect to. */
    port: number;
    /** Consul tags (a `zone=<zone>` tag gives the zone `consul()` reads). Default none. */
    tags?: readonly string[];
    /** Consul service metadata. Default none. */
    meta?: Record<string, string>;
  };
  /** TTL of the check, ms; it is reported passing every ttlMs/2. */
  ttlMs: number;
  /** Consul removes the service after its check has been critical this long, ms. Default 10 × ttlMs, at least 60000. */
  deregisterCriticalAfterMs?: number;
  /** ACL token with service:write, sent as `X-Consul-Token`; never logged or put in errors. */
  token?: string;
  /** TLS for an `https` agent: a private CA, a client certificate. */
  tls?: TlsOptions;
  /** Connect time limit, ms. Default 5000. */
  connectTimeoutMs?: number;
  /** Time limit per agent call, ms. Default 10000. */
  requestTimeoutMs?: number;
  /** Largest agent response, bytes. Default 16 MiB. */
  maxResponseBytes?: number;
  /** Longest wait for deregistration on close(), ms. Default 5000. */
  deregisterTimeoutMs?: number;
  /** Retry delays after a failed registration or check update. */
  backoff?: BackoffOptions;
}

const registerSchema = z.strictObject({
  url: registryUrl,
  service: z.strictObject({
    name: z.string().min(1).max(256),
    id: z.string().min(1).max(256),
    address: z.string().min(1).max(253).optional(),
    port,
    tags: z.array(z.string()).max(256).readonly().optional(),
    meta: z.record(z.string(), z.string()).optional(),
  }),
  ttlMs: wholeMs(1_000, 86_400_000),
  deregisterCriticalAfterMs: wholeMs(60_000).optional(),
  token: z.string().min(1).optional(),
  deregisterTimeoutMs: wholeMs(1, 600_000).default(5_000),
  backoff: backoffSchema.prefault({}),
  ...httpShape,
});

/** Registers a service with a TTL check and keeps it passing. start() begins; close() deregisters. */
export function registerConsul(options: RegisterConsulOptions): Registrar {
  const opts = parseWith(registerSchema, options, 'Invalid registerConsul options');
  const secrets = () => [opts.token];
  const http = createHttpJson({ ...opts, secrets });
  const headers: Record<string, string> = opts.token === undefined ? {} : { 'X-Consul-Token': opts.token };
  const { service } = opts;
  const checkId = `service:${service.id}`;
  const at = (path: string) => new URL(path, opts.url);
  const put = (path: string, signal: AbortSignal, body?: unknown) =>
    http.request(at(path), { method: 'PUT', headers, signal, ...(body === undefined ? {} : { body }) });

  const pass = async (signal: AbortSignal): Promise<boolean> => {
    const res = await put(`/v1/agent/check/pass/${encodeURIComponent(checkId)}`, signal);
    // Newer agents answer 404 for a check they do not know; older ones 500 "does not have associated TTL".
    const text = JSON.stringify(res.data ?? '');
    if (res.status === 404 || (res.status === 500 && /unknown check|associated ttl/i.test(text)))
      return false;
    http.expectOk(res, `consul check pass for ${service.id}`);
    return true;
  };

  return createKeepAliveRegistrar({
    name: `consul-register:${service.name}/${service.id}`,
    secrets,
    intervalMs: Math.floor(opts.ttlMs / 2),
    backoff: createBackoff(opts.backoff),
    deregisterTimeoutMs: opts.deregisterTimeoutMs,
    async register(signal) {
      const body = {
        ID: service.id,
        Name: service.name,
        ...(service.address === undefined ? {} : { Address: service.address }),
        Port: service.port,
        Tags: service.tags ?? [],
        Meta: service.meta ?? {},
        Check: {
          Name: `picket TTL for ${service.id}`,
          TTL: `${opts.ttlMs}ms`,
          DeregisterCriticalServiceAfter: `${opts.deregisterCriticalAfterMs ?? Math.max(60_000, opts.ttlMs * 10)}ms`,
        },
      };
      http.expectOk(
        await put('/v1/agent/service/register', signal, body),
        `consul registration of ${service.id}`,
      );
      // A TTL check starts critical; pass it now rather than half a TTL from now.
      if (!(await pass(signal))) {
        throw new HttpStatusError(
          `the agent does not know the check ${checkId} it just registered`,
          404,
          undefined,
        );
      }
    },
    renew: pass,
    async deregister(signal) {
      const res = await put(`/v1/agent/service/deregister/${encodeURIComponent(service.id)}`, signal);
      if (res.status !== 404) http.expectOk(res, `consul deregistration of ${service.id}`);
    },
    dispose: () => http.close(),
  });
}

// The documented options are the schema's input, field for field.
true satisfies Agrees<RegisterConsulOptions, z.input<typeof registerSchema>>;
