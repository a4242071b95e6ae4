// Every example runs to the end on its own, exits 0 and prints what it promises. (The type-check
// of `examples/` is part of `npm run typecheck`.)

import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { killStarted, ROOT, runNode } from '../cli/node-process.ts';
import { requireTool } from '../servers/require-tool.ts';

afterAll(() => killStarted());

const run = async (name: string) => {
  const result = await runNode([`examples/${name}/main.ts`], { timeoutMs: 90_000 });
  expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
  expect(result.stderr).not.toMatch(/Error|Warning/);
  return result.stdout;
};

describe('examples', () => {
  it('has a smoke test and a README for every example', () => {
    const dirs = readdirSync(join(ROOT, 'examples'), { withFileTypes: true })
      .filter((d) => d.isDirectory() && d.name !== 'shared')
      .map((d) => d.name)
      .sort();
    expect(dirs).toEqual([
      'axios',
      'dns-round-robin',
      'global-fetch',
      'graceful-shutdown',
      'hot-standby',
      'metrics',
      'microservices',
    ]);
    for (const dir of dirs) expect(existsSync(join(ROOT, 'examples', dir, 'README.md')), dir).toBe(true);
    expect(existsSync(join(ROOT, 'examples', 'README.md'))).toBe(true);
  });

  // Counts are near even, not exact: a request that fails on a stopped instance is retried on
  // whichever instance comes next, and an ejection restarts round robin at a random point.
  function spread(out: string, label: RegExp, names: string[], total: number): number[] {
    const line = out.split('\n').find((l) => label.test(l));
    expect(line, `a line matching ${label}`).toBeDefined();
    expect(line).toMatch(/errors 0/);
    const counts = names.map((n) => Number(new RegExp(`${n} (\\d+)`).exec(line ?? '')?.[1] ?? -1));
    expect(counts.reduce((a, b) => a + b, 0)).toBe(total);
    for (const c of counts) expect(Math.abs(c - total / names.length)).toBeLessThanOrEqual(3);
    return counts;
  }

  it('global-fetch: plain fetch to http://inventory/ is balanced, built-in and undici fetch alike', async () => {
    const out = await run('global-fetch');
    const abc = ['inventory-a', 'inventory-b', 'inventory-c'];
    spread(out, /Node's built-in fetch, 30 × GET/, abc, 30);
    spread(out, /undici's fetch, +30 × GET/, abc, 30);
    expect(out).toMatch(/Other origins bypass Picket: .* → 200 from inventory-a/);
    const stopped = out.split('\n').find((l) => /inventory-b stopped/.test(l)) ?? '';
    expect(stopped).not.toMatch(/inventory-b \d/);
    spread(out, /inventory-b stopped; +30 × GET/, ['inventory-a', 'inventory-c'], 30);
  });

  it('axios: requests through the adapter are balanced, retried when idempotent, and fail as axios does', async () => {
    const out = await run('axios');
    expect(out).toMatch(
      /20 × api\.get\('\/items\/:id'\) → inventory-a \d+, inventory-b \d+; [1-9]\d* attempt\(s\) on inventory-gone retried/,
    );
    const line = out.split('\n').find((l) => /20 × api\.get/.test(l)) ?? '';
    const [a, b] = [/inventory-a (\d+)/, /inventory-b (\d+)/].map((r) => Number(r.exec(line)?.[1] ?? -1));
    expect((a ?? 0) + (b ?? 0)).toBe(20);
    expect(Math.abs((a ?? 0) - 10)).toBeLessThanOrEqual(3);
    expect(out).toMatch(/api\.post\('\/orders'\) → 201 \{"created":\{"item":7,"quantity":2\}/);
    expect(out).toMatch(/AxiosError ERR_BAD_REQUEST, status 404; retried: 0/);
    expect(out).toContain('axios behaved as axios, balanced by Picket.');
  });

  it('metrics: Prometheus scrapes every Picket series from the global OpenTelemetry SDK', async () => {
    const out = await run('metrics');
    // 60 calls: each counted once per call, and at least once per attempt.
    const calls = [...out.matchAll(/picket_client_request_duration_count\{.*\} (\d+)/g)].map((m) =>
      Number(m[1]),
    );
    expect(calls.reduce((a, b) => a + b, 0)).toBe(60);
    const attempts = [...out.matchAll(/http_client_request_duration_count\{.*\} (\d+)/g)].map((m) =>
      Number(m[1]),
    );
    expect(attempts.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(60);
    expect(out).toMatch(
      /http_client_request_duration_count\{[^}]*server_port="\d+"[^}]*http_response_status_code="503"/,
    );
    expect(out).toMatch(/picket_client_retries_total\{[^}]*reason="http_503"/);
    // Instances by state: b, failing five times in a row under round robin, is ejected.
    const states = Object.fromEntries(
      [...out.matchAll(/picket_client_instances\{[^}]*state="(\w+)"[^}]*\} (\d+)/g)].map((m) => [
        m[1],
        Number(m[2]),
      ]),
    );
    expect(states.healthy + states.ejected).toBe(2);
    expect(out).toMatch(/picket_client_instance_in_flight: 2 series/);
  });

  it('hot-standby: the backup takes over when the active fails and hands back when it recovers', async () => {
    const out = await run('hot-standby');
    expect(out).toMatch(/both up: 20 requests → active 20\n/);
    expect(out).toMatch(/the backup took over \d+ ms after the failure/);
    expect(out).toMatch(/active down: 20 requests → backup 20\n/);
    expect(out).toMatch(/traffic handed back \d+ ms after it came back/);
    expect(out).toMatch(/active back: 20 requests → active 20\n/);
    expect(out).toMatch(/background traffic: [1-9]\d* requests, 0 errors/);
  });

  it('graceful-shutdown: a draining server exits 0 and no caller sees an error', async () => {
    const out = await run('graceful-shutdown');
    expect(out).toMatch(/picket: server-a healthy → unhealthy \(active: load: .*status drain\)/);
    expect(out).toMatch(/server-a exited with code 0/);
    expect(out).toMatch(/requests: (\d+) sent, \1 answered \(.*server-b \d+.*\), 0 failed/);
  });

  const dnsmasq = requireTool('dnsmasq', 'dnsmasq-base');
  it.skipIf(!dnsmasq.available)(
    'dns-round-robin: plain DNS spreads unevenly and fails on the dead address; Picket does neither',
    async () => {
      const out = await run('dns-round-robin');
      expect(out).toMatch(/plain DNS round robin .* [1-9]\d* errors/);
      expect(out).toMatch(/Picket's dns\(\) +(\d+ \(\d+ %\) +){3}0 errors/);
      expect(out).toContain('Picket balanced the fleet with no errors.');
    },
  );
});
