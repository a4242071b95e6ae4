// `registerEtcd()`: puts this process's instance under a key attached to a lease and keeps the
// lease alive. close() revokes the lease, so the key goes at once on a graceful shutdown; after a
// crash the key goes when the lease expires.

import { type Instance, type InstanceRecord, PicketError } from '@picket/core';
import { type Agrees, checkInstance, Emitter, isInstance, messageOf, parseWith } from '@picket/core/internal';
import { z } from 'zod';
import { type BackoffOptions, createBackoff } from './backoff.ts';
import { sleepUnlessAborted } from './base.ts';
import {
  b64,
  checkCredentials,
  createEtcdClient,
  type EtcdConnectionOptions,
  etcdConnectionShape,
} from './etcd-client.ts';
import { wholeMs } from './fields.ts';
import { HttpStatusError } from './http-json.ts';
import { redact, redactError } from './redact.ts';
import type { Registrar, RegistrarEvents } from './registrar.ts';

export interface RegisterEtcdOptions extends EtcdConnectionOptions {
  /** The key to hold this instance (`/services/inventory/10.0.0.7:8080`). */
  key: string;
  /** This instance, as a record (`'http://10.0.0.7:8080'` or `{ url, zone, weight, metadata }`). */
  instance: InstanceRecord | Instance;
  /** Lease time to live, ms, rounded up to whole seconds (etcd may raise very short ones). Default 10000. */
  ttlMs?: number;
  /** Keep-alive interval, ms. Default a third of `ttlMs`. */
  keepAliveMs?: number;
  /** How long close() waits for the lease revocation, ms. Default 2000. */
  revokeTimeoutMs?: number;
  /** Retry delays after a failure (never longer than `keepAliveMs`). Default 500 ms doubling. */
  backoff?: BackoffOptions;
}

const schema = z
  .strictObject({
    ...etcdConnectionShape,
    key: z.string().min(1).max(4096),
    // Checked by storedValue(), which names what is wrong with it.
    instance: z.custom<InstanceRecord | Instance>(),
    ttlMs: wholeMs(1_000, 86_400_000).default(10_000),
    keepAliveMs: wholeMs(100, 86_400_000).optional(),
    revokeTimeoutMs: wholeMs(1, 60_000).default(2_000),
  })
  .superRefine(checkCredentials);

/** What to store: the record as given, or an Instance turned back into one. */
function storedValue(instance: unknown): string {
  if (typeof instance === 'string') return instance;
  if (isInstance(instance)) {
    const { url, id, zone, weight, priority, metadata } = instance;
    return JSON.stringify({ url, ...(id === url ? {} : { id }), zone, weight, priority, metadata });
  }
  return JSON.stringify(instance);
}

/**
 * Puts this instance under `key`, attached to a lease it keeps alive. start() begins; close()
 * revokes the lease, so the key goes at once (after a crash, when the lease expires).
 */
export function registerEtcd(options: RegisterEtcdOptions): Registrar {
  const opts = parseWith(schema, options, 'Invalid registerEtcd options');
  const checked = checkInstance(opts.instance);
  if (!checked.ok) {
    throw new PicketError(
      'PICKET_INVALID_OPTIONS',
      `Invalid registerEtcd options: \`instance\` ${checked.reason}`,
    );
  }
  const value = b64(storedValue(opts.instance));
  const key = b64(opts.key);
  const ttlSeconds = Math.ceil(opts.ttlMs / 1000);
  const keepAliveMs = opts.keepAliveMs ?? Math.max(100, Math.floor(opts.ttlMs / 3));
  const name = `etcd:${opts.key}`;
  const emitter = new Emitter<RegistrarEvents>();
  const abort = new AbortController();
  const retry = createBackoff(opts.backoff);
  const client = createEtcdClient(opts);
  let leaseId: string | undefined;
  let onLease = false;
  let aliveAt = 0;
  let started: Promise<void> | undefined;
  let loop: Promise<void> | undefined;
  let closing: Promise<void> | undefined;
  let settle: { resolve: () => void; reject: (error: Error) => void } | undefined;

  const report = (error: unknown, what: string) => {
    const message = messageOf(error);
    const safe = new PicketError(
      'PICKET_DISCOVERY_FAILED',
      redact(`${name}: ${what}: ${message}`, client.secrets()),
      {
        cause: redactError(error, client.secrets()),
        details: { registrar: name },
      },
    );
    emitter.emit('registration-error', { error: safe, registrar: name });
  };

  const sleep = (ms: number) => sleepUnlessAborted(ms, abort.signal);

  const call = (path: string, body: unknown) => client.call(path, body, { signal: abort.signal });

  const run = async () => {
    while (!abort.signal.aborted) {
      let what =
        leaseId === undefined ? 'granting a lease' : onLease ? 'keeping the lease alive' : 'putting the key';
      try {
        if (leaseId === undefined) {
          const granted = await call('/v3/lease/grant', { TTL: String(ttlSeconds) });
          if (typeof granted.ID !== 'string' && typeof granted.ID !== 'number')
            throw new Error('etcd granted no lease ID');
          leaseId = String(granted.ID);
        }
        if (!onLease) {
          what = 'putting the key';
          await call('/v3/kv/put', { key, value, lease: leaseId });
          onLease = true;
          aliveAt = Date.now();
          emitter.emit('registered', { registrar: name });
          settle?.resolve();
        }
        retry.reset();
        if (!(await sleep(keepAliveMs))) return;
        what = 'keeping the lease alive';
        const res = await call('/v3/lease/keepalive', { ID: leaseId });
        const ttl = Number((res.result as { TTL?: unknown } | undefined)?.TTL ?? 0);
        if (ttl > 0) {
          aliveAt = Date.now();
        } else {
          // Expired while etcd was unreachable, or revoked by someone else: register afresh.
          leaseId = undefined;
          onLease = false;
          report(new Error('the lease expired; registering again'), what);
        }
      } catch (error) {
        if (abort.signal.aborted) return;
        if (error instanceof HttpStatusError && /lease not found/.test(error.message)) {
          leaseId = undefined;
          onLease = false;
        }
        report(error, what);
        if (!(await sleep(Math.min(retry.next(), keepAliveMs)))) return;
      }
    }
  };

  return {
    name,
    start() {
      if (started !== undefined) return started;
      started = new Promise<void>((resolve, reject) => {
        settle = { resolve, reject };
      });
      // The caller may not await start(); a rejection at close() must not go unhandled.
      started.catch(() => {});
      if (closing !== undefined) settle?.reject(new PicketError('PICKET_CLIENT_CLOSED', `${name}: closed`));
      else loop = run();
      return started;
    },
    registered: () => onLease && Date.now() - aliveAt < opts.ttlMs,
    on: (event, fn) => emitter.on(event, fn),
    close() {
      closing ??= (async () => {
        abort.abort();
        await loop;
        settle?.reject(
          new PicketError('PICKET_CLIENT_CLOSED', `${name}: closed before the instance was registered`),
        );
        if (leaseId !== undefined) {
          try {
            await client.call('/v3/lease/revoke', { ID: leaseId }, { timeoutMs: opts.revokeTimeoutMs });
          } catch (error) {
            // The lease expires on its own; report so that a slow deregistration is visible.
            if (!(error instanceof HttpStatusError && /lease not found/.test(error.message))) {
              report(error, 'revoking the lease');
            }
          }
        }
        leaseId = undefined;
        onLease = false;
        await client.close();
        emitter.clear();
      })();
      return closing;
    },
  };
}

// The documented options are the schema's input, field for field.
true satisfies Agrees<RegisterEtcdOptions, z.input<typeof schema>>;
