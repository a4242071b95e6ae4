import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Instance, isPicketError } from '@picket/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { fileList } from './file-list.ts';
import type { Provider } from './provider.ts';
import { activeHandles, nextEvent, untilInstances, urls } from './testing.ts';

let dir: string;
const open: Provider[] = [];
const track = (p: Provider) => {
  open.push(p);
  return p;
};

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'picket-file-'));
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((p) => p.close()));
  await rm(dir, { recursive: true, force: true });
});

const json = (value: unknown) => JSON.stringify(value);

describe('fileList', () => {
  it('publishes the records of a JSON array', async () => {
    const path = join(dir, 'instances.json');
    await writeFile(path, json(['http://127.0.0.1:8001', { url: 'http://127.0.0.1:8002', zone: 'a' }]));
    const p = track(fileList(path));
    p.start();
    const instances = await untilInstances(p, (l) => l.length > 0);
    expect(urls(instances)).toEqual(['http://127.0.0.1:8001', 'http://127.0.0.1:8002']);
    expect(p.name).toBe(`file:${path}`);
  });

  it('reads YAML with an `instances` key', async () => {
    const path = join(dir, 'instances.yaml');
    await writeFile(
      path,
      'instances:\n  - http://127.0.0.1:8001\n  - host: 127.0.0.1\n    port: 8002\n    weight: 3\n',
    );
    const p = track(fileList(path));
    p.start();
    const instances = await untilInstances(p, (l) => l.length > 0);
    expect(instances.map((i) => [i.url, i.weight])).toEqual([
      ['http://127.0.0.1:8001', 1],
      ['http://127.0.0.1:8002', 3],
    ]);
  });

  it('reads JSON and YAML files that start with a UTF-8 byte order mark (as Windows editors write)', async () => {
    const cases: [string, string][] = [
      ['instances.json', json(['http://127.0.0.1:8001'])],
      ['instances.yaml', '- http://127.0.0.1:8001\n'],
    ];
    for (const [name, text] of cases) {
      const path = join(dir, name);
      await writeFile(path, `\uFEFF${text}`);
      const p = track(fileList(path));
      const errors: string[] = [];
      p.on('discovery-error', ({ error }) => errors.push(error.message));
      p.start();
      const first = await Promise.race([
        untilInstances(p, (l) => l.length > 0),
        nextEvent(p, 'discovery-error').then(({ error }) => error),
      ]);
      expect(errors).toEqual([]);
      expect(urls(first as readonly Instance[])).toEqual(['http://127.0.0.1:8001']);
    }
  });

  it('follows an atomic replace (write a temporary file, rename it over)', async () => {
    const path = join(dir, 'instances.json');
    await writeFile(path, json(['http://127.0.0.1:8001']));
    const p = track(fileList(path, { pollMs: 0 }));
    p.start();
    await untilInstances(p, (l) => l.length === 1);
    for (const port of [8002, 8003]) {
      const temp = join(dir, `.instances.json.${port}.tmp`);
      await writeFile(temp, json([`http://127.0.0.1:${port}`]));
      await rename(temp, path);
      await untilInstances(p, (l) => urls(l).join() === `http://127.0.0.1:${port}`);
    }
  });

  it('keeps the last good list while the file is half-written, then takes the finished one', async () => {
    const path = join(dir, 'instances.json');
    await writeFile(path, json(['http://127.0.0.1:8001']));
    const p = track(fileList(path, { debounceMs: 10 }));
    p.start();
    await untilInstances(p, (l) => l.length === 1);
    const failed = nextEvent(p, 'discovery-error');
    await writeFile(path, '["http://127.0.0.1:8002", "http://127.0.0');
    const { error } = await failed;
    expect(error.code).toBe('PICKET_DISCOVERY_FAILED');
    expect(error.message).toContain(`reading ${path}`);
    expect(urls(p.current())).toEqual(['http://127.0.0.1:8001']);
    await writeFile(path, json(['http://127.0.0.1:8002', 'http://127.0.0.1:8003']));
    await untilInstances(p, (l) => l.length === 2);
    expect(p.lastError()).toBeUndefined();
  });

  it('skips and reports invalid records', async () => {
    const path = join(dir, 'instances.json');
    await writeFile(
      path,
      json(['http://127.0.0.1:8001', 'gopher://x', { url: 'http://127.0.0.1:8002', weight: -1 }]),
    );
    const p = track(fileList(path));
    const reasons: string[] = [];
    p.on('invalid-record', (e) => reasons.push(e.reason));
    p.start();
    await untilInstances(p, (l) => l.length === 1);
    expect(reasons).toEqual([expect.stringContaining('gopher:'), expect.stringContaining('`weight`')]);
  });

  it('reports a missing file, then picks it up when it appears', async () => {
    const path = join(dir, 'later.json');
    const p = track(fileList(path, { debounceMs: 10 }));
    const failed = nextEvent(p, 'discovery-error');
    p.start();
    expect((await failed).error.message).toContain('ENOENT');
    expect(p.current()).toBeUndefined();
    await writeFile(path, json(['http://127.0.0.1:8009']));
    await untilInstances(p, (l) => l.length === 1);
  });

  it('catches changes the watcher missed by polling the file signature', async () => {
    const watchDir = join(dir, 'sub');
    const path = join(watchDir, 'instances.json');
    // The directory does not exist yet, so no watch can be set up: only polling can see the file.
    const p = track(fileList(path, { pollMs: 50 }));
    const failed = nextEvent(p, 'discovery-error');
    p.start();
    await failed;
    const { mkdir } = await import('node:fs/promises');
    await mkdir(watchDir);
    await writeFile(path, json(['http://127.0.0.1:8010']));
    await untilInstances(p, (l) => l.length === 1);
  });

  it('rejects a file larger than maxBytes and a document of the wrong shape', async () => {
    const big = join(dir, 'big.json');
    await writeFile(big, json(Array.from({ length: 200 }, (_, i) => `http://127.0.0.1:${8000 + i}`)));
    const p1 = track(fileList(big, { maxBytes: 1024 }));
    const e1 = nextEvent(p1, 'discovery-error');
    p1.start();
    expect((await e1).error.message).toContain('maxBytes');
    const shape = join(dir, 'shape.json');
    await writeFile(shape, json({ hosts: [] }));
    const p2 = track(fileList(shape));
    const e2 = nextEvent(p2, 'discovery-error');
    p2.start();
    expect((await e2).error.message).toContain('an `instances` array');
  });

  it('rejects invalid options naming the field', () => {
    try {
      fileList('/x.json', { debounceMs: -5 });
      expect.unreachable();
    } catch (error) {
      expect(isPicketError(error, 'PICKET_INVALID_OPTIONS')).toBe(true);
      expect((error as Error).message).toMatch(/`debounceMs`.*-5/);
    }
  });

  it('close() stops the watch, timers and reads', async () => {
    const path = join(dir, 'instances.json');
    await writeFile(path, json(['http://127.0.0.1:8001']));
    const before = activeHandles();
    const p = fileList(path, { pollMs: 20 });
    p.start();
    await untilInstances(p, (l) => l.length === 1);
    await writeFile(path, json(['http://127.0.0.1:8002']));
    await p.close();
    const after = activeHandles();
    for (const kind of ['Timeout', 'FSEventWrap', 'FileHandle', 'FSReqPromise']) {
      expect(after[kind] ?? 0, kind).toBeLessThanOrEqual(before[kind] ?? 0);
    }
    const snapshots = vi.fn();
    p.on('snapshot', snapshots);
    await writeFile(path, json(['http://127.0.0.1:8003']));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(snapshots).not.toHaveBeenCalled();
  });
});

describe('fileList without the yaml package', () => {
  afterEach(() => {
    vi.doUnmock('yaml');
    vi.resetModules();
  });

  it('says to install `yaml`', async () => {
    vi.resetModules();
    vi.doMock('yaml', () => {
      throw new Error("Cannot find package 'yaml'");
    });
    const { fileList: fresh } = await import('./file-list.ts');
    const path = join(dir, 'instances.yml');
    await writeFile(path, '- http://127.0.0.1:8001\n');
    const p = track(fresh(path));
    const failed = nextEvent(p, 'discovery-error');
    p.start();
    expect((await failed).error.message).toContain('install it (npm install yaml)');
    expect(p.current()).toBeUndefined();
  });
});
