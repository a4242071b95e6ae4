// A real DNS server for tests: Debian's dnsmasq on a loopback port, answering from a hosts file
// that tests rewrite (SIGHUP reloads it) and from fixed SRV records. Names under `domain` are
// answered locally only; everything else is refused.

import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ServerProcess, spawnServer } from './child.ts';
import { freePort } from './ports.ts';
import { requireTool } from './require-tool.ts';

export const dnsmasqTool = () => requireTool('dnsmasq', 'dnsmasq-base');

/** Host name → addresses (IPv4 or IPv6). */
export type DnsHosts = Record<string, readonly string[]>;

export interface SrvRecord {
  /** `_http._tcp.inventory.picket.test` */
  name: string;
  target: string;
  port: number;
  priority?: number;
  weight?: number;
}

export interface DnsmasqOptions {
  hosts?: DnsHosts;
  srv?: readonly SrvRecord[];
  /** Answered locally. Default `picket.test`. */
  domain?: string;
  /** TTL of every answer, seconds. Default 1. */
  ttl?: number;
}

export interface DnsmasqServer {
  readonly port: number;
  /** `127.0.0.1:port`, for `dns({ servers: [server] })`. */
  readonly server: string;
  /** Replaces the hosts file and waits until dnsmasq has reloaded it. */
  setHosts(hosts: DnsHosts): Promise<void>;
  /** Stops the server (the port stops answering); start() brings it back on the same port. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops it and removes its files. Idempotent. */
  close(): Promise<void>;
}

function hostsText(hosts: DnsHosts): string {
  const lines: string[] = [];
  for (const [name, addresses] of Object.entries(hosts)) {
    for (const address of addresses) lines.push(`${address} ${name}`);
  }
  return `${lines.join('\n')}\n`;
}

export async function startDnsmasq(options: DnsmasqOptions = {}): Promise<DnsmasqServer> {
  const tool = dnsmasqTool();
  if (tool.path === undefined) throw new Error('dnsmasq is not installed (Debian package dnsmasq-base)');
  const binary = tool.path;
  const dir = await mkdtemp(join(tmpdir(), 'picket-dnsmasq-'));
  // dnsmasq drops to `nobody` when started as root; keep its files readable for SIGHUP reloads.
  await chmod(dir, 0o755);
  const hostsFile = join(dir, 'hosts');
  await writeFile(hostsFile, hostsText(options.hosts ?? {}), { mode: 0o644 });
  const domain = options.domain ?? 'picket.test';
  let port = await freePort(true);
  let proc: ServerProcess | undefined;
  let closed = false;

  const args = () => [
    '--no-daemon',
    '--log-facility=-',
    `--port=${port}`,
    '--listen-address=127.0.0.1',
    '--bind-interfaces',
    '--no-resolv',
    '--no-hosts',
    '--no-negcache',
    `--addn-hosts=${hostsFile}`,
    `--local-ttl=${options.ttl ?? 1}`,
    `--local=/${domain}/`,
    '--conf-file=/dev/null',
    `--pid-file=${join(dir, 'pid')}`,
    ...(process.getuid?.() === 0 ? ['--user=root'] : []),
    ...(options.srv ?? []).map(
      (r) => `--srv-host=${r.name},${r.target},${r.port},${r.priority ?? 0},${r.weight ?? 0}`,
    ),
  ];

  const launch = async (pickNewPortOnClash: boolean) => {
    for (let attempt = 0; ; attempt++) {
      const p = spawnServer(binary, args(), 'dnsmasq');
      try {
        await p.waitForOutput(/read .*hosts/, { after: 0 });
        proc = p;
        return;
      } catch (error) {
        await p.stop('SIGKILL');
        if (attempt >= 20 || !/in use/i.test(p.output())) throw error;
        if (pickNewPortOnClash) port = await freePort(true);
        else await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
  };

  await launch(true);
  const server: DnsmasqServer = {
    get port() {
      return port;
    },
    get server() {
      return `127.0.0.1:${port}`;
    },
    async setHosts(hosts) {
      await writeFile(hostsFile, hostsText(hosts), { mode: 0o644 });
      if (proc === undefined || proc.exited()) return;
      const after = proc.outputLength();
      proc.child.kill('SIGHUP');
      await proc.waitForOutput(/read .*hosts/, { after });
    },
    async stop() {
      await proc?.stop();
      proc = undefined;
    },
    async start() {
      if (proc !== undefined && !proc.exited()) return;
      await launch(false);
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
