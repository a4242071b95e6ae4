// `etcd({ endpoints, prefix })`: the keys under a prefix are the instances. Lists them, then
// watches from the next revision; after a disconnect the watch resumes where it stopped, and when
// etcd has compacted that history away, it lists again. Values are JSON records or plain URLs.

import type { Instance } from '@picket/core';
import { type Agrees, parseWith } from '@picket/core/internal';
import { z } from 'zod';
import type { BackoffOptions } from './backoff.ts';
import { createBackoff } from './backoff.ts';
import { createProvider, limitsShape, type ProviderContext } from './base.ts';
import {
  b64,
  checkCredentials,
  createEtcdClient,
  type EtcdClient,
  type EtcdConnectionOptions,
  etcdConnectionShape,
  fromB64,
  prefixEnd,
} from './etcd-client.ts';
import { wholeMs } from './fields.ts';
import type { Provider } from './provider.ts';

export interface EtcdOptions extends EtcdConnectionOptions {
  /** Key prefix holding the instances (`/services/inventory/`). */
  prefix: string;
  /** Drop a watch that has been silent this long and resume it, ms; 0 never. Default 900000 (etcd sends progress every 10 min). */
  watchIdleTimeoutMs?: number;
  /** Retry delays after a failure. Default 500 ms doubling to 30 s. */
  backoff?: BackoffOptions;
  /** Most instances. Default 10000. */
  maxRecords?: number;
  /** Largest value, bytes. Default 65536. */
  maxRecordBytes?: number;
}

/** The options, parsed once (the README table is checked against its keys). */
export const etcdSchema = z
  .strictObject({
    ...etcdConnectionShape,
    prefix: z.string().min(1).max(4096),
    watchIdleTimeoutMs: wholeMs(0, 86_400_000).default(900_000),
    ...limitsShape,
  })
  .superRefine(checkCredentials);

interface KeyValue {
  key?: string;
  value?: string;
  mod_revision?: string;
}

interface WatchResult {
  header?: { revision?: string };
  created?: boolean;
  canceled?: boolean;
  cancel_reason?: string;
  compact_revision?: string;
  events?: { type?: string; kv?: KeyValue }[];
}

/** A value is a JSON record (`{…}`, `"…"`) or a plain URL. */
export function parseValue(text: string): { ok: true; record: unknown } | { ok: false; reason: string } {
  const trimmed = text.trim();
  if (trimmed.startsWith('{') || trimmed.startsWith('"') || trimmed.startsWith('[')) {
    try {
      return { ok: true, record: JSON.parse(trimmed) };
    } catch (error) {
      return { ok: false, reason: `value is not valid JSON (${(error as Error).message})` };
    }
  }
  return { ok: true, record: trimmed };
}

const num = (value: unknown) => (typeof value === 'string' || typeof value === 'number' ? Number(value) : 0);

/**
 * etcd v3 provider: the keys under `prefix` are the instances (JSON records or plain URLs), listed
 * and then watched. Options are checked here; start() begins I/O.
 */
export function etcd(options: EtcdOptions): Provider {
  const opts = parseWith(etcdSchema, options, 'Invalid etcd options');
  let client: EtcdClient | undefined;
  const key = b64(opts.prefix);
  const rangeEnd = prefixEnd(opts.prefix);

  return createProvider({
    name: `etcd:${opts.prefix}`,
    limits: { maxRecords: opts.maxRecords, maxRecordBytes: opts.maxRecordBytes },
    secrets: () => client?.secrets() ?? [opts.password],
    async run(ctx: ProviderContext) {
      const etcdClient = createEtcdClient(opts);
      client = etcdClient;
      ctx.onClose(() => etcdClient.close());
      const retry = createBackoff(opts.backoff);
      // Key → instance (undefined for a value that was skipped), and the revision it reflects.
      let entries = new Map<string, Instance | undefined>();
      let revision: number | undefined;
      // Compactions reported in a row with no event between: past the first, back off, so a
      // confused or hostile server cannot drive a list/watch loop at full speed.
      let compactions = 0;

      const publish = () => {
        const list: Instance[] = [];
        for (const instance of entries.values()) if (instance !== undefined) list.push(instance);
        ctx.publishInstances(list);
      };

      const toInstance = (name: string, kv: KeyValue): Instance | undefined => {
        const text = fromB64(kv.value);
        if (text.length > opts.maxRecordBytes) {
          ctx.reportInvalid(
            text.slice(0, 200),
            `key ${name}: value of ${text.length} bytes is larger than \`maxRecordBytes\``,
          );
          return undefined;
        }
        const parsed = parseValue(text);
        if (!parsed.ok) {
          ctx.reportInvalid(text, `key ${name}: ${parsed.reason}`);
          return undefined;
        }
        return ctx.check(parsed.record, `key ${name}`);
      };

      const list = async () => {
        const res = await etcdClient.call(
          '/v3/kv/range',
          { key, range_end: rangeEnd, limit: String(opts.maxRecords + 1) },
          { signal: ctx.signal },
        );
        const kvs = (Array.isArray(res.kvs) ? res.kvs : []) as KeyValue[];
        if (kvs.length > opts.maxRecords || res.more === true) {
          throw new Error(
            `more than \`maxRecords\` (${opts.maxRecords}) keys under ${opts.prefix}; raise it if that many are expected`,
          );
        }
        const next = new Map<string, Instance | undefined>();
        for (const kv of kvs) {
          const name = fromB64(kv.key);
          next.set(name, toInstance(name, kv));
        }
        entries = next;
        revision = num((res.header as { revision?: unknown } | undefined)?.revision);
        publish();
      };

      // Watches from revision + 1 until the stream fails (throws) or history was compacted
      // (returns with `revision` cleared, so the caller lists again).
      const watch = async () => {
        const stop = new AbortController();
        const signal = AbortSignal.any([ctx.signal, stop.signal]);
        try {
          const stream = await etcdClient.watch(
            {
              create_request: {
                key,
                range_end: rangeEnd,
                start_revision: String((revision ?? 0) + 1),
                progress_notify: true,
              },
            },
            signal,
            opts.watchIdleTimeoutMs,
          );
          for await (const message of stream) {
            const m = message as { result?: WatchResult; error?: unknown };
            if (m.error !== undefined) throw new Error(`etcd watch error: ${JSON.stringify(m.error)}`);
            const r = m.result ?? {};
            if (num(r.compact_revision) > 0) {
              // The history we would resume from is gone: only a fresh list is complete.
              revision = undefined;
              if (++compactions > 1) await ctx.sleep(retry.next());
              return;
            }
            if (r.canceled === true) {
              if (/auth|token|Unauthenticated/i.test(r.cancel_reason ?? '')) etcdClient.dropToken();
              throw new Error(`etcd cancelled the watch: ${r.cancel_reason ?? 'no reason given'}`);
            }
            if (r.created === true) {
              retry.reset();
              // Announces recovery after a failure (publishes even if nothing changed meanwhile).
              if (ctx.current() !== undefined && ctx.signal.aborted === false) publish();
              continue;
            }
            compactions = 0;
            const events = r.events ?? [];
            if (events.length === 0) {
              // Progress notification: everything up to the header revision has been seen.
              revision = Math.max(revision ?? 0, num(r.header?.revision));
              continue;
            }
            for (const event of events) {
              const kv = event.kv ?? {};
              const name = fromB64(kv.key);
              if (event.type === 'DELETE') entries.delete(name);
              else entries.set(name, toInstance(name, kv));
              revision = Math.max(revision ?? 0, num(kv.mod_revision));
            }
            if (entries.size > opts.maxRecords) {
              revision = undefined;
              throw new Error(`more than \`maxRecords\` (${opts.maxRecords}) keys under ${opts.prefix}`);
            }
            publish();
          }
          throw new Error(`etcd watch stream from ${etcdClient.endpoint()} ended`);
        } finally {
          stop.abort();
        }
      };

      while (!ctx.signal.aborted) {
        try {
          if (revision === undefined) await list();
          await watch();
        } catch (error) {
          if (ctx.signal.aborted) return;
          // A broken watch leaves `revision` as it was: the next one resumes from there.
          ctx.fail(error, revision === undefined ? 'listing' : 'watching');
          if (!(await ctx.sleep(retry.next()))) return;
        }
      }
    },
  });
}

// The documented options are the schema's input, field for field.
true satisfies Agrees<EtcdOptions, z.input<typeof etcdSchema>>;
