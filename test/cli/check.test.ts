import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../fixtures/http-servers.ts';
import { freePort } from '../servers/ports.ts';
import { requireTool } from '../servers/require-tool.ts';
import { killStarted, runCli } from './node-process.ts';

let server: TestServer;
let closedPort: number;

beforeAll(async () => {
  server = await startServer((req, res) => {
    res.writeHead(req.url === '/broken' ? 503 : 200, { 'content-type': 'text/plain' });
    res.end('ok');
  });
  closedPort = await freePort();
});

afterAll(async () => {
  killStarted();
  await server.close();
});

describe('picket check', () => {
  it('passes L4 and L7 against a live HTTP server and says what each proves', async () => {
    const run = await runCli(['check', '--layers', 'l4,l7', `${server.url}/health`]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/L4\s+TCP connect\s+ok\s+[\d.]+ m?s\s+connected to 127\.0\.0\.1:\d+/);
    expect(run.stdout).toMatch(/L7\s+HTTP GET\s+ok\s+[\d.]+ m?s\s+status 200 from \/health/);
    expect(run.stdout).toMatch(/L4 {2}a process accepts TCP connections on port \d+/);
    expect(run.stdout).toMatch(/L7 {2}the service answers GET \/health/);
    expect(run.stdout).toContain('All 2 layers passed.');
  });

  it('exits 1 with L4 failing against a closed port', async () => {
    const run = await runCli(['check', '--layers', 'l4,l7', `http://127.0.0.1:${closedPort}/`]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/L4\s+TCP connect\s+FAIL.*connection refused/);
    expect(run.stdout).toContain('2 of 2 layers failed: L4, L7.');
  });

  it('tells the layers apart: the port accepts, the service answers 503', async () => {
    const run = await runCli(['check', '--layers', 'l4,l7', `${server.url}/broken`]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/L4\s+TCP connect\s+ok/);
    expect(run.stdout).toMatch(/L7\s+HTTP GET\s+FAIL.*status 503/);
  });

  it('prints one JSON object with --json', async () => {
    const run = await runCli(['check', '--layers', 'l4,l7', '--json', `http://127.0.0.1:${closedPort}/x`]);
    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout);
    expect(report).toMatchObject({ url: `http://127.0.0.1:${closedPort}/x`, ok: false });
    expect(report.layers).toHaveLength(2);
    for (const layer of report.layers) {
      expect(Object.keys(layer).sort()).toEqual(['check', 'detail', 'latencyMs', 'layer', 'ok', 'proves']);
      expect(typeof layer.latencyMs).toBe('number');
      expect(layer.ok).toBe(false);
    }
    expect(report.layers.map((l: { layer: string }) => l.layer)).toEqual(['l4', 'l7']);
  });

  it.each([
    [['check', '--layers', 'l5', 'http://127.0.0.1:1/'], /`--layers` takes l3, l4 and l7.*"l5"/],
    [
      ['check', '--timeout', '0', 'http://127.0.0.1:1/'],
      /`--timeout` must be a whole number of milliseconds from 1 to 2147483647, got "0"/,
    ],
    [
      ['check', '--timeout', '3000000000', 'http://127.0.0.1:1/'],
      /`--timeout` must be a whole number of milliseconds from 1 to 2147483647, got "3000000000"/,
    ],
    [['check'], /`<url>` is required/],
    [['check', 'localhost:8080'], /`<url>` must be an http:\/\/ or https:\/\/ URL/],
    [['check', '--colour', 'http://127.0.0.1:1/'], /Unknown option '--colour'/],
    [['check', 'http://a:1/', 'http://b:2/'], /takes one <url>, got 2/],
    [['frobnicate'], /unknown command "frobnicate"/],
    [[], /Usage: picket <command>/],
  ])('exits 2 and names the bad argument: %j', async (args, message) => {
    const run = await runCli(args);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
  });

  it('prints help for the command with --help', async () => {
    const run = await runCli(['check', '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Usage: picket check <url> \[--layers l3,l4,l7\]/);
  });
});

const ping = requireTool('ping', 'iputils-ping');

describe.skipIf(!ping.available)('picket check, L3', () => {
  it('proves the host answers ICMP echo even when the port is closed', async () => {
    const run = await runCli(['check', '--layers', 'l3,l4', `http://127.0.0.1:${closedPort}/`]);
    expect(run.stdout).toMatch(/L3\s+ICMP echo\s+ok.*echo reply from 127\.0\.0\.1/);
    expect(run.stdout).toMatch(/L3 {2}host 127\.0\.0\.1 is up and the route to it works/);
    expect(run.stdout).toMatch(/L4\s+TCP connect\s+FAIL/);
    expect(run.code).toBe(1);
  });
});
