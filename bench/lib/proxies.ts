// The appliances Picket is compared against, started by the benchmarks on loopback with
// keep-alive on both sides: HAProxy (`http-reuse always`, `option http-keep-alive`) and nginx
// (`keepalive 64` upstream, HTTP/1.1 with the Connection header cleared). Each runs as one
// process with one thread/worker, like the Node client it is compared with, and reports its own
// CPU time (from /proc) so that a proxy's cost is not hidden in another process.

import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { freePort } from '../../test/fixtures/instances.ts';
import { type ServerProcess, spawnServer } from '../../test/servers/child.ts';
import { requireTool } from '../../test/servers/require-tool.ts';
import { waitFor } from '../../test/servers/wait.ts';

export interface ProxyProcess {
  readonly name: string;
  readonly port: number;
  readonly url: string;
  readonly pid: number;
  /** CPU time (user + system) the proxy process has used so far, µs. */
  cpuUs(): number;
  stop(): Promise<void>;
}

export interface ProxyOptions {
  /** Least connections instead of round robin. */
  leastConn?: boolean;
  /** Active health checks every `checkMs` (HAProxy; nginx open source has none). */
  checkMs?: number;
  /** Failed checks that take a server out (HAProxy's `fall`). Default 2. */
  fall?: number;
  /** Passed checks that bring it back (HAProxy's `rise`). Default 1. */
  rise?: number;
  /** Path that answers 200 on every instance, for readiness. Default '/fast'. */
  probePath?: string;
}

let ticks: number | undefined;
function clockTicks(): number {
  if (ticks === undefined) {
    try {
      ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticks = 100;
    }
  }
  return ticks;
}

/** utime + stime of a process, µs (fields 14 and 15 of /proc/<pid>/stat). */
export function processCpuUs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) / clockTicks()) * 1e6;
  } catch {
    return Number.NaN;
  }
}

export const haproxyTool = () => requireTool('haproxy', 'haproxy');
export const nginxTool = () => requireTool('nginx', 'nginx-light');

async function ready(proc: ServerProcess, name: string, port: number, path: string): Promise<void> {
  const probe = new Pool(`http://127.0.0.1:${port}`);
  try {
    await waitFor(
      async () => {
        if (proc.exited()) throw new Error(`${name} exited:\n${proc.output().slice(-2000)}`);
        const res = await probe.request({ path, method: 'GET' });
        await res.body.dump();
        return res.statusCode === 200;
      },
      { timeoutMs: 10_000, intervalMs: 50, message: `${name} to answer on port ${port}` },
    );
  } finally {
    await probe.close();
  }
}

function handle(name: string, port: number, proc: ServerProcess, dir: string): ProxyProcess {
  return {
    name,
    port,
    url: `http://127.0.0.1:${port}`,
    pid: proc.pid,
    cpuUs: () => processCpuUs(proc.pid),
    async stop() {
      await proc.stop('SIGTERM', 5000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function startHaproxy(
  backends: readonly number[],
  options: ProxyOptions = {},
): Promise<ProxyProcess> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'picket-haproxy-'));
  const cfg = join(dir, 'haproxy.cfg');
  const fall = options.fall ?? 2;
  const rise = options.rise ?? 1;
  const check =
    options.checkMs === undefined ? '' : ` check inter ${options.checkMs} fall ${fall} rise ${rise}`;
  writeFileSync(
    cfg,
    [
      'global',
      '  maxconn 4096',
      '  nbthread 1',
      'defaults',
      '  mode http',
      '  timeout connect 2s',
      '  timeout client 30s',
      '  timeout server 30s',
      '  option http-keep-alive',
      // Like Picket's retries: a failed connect goes to another server.
      '  retries 2',
      '  option redispatch 1',
      'frontend fe',
      `  bind 127.0.0.1:${port}`,
      '  default_backend be',
      'backend be',
      `  balance ${options.leastConn === true ? 'leastconn' : 'roundrobin'}`,
      '  http-reuse always',
      ...(options.checkMs === undefined ? [] : ['  option httpchk GET /health']),
      ...backends.map((p, i) => `  server s${i} 127.0.0.1:${p}${check}`),
      '',
    ].join('\n'),
  );
  const proc = spawnServer('haproxy', ['-f', cfg, '-db'], 'haproxy');
  await ready(proc, 'haproxy', port, options.probePath ?? '/fast');
  return handle('haproxy', port, proc, dir);
}

export async function startNginx(
  backends: readonly number[],
  options: ProxyOptions = {},
): Promise<ProxyProcess> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'picket-nginx-'));
  mkdirSync(join(dir, 'logs'));
  const conf = join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    [
      'daemon off;',
      // One process, one worker: stopping it stops everything, and it matches the one-threaded client.
      'master_process off;',
      'worker_processes 1;',
      `pid ${join(dir, 'nginx.pid')};`,
      'error_log stderr warn;',
      'events { worker_connections 4096; }',
      'http {',
      '  access_log off;',
      `  client_body_temp_path ${join(dir, 'body')};`,
      `  proxy_temp_path ${join(dir, 'proxy')};`,
      '  upstream be {',
      ...(options.leastConn === true ? ['    least_conn;'] : []),
      // Passive health: one failure takes a server out for 2 s.
      ...backends.map((p) => `    server 127.0.0.1:${p} max_fails=1 fail_timeout=2s;`),
      '    keepalive 64;',
      '    keepalive_requests 1000000;',
      '  }',
      '  server {',
      `    listen 127.0.0.1:${port};`,
      '    keepalive_requests 1000000;',
      '    location / {',
      '      proxy_pass http://be;',
      '      proxy_http_version 1.1;',
      '      proxy_set_header Connection "";',
      '      proxy_connect_timeout 2s;',
      '      proxy_next_upstream error timeout;',
      '    }',
      '  }',
      '}',
      '',
    ].join('\n'),
  );
  const proc = spawnServer('nginx', ['-p', dir, '-c', conf, '-e', 'stderr'], 'nginx');
  await ready(proc, 'nginx', port, options.probePath ?? '/fast');
  return handle('nginx', port, proc, dir);
}
