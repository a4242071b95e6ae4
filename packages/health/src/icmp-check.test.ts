// ICMP checks send echo requests only to 127.0.0.1: on the host's loopback, or inside network
// namespaces this test creates (and deletes), so no traffic leaves the machine.

import { execFile } from 'node:child_process';
import { accessSync, chmodSync, constants, copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { isPicketError, type PicketError } from '@picket/core';
import { toInstance } from '@picket/core/internal';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { icmpCheck } from './icmp-check.ts';

const run = promisify(execFile);
const never = new AbortController().signal;
const loopback = toInstance({ host: '127.0.0.1', port: 80 });
const inCi = process.env.CI === 'true';

function which(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  return undefined;
}

const ping = which('ping');
const MISSING_PING =
  'ping is not installed; install it with `apt-get install iputils-ping` (Debian package iputils-ping)';

/** Skips outside CI; fails in CI, where every tool these tests need must be present. */
function unavailable(ctx: TestContext, why: string): void {
  if (inCi) throw new Error(`${why} (CI=true: required, not skipped)`);
  ctx.skip(why);
}

let dir = '';
const namespaces: string[] = [];

/** A namespace of our own, set up by `commands` run inside it; undefined if not permitted. */
async function namespace(suffix: string, commands: string[][]): Promise<string | undefined> {
  const name = `picket-h-${process.pid}-${suffix}`;
  try {
    await run('ip', ['netns', 'add', name]);
  } catch {
    return undefined;
  }
  namespaces.push(name);
  for (const command of commands) await run('ip', ['netns', 'exec', name, ...command]);
  return name;
}

/** An executable shell script standing in for `ping`. */
function script(name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

async function rejection(promise: Promise<unknown>): Promise<PicketError> {
  try {
    await promise;
  } catch (error) {
    if (isPicketError(error)) return error;
    throw error;
  }
  throw new Error('expected the check to reject');
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'picket-icmp-'));
  chmodSync(dir, 0o755); // the unprivileged `nobody` below must reach the copied binary
});

afterAll(async () => {
  for (const name of namespaces) await run('ip', ['netns', 'del', name]).catch(() => {});
  rmSync(dir, { recursive: true, force: true });
});

describe('icmpCheck', () => {
  it('gets an echo reply from 127.0.0.1', async (ctx) => {
    if (ping === undefined) return unavailable(ctx, MISSING_PING);
    const result = await icmpCheck({ timeout: 2000 }).run(loopback, never);
    expect(result).toMatchObject({ ok: true, layer: 'l3' });
    expect(result.reason).toMatch(/^l3: echo reply from 127\.0\.0\.1 in [\d.]+ ms$/);
    expect(result.latencyMs).toBeLessThan(2000);
  });

  it('rejects with a typed error naming iputils-ping when ping is missing', async () => {
    const error = await rejection(icmpCheck({ pingPath: join(dir, 'no-such-ping') }).run(loopback, never));
    expect(error.code).toBe('PICKET_HEALTH_CHECK_FAILED');
    expect(error.details).toMatchObject({ check: 'icmp', problem: 'ping-missing' });
    expect(error.message).toMatch(/cannot run ".*no-such-ping": not found.*apt-get install iputils-ping/);
  });

  it('rejects with a typed error when ping may not open an ICMP socket (simulated output)', async () => {
    const fake = script('ping-eperm', 'echo "ping: socket: Operation not permitted" >&2\nexit 2');
    const error = await rejection(icmpCheck({ pingPath: fake }).run(loopback, never));
    expect(error.details).toMatchObject({ check: 'icmp', problem: 'not-permitted' });
    expect(error.message).toMatch(
      /not permitted to send ICMP echo \(socket: Operation not permitted\).*cap_net_raw/,
    );
  });

  it('passes the host after `--` so that a host can never be read as an option', async () => {
    const fake = script(
      'ping-args',
      `printf '%s ' "$@" > ${join(dir, 'args.txt')}\necho "64 bytes: time=0.5 ms"`,
    );
    const result = await icmpCheck({ pingPath: fake, timeout: 3000 }).run(
      toInstance({ host: '-f', port: 1 }),
      never,
    );
    expect(result.ok).toBe(true);
    const { readFileSync } = await import('node:fs');
    expect(readFileSync(join(dir, 'args.txt'), 'utf8').trim()).toBe('-n -c 1 -W 3 -- -f');
    expect(result.latencyMs).toBe(0.5);
  });

  it('fails, naming the error, when the route is down (namespace with loopback down)', async (ctx) => {
    if (ping === undefined) return unavailable(ctx, MISSING_PING);
    const ns = await namespace('down', []); // a new namespace's lo starts down
    if (ns === undefined)
      return unavailable(ctx, 'network namespaces are not permitted here (`ip netns add` failed)');
    const wrapper = script('ping-down', `exec ip netns exec ${ns} ${ping} "$@"`);
    const result = await icmpCheck({ pingPath: wrapper }).run(loopback, never);
    expect(result.ok).toBe(false);
    expect(result.reason).toBe('l3: ping failed for 127.0.0.1: connect: Network is unreachable');
  });

  it('fails when no echo reply comes within the timeout (namespace ignoring echo requests)', async (ctx) => {
    if (ping === undefined) return unavailable(ctx, MISSING_PING);
    const ns = await namespace('silent', [
      ['ip', 'link', 'set', 'lo', 'up'],
      ['sysctl', '-qw', 'net.ipv4.icmp_echo_ignore_all=1'],
    ]);
    if (ns === undefined)
      return unavailable(ctx, 'network namespaces are not permitted here (`ip netns add` failed)');
    const wrapper = script('ping-silent', `exec ip netns exec ${ns} ${ping} "$@"`);
    const start = performance.now();
    const result = await icmpCheck({ pingPath: wrapper, timeout: 500 }).run(loopback, never);
    expect(result.ok).toBe(false);
    expect(result.reason).toBe('l3: no echo reply from 127.0.0.1 within 500 ms');
    expect(performance.now() - start).toBeGreaterThanOrEqual(490);
  });

  it('rejects with a typed error when ping really lacks the privilege (unprivileged, in a namespace)', async (ctx) => {
    if (ping === undefined) return unavailable(ctx, MISSING_PING);
    if (process.getuid?.() !== 0 || which('setpriv') === undefined) {
      return unavailable(ctx, 'needs root and setpriv (Debian util-linux) to run ping unprivileged');
    }
    const ns = await namespace('eperm', [
      ['ip', 'link', 'set', 'lo', 'up'],
      ['sysctl', '-qw', 'net.ipv4.ping_group_range=1 0'],
    ]);
    if (ns === undefined)
      return unavailable(ctx, 'network namespaces are not permitted here (`ip netns add` failed)');
    const copy = join(dir, 'ping-copy'); // a copy drops ping's file capabilities
    copyFileSync(ping, copy);
    chmodSync(copy, 0o755);
    const wrapper = script(
      'ping-unprivileged',
      `exec ip netns exec ${ns} setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all ${copy} "$@"`,
    );
    const error = await rejection(icmpCheck({ pingPath: wrapper }).run(loopback, never));
    expect(error.details).toMatchObject({ problem: 'not-permitted' });
    expect(error.message, error.message).toMatch(/Operation not permitted/);
  });

  it('stops ping at once when aborted', async () => {
    const fake = script('ping-slow', 'exec sleep 30');
    const controller = new AbortController();
    const pending = icmpCheck({ pingPath: fake }).run(loopback, controller.signal);
    controller.abort();
    const result = await pending;
    expect(result.reason).toBe('l3: aborted waiting for an echo reply from 127.0.0.1');
  });
});
