// registerEureka(): registers this process with a Eureka server, renews the lease with heartbeats,
// registers again when Eureka answers a heartbeat with 404 (the lease was evicted or the server
// restarted), and cancels the lease on close().

import { type Agrees, parseWith } from '@picket/core/internal';
import { z } from 'zod';
import { type BackoffOptions, backoffSchema, createBackoff } from './backoff.ts';
import { eurekaName } from './eureka.ts';
import { EurekaPeers, eurekaUrls } from './eureka-peers.ts';
import { port, wholeMs } from './fields.ts';
import { createHttpJson, httpShape, type TlsOptions } from './http-json.ts';
import { createKeepAliveRegistrar } from './keepalive.ts';
import type { Registrar } from './registrar.ts';

export interface RegisterEurekaOptions {
  /**
   * The Eureka service URL, e.g. `http://eureka:8761/eureka`, or the URLs of several peers of one
   * cluster: registration and heartbeats stay with the one that answers and move to the next
   * when it fails (peers replicate registrations; one that does not know the lease answers a
   * heartbeat with 404, and the instance registers again there).
   */
  url: string | readonly string[];
  /** Application name (upper-cased, as Eureka stores it). */
  app: string;
  /** The instance to register (Eureka's InstanceInfo). */
  instance: {
    /** Unique within the application, e.g. `<host>:<app>:<port>`. */
    instanceId: string;
    /** Host name others may dial (`eureka()` dials it unless `preferIpAddress`). */
    hostName: string;
    /** IP address others may dial. */
    ipAddr: string;
    /** Plain HTTP port. */
    port: number;
    /** HTTPS port; when set, clients prefer it. */
    securePort?: number;
    /** Default: the app name in lower case. */
    vipAddress?: string;
    /** The HTTPS VIP address. Default: `vipAddress`. */
    secureVipAddress?: string;
    /** Shown by Eureka's dashboard. Default `http://<hostName>:<port>/`. */
    homePageUrl?: string;
    /** Shown by Eureka's dashboard. Default none. */
    statusPageUrl?: string;
    /** Where Eureka's own tools check the instance. Default none. */
    healthCheckUrl?: string;
    /** Free-form metadata; `zone` is read as the zone by eureka() and Spring Cloud. */
    metadata?: Record<string, string>;
  };
  /** Time between heartbeats, ms. Default 30000. */
  heartbeatMs?: number;
  /** Eureka evicts the instance after this long without a heartbeat, ms. Default 90000. */
  leaseDurationMs?: number;
  /** TLS for an `https` Eureka server: a private CA, a client certificate. */
  tls?: TlsOptions;
  /** Connect time limit, ms. Default 5000. */
  connectTimeoutMs?: number;
  /** Time limit for one call, ms. Default 10000. */
  requestTimeoutMs?: number;
  /** Largest server response, bytes. Default 16 MiB. */
  maxResponseBytes?: number;
  /** Longest wait for the cancellation on close(), ms. Default 5000. */
  deregisterTimeoutMs?: number;
  /** Retry delays after a failed registration or heartbeat. */
  backoff?: BackoffOptions;
}

const registerSchema = z
  .strictObject({
    url: eurekaUrls,
    app: eurekaName,
    instance: z.strictObject({
      instanceId: eurekaName,
      hostName: z.string().min(1).max(253),
      ipAddr: z.string().min(1).max(64),
      port,
      securePort: port.optional(),
      vipAddress: z.string().min(1).optional(),
      secureVipAddress: z.string().min(1).optional(),
      homePageUrl: z.string().optional(),
      statusPageUrl: z.string().optional(),
      healthCheckUrl: z.string().optional(),
      metadata: z.record(z.string(), z.string()).optional(),
    }),
    heartbeatMs: wholeMs(1_000, 3_600_000).default(30_000),
    leaseDurationMs: wholeMs(1_000, 86_400_000).default(90_000),
    deregisterTimeoutMs: wholeMs(1, 600_000).default(5_000),
    backoff: backoffSchema.prefault({}),
    ...httpShape,
  })
  .refine((o) => o.leaseDurationMs > o.heartbeatMs, {
    error: 'must be longer than `heartbeatMs`, or the lease lapses between heartbeats',
    path: ['leaseDurationMs'],
  });

/** Registers an instance with Eureka and keeps its lease. start() begins; close() cancels the lease. */
export function registerEureka(options: RegisterEurekaOptions): Registrar {
  const opts = parseWith(registerSchema, options, 'Invalid registerEureka options');
  const http = createHttpJson(opts);
  const app = opts.app.toUpperCase();
  const { instance } = opts;
  const peers = new EurekaPeers(http, opts.url);
  const appPath = `apps/${encodeURIComponent(app)}`;
  const instancePath = `${appPath}/${encodeURIComponent(instance.instanceId)}`;
  let lastDirty = Date.now();

  const info = () => ({
    instance: {
      instanceId: instance.instanceId,
      hostName: instance.hostName,
      app,
      ipAddr: instance.ipAddr,
      vipAddress: instance.vipAddress ?? opts.app.toLowerCase(),
      secureVipAddress: instance.secureVipAddress ?? instance.vipAddress ?? opts.app.toLowerCase(),
      status: 'UP',
      overriddenStatus: 'UNKNOWN',
      port: { $: instance.port, '@enabled': 'true' },
      securePort: { $: instance.securePort ?? 443, '@enabled': String(instance.securePort !== undefined) },
      homePageUrl: instance.homePageUrl ?? `http://${instance.hostName}:${instance.port}/`,
      ...(instance.statusPageUrl === undefined ? {} : { statusPageUrl: instance.statusPageUrl }),
      ...(instance.healthCheckUrl === undefined ? {} : { healthCheckUrl: instance.healthCheckUrl }),
      dataCenterInfo: { '@class': 'com.netflix.appinfo.InstanceInfo$MyDataCenterInfo', name: 'MyOwn' },
      leaseInfo: {
        renewalIntervalInSecs: Math.ceil(opts.heartbeatMs / 1000),
        durationInSecs: Math.ceil(opts.leaseDurationMs / 1000),
      },
      metadata: instance.metadata ?? {},
      lastDirtyTimestamp: String(lastDirty),
    },
  });

  return createKeepAliveRegistrar({
    name: `eureka-register:${app}/${instance.instanceId}`,
    intervalMs: opts.heartbeatMs,
    backoff: createBackoff(opts.backoff),
    deregisterTimeoutMs: opts.deregisterTimeoutMs,
    async register(signal) {
      lastDirty = Date.now();
      const res = await peers.request(appPath, { method: 'POST', body: info(), signal });
      http.expectOk(res, `eureka registration of ${instance.instanceId}`);
    },
    async renew(signal) {
      const query = `?status=UP&lastDirtyTimestamp=${lastDirty}`;
      const res = await peers.request(`${instancePath}${query}`, { method: 'PUT', signal });
      // 404: Eureka no longer holds the lease (evicted, or the server restarted): register again.
      if (res.status === 404) return false;
      http.expectOk(res, `eureka heartbeat of ${instance.instanceId}`);
      return true;
    },
    async deregister(signal) {
      const res = await peers.request(instancePath, { method: 'DELETE', signal });
      if (res.status !== 404) http.expectOk(res, `eureka cancellation of ${instance.instanceId}`);
    },
    dispose: () => http.close(),
  });
}

// The documented options are the schema's input, field for field.
true satisfies Agrees<RegisterEurekaOptions, z.input<typeof registerSchema>>;
