// `fileList(path)`: instances from a JSON (or YAML) file, re-read when it changes. The directory is
// watched, not the file, so an editor's write-to-temp-then-rename is seen; a half-written or
// invalid file is reported and the last good list stays until a good one is written.

import { type FSWatcher, watch as fsWatch } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { basename, dirname, extname, resolve } from 'node:path';
import { type Agrees, parseWith } from '@picket/core/internal';
import { z } from 'zod';
import { createProvider, limitsShape, type ProviderContext } from './base.ts';
import { wholeMs } from './fields.ts';
import type { Provider } from './provider.ts';

export interface FileListOptions {
  /** `'auto'` picks YAML for `.yaml`/`.yml` and JSON otherwise. Default `'auto'`. */
  format?: 'auto' | 'json' | 'yaml';
  /** Quiet time after a change before re-reading, ms. Default 100. */
  debounceMs?: number;
  /** Also check the file's size, time and inode this often, ms, in case a watch event is missed; 0 turns it off. Default 5000. */
  pollMs?: number;
  /** Largest file, bytes. Default 16 MiB. */
  maxBytes?: number;
  /** Most instances. Default 10000. */
  maxRecords?: number;
  /** Largest record, bytes. Default 65536. */
  maxRecordBytes?: number;
}

/** The options, parsed once (the README table is checked against its keys). */
export const fileListSchema = z.strictObject({
  format: z.enum(['auto', 'json', 'yaml']).default('auto'),
  debounceMs: wholeMs(0, 60_000).default(100),
  pollMs: wholeMs(0, 86_400_000).default(5_000),
  maxBytes: z
    .number()
    .int()
    .min(1)
    .max(1024 * 1024 * 1024)
    .default(16 * 1024 * 1024),
  ...limitsShape,
});

type Parse = (text: string) => unknown;

async function loadYaml(): Promise<Parse> {
  try {
    const mod = (await import('yaml')) as { parse: Parse };
    return (text) => mod.parse(text);
  } catch (error) {
    throw new Error(
      'reading YAML needs the optional `yaml` package; install it (npm install yaml) or use a JSON file',
      { cause: error },
    );
  }
}

async function readBounded(path: string, maxBytes: number): Promise<string> {
  const handle = await open(path, 'r');
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buffer = Buffer.allocUnsafe(64 * 1024);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > maxBytes) throw new Error(`file is larger than \`maxBytes\` (${maxBytes})`);
      chunks.push(buffer.subarray(0, bytesRead));
    }
    const text = Buffer.concat(chunks).toString('utf8');
    // Editors on Windows start UTF-8 files with a byte order mark, which JSON.parse refuses.
    return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  } finally {
    await handle.close();
  }
}

/** The file holds an array of records, or `{ instances: [...] }`. */
export function recordsOf(document: unknown): unknown[] {
  if (Array.isArray(document)) return document;
  if (
    document !== null &&
    typeof document === 'object' &&
    Array.isArray((document as { instances?: unknown }).instances)
  ) {
    return (document as { instances: unknown[] }).instances;
  }
  throw new Error('expected an array of instance records or an object with an `instances` array');
}

/** Watches `path` and publishes its records. Relative paths resolve against the current directory. */
export function fileList(path: string, options: FileListOptions = {}): Provider {
  if (typeof path !== 'string' || path === '') {
    parseWith(z.string().min(1), path, 'Invalid fileList path');
  }
  const opts = parseWith(fileListSchema, options, 'Invalid fileList options');
  const file = resolve(path);
  const dir = dirname(file);
  const base = basename(file);
  const yaml = opts.format === 'yaml' || (opts.format === 'auto' && /^\.ya?ml$/i.test(extname(file)));

  return createProvider({
    name: `file:${file}`,
    limits: { maxRecords: opts.maxRecords, maxRecordBytes: opts.maxRecordBytes },
    async run(ctx: ProviderContext) {
      let watcher: FSWatcher | undefined;
      let cancelDebounce = () => {};
      // Size, mtime and inode of the last read; a read happens only when they change.
      let seen: string | undefined;
      let reading: Promise<void> | undefined;
      let again = false;
      const parse: Parse = yaml ? await loadYaml().catch((e: unknown) => failParse(e)) : JSON.parse;

      function failParse(error: unknown): Parse {
        ctx.fail(error, 'loading the YAML parser');
        return () => {
          throw error;
        };
      }

      const signature = () =>
        stat(file).then(
          (s) => `${s.ino}:${s.size}:${s.mtimeMs}`,
          (e: NodeJS.ErrnoException) => `error:${e.code}`,
        );

      const readOnce = async () => {
        const sig = await signature();
        try {
          const text = await readBounded(file, opts.maxBytes);
          if (ctx.signal.aborted) return;
          seen = sig;
          ctx.publish(recordsOf(parse(text)));
        } catch (error) {
          seen = sig;
          if (!ctx.signal.aborted) ctx.fail(error, `reading ${file}`);
        }
      };

      const read = (): Promise<void> => {
        if (reading !== undefined) {
          again = true;
          return reading;
        }
        reading = (async () => {
          do {
            again = false;
            await readOnce();
          } while (again && !ctx.signal.aborted);
          reading = undefined;
        })();
        return reading;
      };

      const schedule = () => {
        cancelDebounce();
        cancelDebounce = ctx.setTimer(() => void read(), opts.debounceMs);
      };

      const startWatch = () => {
        try {
          watcher = fsWatch(dir, { persistent: false }, (_event, name) => {
            if (name === null || name === base) schedule();
          });
          watcher.on('error', (error) => {
            ctx.fail(error, `watching ${dir}`);
            watcher?.close();
            watcher = undefined;
          });
        } catch (error) {
          ctx.fail(error, `watching ${dir}`);
        }
      };

      ctx.onClose(async () => {
        cancelDebounce();
        watcher?.close();
        await reading;
      });
      startWatch();
      await read();
      if (opts.pollMs === 0) return;
      while (await ctx.sleep(opts.pollMs)) {
        if (watcher === undefined) startWatch();
        if ((await signature()) !== seen) await read();
      }
    },
  });
}

// The documented options are the schema's input, field for field.
true satisfies Agrees<FileListOptions, z.input<typeof fileListSchema>>;
