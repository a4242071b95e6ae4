// A real etcd for tests: Debian's etcd-server as a one-member cluster on loopback ports with a
// temporary data dir. It can be stopped (or killed) and started again on the same data, on the
// same client port or another one (to change data while clients cannot reach it).

import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ServerProcess, spawnServer } from './child.ts';
import { freePort } from './ports.ts';
import { requireTool } from './require-tool.ts';
import { waitFor } from './wait.ts';

export const etcdTool = () => requireTool('etcd', 'etcd-server');

export interface EtcdServer {
  /** `http://127.0.0.1:<client port>` while started. */
  readonly endpoint: string;
  readonly clientPort: number;
  /** Stops etcd; the data stays. `SIGKILL` simulates a crash. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same data, on `clientPort` (default: the previous one). */
  start(options?: { clientPort?: number }): Promise<void>;
  /** POSTs JSON to the v3 gateway (`/v3/kv/put` …) on the current port and returns the parsed answer. */
  call(path: string, body: unknown): Promise<Record<string, unknown>>;
  put(key: string, value: string, lease?: string): Promise<number>;
  del(key: string): Promise<number>;
  /** Current store revision. */
  revision(): Promise<number>;
  /** Compacts history up to `revision` (physically, so old revisions are gone). */
  compact(revision: number): Promise<void>;
  grantLease(ttlSeconds: number): Promise<string>;
  /** Stops it and removes the data dir. Idempotent. */
  close(): Promise<void>;
}

const b64 = (text: string) => Buffer.from(text).toString('base64');

/** POST with a fresh connection each time, so that nothing lingers in the test process. */
export function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify(body);
    const req = request(url, {
      method: 'POST',
      agent: false,
      headers: {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(payload),
        ...headers,
      },
      timeout: 10_000,
    });
    req.on('timeout', () => req.destroy(new Error(`POST ${url} timed out`)));
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if ((res.statusCode ?? 0) >= 300) reject(new Error(`POST ${url}: HTTP ${res.statusCode}: ${text}`));
        else resolve(text === '' ? {} : JSON.parse(text));
      });
    });
    req.end(payload);
  });
}

export async function startEtcd(): Promise<EtcdServer> {
  const tool = etcdTool();
  if (tool.path === undefined) throw new Error('etcd is not installed (Debian package etcd-server)');
  const binary = tool.path;
  const dir = await mkdtemp(join(tmpdir(), 'picket-etcd-'));
  let clientPort = await freePort();
  let peerPort = await freePort();
  let proc: ServerProcess | undefined;
  let closed = false;

  const args = () => {
    const client = `http://127.0.0.1:${clientPort}`;
    const peer = `http://127.0.0.1:${peerPort}`;
    return [
      '--name=default',
      `--data-dir=${join(dir, 'data')}`,
      `--listen-client-urls=${client}`,
      `--advertise-client-urls=${client}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=default=${peer}`,
      '--log-level=warn',
      '--logger=zap',
    ];
  };

  // Ready when a read is served, or refused only for want of credentials (auth is enabled).
  const healthy = async () => {
    try {
      const res = (await postJson(`http://127.0.0.1:${clientPort}/v3/kv/range`, { key: b64('health') })) as {
        header?: unknown;
      };
      return res.header !== undefined;
    } catch (error) {
      if (/user name is empty|permission denied/.test(String(error))) return true;
      throw error;
    }
  };

  const launch = async (newPortsOnClash: boolean) => {
    for (let attempt = 0; ; attempt++) {
      const p = spawnServer(binary, args(), 'etcd');
      try {
        await waitFor(
          async () => {
            if (p.exited()) throw new Error(`etcd exited:\n${p.output().slice(-4000)}`);
            return healthy();
          },
          { timeoutMs: 30_000, message: 'etcd did not become ready' },
        );
        proc = p;
        return;
      } catch (error) {
        await p.stop('SIGKILL');
        if (attempt >= 10 || !/address already in use/i.test(p.output())) throw error;
        if (newPortsOnClash) {
          clientPort = await freePort();
          peerPort = await freePort();
        } else {
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
      }
    }
  };

  await launch(true);

  const server: EtcdServer = {
    get endpoint() {
      return `http://127.0.0.1:${clientPort}`;
    },
    get clientPort() {
      return clientPort;
    },
    async stop(signal = 'SIGTERM') {
      await proc?.stop(signal);
      proc = undefined;
    },
    async start(options = {}) {
      if (proc !== undefined && !proc.exited()) throw new Error('etcd is already running');
      clientPort = options.clientPort ?? clientPort;
      await launch(false);
    },
    call: (path, body) => postJson(`${server.endpoint}${path}`, body) as Promise<Record<string, unknown>>,
    async put(key, value, lease) {
      const res = await server.call('/v3/kv/put', { key: b64(key), value: b64(value), lease });
      return Number((res.header as { revision: string }).revision);
    },
    async del(key) {
      const res = await server.call('/v3/kv/deleterange', { key: b64(key) });
      return Number((res.header as { revision: string }).revision);
    },
    async revision() {
      const res = await server.call('/v3/kv/range', { key: b64('\u0000'), count_only: true });
      return Number((res.header as { revision: string }).revision);
    },
    async compact(revision) {
      await server.call('/v3/kv/compaction', { revision: String(revision), physical: true });
    },
    async grantLease(ttlSeconds) {
      const res = await server.call('/v3/lease/grant', { TTL: String(ttlSeconds) });
      return String(res.ID);
    },
    async close() {
      if (closed) return;
      closed = true;
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return server;
}
