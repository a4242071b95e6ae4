// kubernetes(): a Service's endpoints from its EndpointSlices, listed and then watched from the
// list's resourceVersion, as the Kubernetes API documents: re-list on 410 Gone (an HTTP status or
// an ERROR event), BOOKMARKs advance the version, and a watch that ends resumes where it was.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Agrees, bytes, parseWith } from '@picket/core/internal';
import { z } from 'zod';
import { type BackoffOptions, backoffSchema, createBackoff } from './backoff.ts';
import { createProvider, limitsShape, type ProviderContext, type ProviderLimits } from './base.ts';
import { integer, port, wholeMs } from './fields.ts';
import { createHttpJson, type HttpJson, HttpStatusError, httpShape, type TlsOptions } from './http-json.ts';
import { type EndpointRecord, joinSlices, sliceName, sliceRecords } from './kubernetes-slice.ts';
import type { Provider } from './provider.ts';
import { registryUrl } from './registry-url.ts';

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface KubernetesOptions extends ProviderLimits {
  /** The Service whose EndpointSlices are followed. */
  service: string;
  /** Default: the pod's own namespace in a cluster, else `default`. */
  namespace?: string;
  /** A port name from the slices, or a number to dial. Default: the slices' only port. */
  port?: number | string;
  /** `https://host:port`. Default: in-cluster, from KUBERNETES_SERVICE_HOST/PORT. */
  apiServer?: string;
  /** Bearer token, or a function read on each (re)connect. Default in-cluster: the service-account token file, re-read on each (re)connect. */
  token?: string | (() => string | Promise<string>);
  /** CA certificate (PEM) of the API server. Default in-cluster: the service account's ca.crt. */
  ca?: string | Uint8Array;
  /** More label selector terms, ANDed with `kubernetes.io/service-name=<service>`. */
  labelSelector?: string;
  /** Where the in-cluster token, ca.crt and namespace files are. Default /var/run/secrets/kubernetes.io/serviceaccount. */
  serviceAccountDir?: string;
  /** Each watch asks the server to end after this long (`timeoutSeconds`), ms. Default 300000. */
  watchTimeoutMs?: number;
  /** Items per list page (`limit`). Default 500. */
  pageSize?: number;
  /** TLS to the API server beyond `ca`: a client certificate, a server name. */
  tls?: TlsOptions;
  /** Connect time limit, ms. Default 5000. */
  connectTimeoutMs?: number;
  /** Time limit for one list call, ms. Default 10000. */
  requestTimeoutMs?: number;
  /** Largest response (or one watch event), bytes. Default 16 MiB. */
  maxResponseBytes?: number;
  /** Retry delays while the API server fails. Default 500 ms doubling to 30 s. */
  backoff?: BackoffOptions;
}

const k8sName = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, {
    error: 'must be a Kubernetes name (lowercase, digits, - and .)',
  });

export const kubernetesSchema = z.strictObject({
  service: k8sName,
  namespace: k8sName.optional(),
  port: z
    .union([port, z.string().min(1).max(63)], { error: 'must be a port number or a port name' })
    .optional(),
  apiServer: registryUrl.optional(),
  token: z
    .union([
      z.string().min(1),
      z.custom<() => string | Promise<string>>((v) => typeof v === 'function', {
        error: 'must be a function',
      }),
    ])
    .optional(),
  ca: z.union([z.string(), bytes]).optional(),
  labelSelector: z.string().min(1).max(1024).optional(),
  serviceAccountDir: z.string().min(1).default(SERVICE_ACCOUNT_DIR),
  watchTimeoutMs: wholeMs(1_000, 3_600_000).default(300_000),
  pageSize: integer(1, 10_000).default(500),
  backoff: backoffSchema.prefault({}),
  ...httpShape,
  ...limitsShape,
});

type Resolved = z.output<typeof kubernetesSchema>;

/** How long a silent watch may stay open past the time we asked the server to end it. */
const WATCH_IDLE_MARGIN_MS = 30_000;

function inClusterServer(): string | undefined {
  const host = process.env.KUBERNETES_SERVICE_HOST;
  const port = process.env.KUBERNETES_SERVICE_PORT ?? '443';
  if (host === undefined || host === '') return undefined;
  return `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** EndpointSlices provider for one Service. Options are checked here; start() begins I/O. */
export function kubernetes(options: KubernetesOptions): Provider {
  const opts = parseWith(kubernetesSchema, options, 'Invalid kubernetes options');
  const apiServer = opts.apiServer ?? inClusterServer();
  if (apiServer === undefined) {
    parseWith(
      z.object({
        apiServer: z.string({ error: 'is required outside a cluster (KUBERNETES_SERVICE_HOST is not set)' }),
      }),
      options,
      'Invalid kubernetes options',
    );
  }
  let token: string | undefined;
  const secrets = () => [token];
  return createProvider({
    name: `kubernetes:${opts.namespace === undefined ? '' : `${opts.namespace}/`}${opts.service}`,
    limits: { maxRecords: opts.maxRecords, maxRecordBytes: opts.maxRecordBytes },
    secrets,
    run: (ctx) =>
      watchSlices(ctx, opts, apiServer as string, secrets, (t) => {
        token = t;
      }),
  });
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

async function watchSlices(
  ctx: ProviderContext,
  opts: Resolved,
  apiServer: string,
  secrets: () => (string | undefined)[],
  setToken: (token: string | undefined) => void,
): Promise<void> {
  const inCluster = opts.apiServer === undefined;
  const retry = createBackoff(opts.backoff);
  const slices = new Map<string, readonly EndpointRecord[]>();
  let http: HttpJson | undefined;
  let namespace = opts.namespace;
  let version: string | undefined;
  let failed = false;
  let flushPending: (() => void) | undefined;
  ctx.onClose(() => http?.close());

  const headers = async (): Promise<Record<string, string>> => {
    // Projected service-account tokens rotate: read the token afresh for every connection.
    const token =
      typeof opts.token === 'function'
        ? await opts.token()
        : (opts.token ??
          (inCluster ? (await readFile(join(opts.serviceAccountDir, 'token'), 'utf8')).trim() : undefined));
    setToken(token);
    return token === undefined ? {} : { authorization: `Bearer ${token}` };
  };

  const publish = () => {
    flushPending?.();
    flushPending = undefined;
    ctx.publish(joinSlices(slices.values()));
  };

  const store = (into: Map<string, readonly EndpointRecord[]>, slice: unknown): void => {
    const name = sliceName(slice);
    if (name === undefined) {
      ctx.reportInvalid(slice, 'an EndpointSlice without `metadata.name`');
      return;
    }
    if (!into.has(name) && into.size >= ctx.limits.maxRecords) {
      throw new Error(`more than ${ctx.limits.maxRecords} EndpointSlices (maxRecords)`);
    }
    const { records, invalid } = sliceRecords(slice, namespace as string, opts.port);
    for (const { record, reason } of invalid) ctx.reportInvalid(record, reason);
    into.set(name, records);
  };

  const collection = (params: Record<string, string>) => {
    const url = new URL(`/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices`, apiServer);
    const selector = `kubernetes.io/service-name=${opts.service}${opts.labelSelector === undefined ? '' : `,${opts.labelSelector}`}`;
    url.searchParams.set('labelSelector', selector);
    for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
    return url;
  };

  const list = async (client: HttpJson): Promise<void> => {
    // Built aside and swapped in whole, so that no half-read list is ever published.
    const listed = new Map<string, readonly EndpointRecord[]>();
    let restarts = 0;
    let next: string | undefined;
    for (;;) {
      const params: Record<string, string> = { limit: String(opts.pageSize) };
      if (next !== undefined) params.continue = next;
      const res = await client.request(collection(params), { headers: await headers(), signal: ctx.signal });
      // A continue token outlives the version it was cut from only so long; start the list over.
      if (res.status === 410 && next !== undefined && restarts++ < 3) {
        next = undefined;
        listed.clear();
        continue;
      }
      const data = client.expectOk(res, 'EndpointSlice list').data as {
        metadata?: { resourceVersion?: unknown; continue?: unknown };
        items?: unknown;
      };
      if (!Array.isArray(data?.items)) throw new Error('the EndpointSlice list has no `items`');
      for (const item of data.items) store(listed, item);
      const cont = data.metadata?.continue;
      if (typeof cont === 'string' && cont !== '') {
        next = cont;
        continue;
      }
      const rv = data.metadata?.resourceVersion;
      if (typeof rv !== 'string' || rv === '')
        throw new Error('the EndpointSlice list has no resourceVersion');
      version = rv;
      slices.clear();
      for (const [name, records] of listed) slices.set(name, records);
      publish();
      return;
    }
  };

  /** Watches from `version`; resolves when the stream ends, with whether it saw anything. */
  const watch = async (client: HttpJson): Promise<boolean> => {
    const stream = await client.stream(
      collection({
        watch: '1',
        allowWatchBookmarks: 'true',
        resourceVersion: version as string,
        timeoutSeconds: String(Math.ceil(opts.watchTimeoutMs / 1000)),
      }),
      {
        headers: await headers(),
        signal: ctx.signal,
        idleTimeoutMs: opts.watchTimeoutMs + WATCH_IDLE_MARGIN_MS,
      },
    );
    if (failed) publish(); // the source works again: clear the error even if nothing changed
    failed = false;
    let seen = false;
    for await (const raw of stream) {
      seen = true;
      const event = raw as { type?: unknown; object?: Record<string, unknown> };
      const rv = (event.object?.metadata as { resourceVersion?: unknown } | undefined)?.resourceVersion;
      if (event.type === 'ERROR') {
        const status = event.object ?? {};
        if (status.code === 410) {
          version = undefined;
          return true;
        }
        throw new Error(
          `watch error ${String(status.code)} ${String(status.reason)}: ${String(status.message)}`,
        );
      }
      if (event.type === 'ADDED' || event.type === 'MODIFIED') {
        store(slices, event.object);
      } else if (event.type === 'DELETED') {
        const name = sliceName(event.object);
        if (name !== undefined) slices.delete(name);
      } else if (event.type !== 'BOOKMARK') {
        continue;
      }
      if (typeof rv === 'string' && rv !== '') version = rv;
      // Events arrive in bursts (a rollout, a resumed watch): publish once per burst.
      if (event.type !== 'BOOKMARK') flushPending ??= ctx.setTimer(publish, 0);
    }
    return seen;
  };

  while (!ctx.signal.aborted) {
    let listedNow = false;
    try {
      if (http === undefined) {
        namespace ??= inCluster
          ? ((await readOptional(join(opts.serviceAccountDir, 'namespace')))?.trim() ?? 'default')
          : 'default';
        const ca =
          opts.ca ??
          opts.tls?.ca ??
          (inCluster ? await readFile(join(opts.serviceAccountDir, 'ca.crt'), 'utf8') : undefined);
        http = createHttpJson({ ...opts, tls: { rejectUnauthorized: true, ...opts.tls, ca }, secrets });
      }
      if (version === undefined) {
        await list(http);
        listedNow = true;
      }
      const started = performance.now();
      const seen = await watch(http);
      // A watch the server ends at once, or refuses as Gone right after a fresh list, again and
      // again, must not become a hot loop against the API server.
      const quick = performance.now() - started < 1_000;
      if (quick && (!seen || (listedNow && version === undefined))) {
        if (!(await ctx.sleep(retry.next()))) return;
      } else {
        retry.reset();
      }
    } catch (error) {
      if (ctx.signal.aborted) return;
      if (error instanceof HttpStatusError && error.status === 410) {
        version = undefined; // our version was compacted away: list again (at once, unless we just did)
        if (listedNow && !(await ctx.sleep(retry.next()))) return;
        continue;
      }
      failed = true;
      ctx.fail(error, version === undefined ? 'EndpointSlice list failed' : 'EndpointSlice watch failed');
      if (!(await ctx.sleep(retry.next()))) return;
    }
  }
}

// The documented options are the schema's input, field for field.
true satisfies Agrees<KubernetesOptions, z.input<typeof kubernetesSchema>>;
