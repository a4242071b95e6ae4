// Cost of active health checking: 1,000 instances (1,000 ports served by a helper process on
// 127.0.0.1) checked every second, first with tcpCheck, then with httpCheck, 10 s of steady state
// each after a 2 s start. Reports the checking process's CPU time (user + system, from
// process.cpuUsage) as a percentage of one core (target < 20%) and the check rate.
// Run: node --conditions=picket-source bench/health-checks.ts [--quick] [--instances=N] [--check=tcp|http]

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';

const quick = process.argv.includes('--quick');
const instances = Number(process.argv.find((a) => a.startsWith('--instances='))?.slice(12) ?? 1000);
const intervalMs = 1000;
/** The first rounds, measured apart: every instance is checked (and connected to) at once. */
const startMs = quick ? intervalMs : 2 * intervalMs;
/** The steady state, which the target applies to. */
const steadyMs = quick ? 3000 : 10_000;
const only = process.argv.find((a) => a.startsWith('--check='))?.slice(8);
const TARGET_PERCENT = 20;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const round1 = (n: number) => Math.round(n * 10) / 10;

/** Helper mode: listen on `count` ports, print them as one JSON line, exit when stdin closes. */
async function serve(count: number): Promise<void> {
  const servers: Server[] = [];
  let accepted = 0;
  for (let i = 0; i < count; i++) {
    const server = createServer((req, res) => {
      res.writeHead(req.url === '/health' ? 200 : 404, { 'content-type': 'text/plain', 'content-length': 2 });
      res.end('ok');
    });
    server.on('connection', () => accepted++);
    server.listen(0, '127.0.0.1');
    servers.push(server);
  }
  await Promise.all(servers.map((s) => once(s, 'listening')));
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  process.stdout.write(`${JSON.stringify(ports)}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => {
    if (process.env.BENCH_DEBUG) console.error(`helper accepted ${accepted} connections`);
    process.exit(0);
  });
}

interface Scenario {
  check: string;
  /** Checks completed in the steady window, and how many failed. */
  checks: number;
  failed: number;
  checksPerSecond: number;
  /** Steady state: CPU time (user + system) of this process over wall time, % of one core. */
  cpuPercentOfOneCore: number;
  userPercent: number;
  systemPercent: number;
  /** The first two rounds, when all instances are checked and connected to at once. */
  startCpuPercentOfOneCore: number;
  /** Start and steady state together. */
  wholeRunCpuPercentOfOneCore: number;
  withinTarget: boolean;
}

async function measure(): Promise<void> {
  const { createBalancer } = await import('@picket/core');
  const { toInstance } = await import('@picket/core/internal');
  const { createHealthChecker, httpCheck, tcpCheck } = await import('@picket/health');
  const self = fileURLToPath(import.meta.url);
  const helper = spawn(process.execPath, ['--conditions=picket-source', self, '--serve', String(instances)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const [line] = (await once(helper.stdout, 'data')) as [Buffer];
  const ports = JSON.parse(String(line)) as number[];

  async function scenario(name: string, make: () => import('@picket/health').HealthCheck): Promise<Scenario> {
    // Load and compile the check's code paths first (undici requires much of itself lazily):
    // a one-off cost of the process, not of checking.
    const warm = make();
    await warm.run(toInstance(`http://127.0.0.1:${ports[0]}`), new AbortController().signal);
    await warm.close?.();

    const balancer = createBalancer({ outlierDetection: false });
    balancer.update(ports.map((port, i) => ({ id: `i${i}`, url: `http://127.0.0.1:${port}` })));
    const checker = createHealthChecker(balancer, {
      check: make(),
      interval: intervalMs,
      timeout: 2000,
      jitter: 0.1,
    });
    let checks = 0;
    let failed = 0;
    checker.on('check', ({ result }) => {
      checks++;
      if (!result.ok) failed++;
    });
    const startCpu = process.cpuUsage();
    const start = performance.now();
    checker.start();
    await sleep(startMs);
    const startUsed = process.cpuUsage(startCpu);
    const startWall = performance.now() - start;
    const cpu = process.cpuUsage();
    const steadyStart = performance.now();
    const before = { checks, failed };
    await sleep(steadyMs);
    const used = process.cpuUsage(cpu);
    const wallMs = performance.now() - steadyStart;
    const wholeUsed = process.cpuUsage(startCpu);
    const wholeMs = performance.now() - start;
    await checker.close();
    balancer.close();
    const percent = ((used.user + used.system) / 1000 / wallMs) * 100;
    const result: Scenario = {
      check: name,
      checks: checks - before.checks,
      failed: failed - before.failed,
      checksPerSecond: Math.round(((checks - before.checks) / wallMs) * 1000),
      cpuPercentOfOneCore: round1(percent),
      userPercent: round1(used.user / 10 / wallMs),
      systemPercent: round1(used.system / 10 / wallMs),
      startCpuPercentOfOneCore: round1(((startUsed.user + startUsed.system) / 1000 / startWall) * 100),
      wholeRunCpuPercentOfOneCore: round1(((wholeUsed.user + wholeUsed.system) / 1000 / wholeMs) * 100),
      withinTarget: percent < TARGET_PERCENT,
    };
    console.log(`${name}: ${JSON.stringify(result)}`);
    return result;
  }

  const results: Scenario[] = [];
  if (only === undefined || only === 'tcp') results.push(await scenario('tcpCheck', () => tcpCheck()));
  if (only === undefined || only === 'http') {
    results.push(await scenario('httpCheck', () => httpCheck({ path: '/health' })));
  }
  helper.stdin.end();
  await once(helper, 'exit');
  console.log(
    JSON.stringify({
      bench: 'health-checks',
      node: process.version,
      instances,
      intervalMs,
      startMs,
      steadyMs,
      targetCpuPercentOfOneCore: TARGET_PERCENT,
      results,
    }),
  );
}

const serveAt = process.argv.indexOf('--serve');
if (serveAt !== -1) await serve(Number(process.argv[serveAt + 1]));
else await measure();
