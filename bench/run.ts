// `npm run bench`: runs each benchmark in its own process (so one cannot warm or pollute another's
// heap), collects the JSON line each prints last, and writes bench/results/latest.json,
// bench/RESULTS.md and the plots in bench/plots/. `--quick` shortens every benchmark;
// `--only=<prefix>` runs the benchmarks whose file name starts with it; `--render` runs nothing and
// redraws RESULTS.md and the plots from bench/results/latest.json. A benchmark that fails or
// overruns is reported as such and the others still run. Benchmarks run by hand (too long or too
// many processes for every run) save their last result in bench/results/by-hand/, rendered too.

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

const quick = process.argv.includes('--quick');
const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length);
const here = fileURLToPath(new URL('.', import.meta.url));

const benches = [
  'steady-state.ts',
  'slow-instance.ts',
  'uneven-capacity.ts',
  'linkerd.ts',
  'kill-hang.ts',
  'http-steady.ts',
  'core-pick.ts',
  'pick-gc.ts',
  'observe-cost.ts',
  'observe-sockets.ts',
  'overload.ts',
  'hot-key.ts',
  'subsetting.ts',
  'dispatch-overhead.ts',
  'health-checks.ts',
  'discovery-update.ts',
].filter((file) => existsSync(`${here}${file}`) && (only === undefined || file.startsWith(only)));

function run(file: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const args = [
      '--conditions=picket-source',
      '--expose-gc',
      `${here}${file}`,
      ...(quick ? ['--quick'] : []),
    ];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    // No benchmark should take this long; one that hangs must not take the whole run with it.
    const limitMs = quick ? 120_000 : 600_000;
    const timer = setTimeout(() => {
      console.error(`${file} overran ${limitMs / 1000} s; stopping it`);
      child.kill('SIGKILL');
    }, limitMs);
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk;
      process.stdout.write(chunk);
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      const last = out
        .trim()
        .split('\n')
        .reverse()
        .find((line) => line.startsWith('{'));
      if (code !== 0 || last === undefined)
        reject(new Error(`${file} exited with ${code} and no JSON result`));
      else resolve(JSON.parse(last) as Record<string, unknown>);
    });
  });
}

async function runAll(): Promise<{ machine: Record<string, unknown>; results: Record<string, unknown> }> {
  const machine: Record<string, unknown> = {
    cpus: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'unknown'}`,
    memory: `${Math.round(os.totalmem() / 2 ** 30)} GiB`,
    node: process.version,
    date: new Date().toISOString(),
    loadavg: os.loadavg()[0]!.toFixed(2),
    quick,
  };
  const started = performance.now();
  const results: Record<string, unknown> = {};
  const seconds: Record<string, number> = {};
  for (const file of benches) {
    console.log(`\n== ${file}`);
    const name = file.replace(/\.ts$/, '');
    const t0 = performance.now();
    try {
      results[name] = await run(file);
    } catch (error) {
      process.exitCode = 1;
      results[name] = { error: (error as Error).message };
    }
    seconds[name] = Math.round((performance.now() - t0) / 100) / 10;
    console.log(`== ${file}: ${seconds[name]} s`);
  }
  Object.assign(machine, {
    loadavgAtEnd: os.loadavg()[0]!.toFixed(2),
    minutes: Number(((performance.now() - started) / 60_000).toFixed(1)),
    seconds,
  });
  mkdirSync(`${here}results`, { recursive: true });
  writeFileSync(`${here}results/latest.json`, `${JSON.stringify({ machine, results }, null, 2)}\n`);
  return { machine, results };
}

const { machine, results } = process.argv.includes('--render')
  ? (JSON.parse(readFileSync(`${here}results/latest.json`, 'utf8')) as Awaited<ReturnType<typeof runAll>>)
  : await runAll();

const byHand = `${here}results/by-hand/`;
if (existsSync(byHand)) {
  for (const file of readdirSync(byHand).sort()) {
    if (file.endsWith('.json'))
      results[file.slice(0, -5)] ??= JSON.parse(readFileSync(`${byHand}${file}`, 'utf8'));
  }
}

const { buildPlots } = await import('./lib/plots.ts');
const plots = buildPlots(results);
mkdirSync(`${here}plots`, { recursive: true });
// Plots of a benchmark that did not run this time would describe another run: remove them.
for (const old of readdirSync(`${here}plots`)) if (old.endsWith('.svg')) rmSync(`${here}plots/${old}`);
for (const plot of plots) writeFileSync(`${here}plots/${plot.file}`, plot.svg);

const { renderResults } = await import('./report.ts');
writeFileSync(`${here}RESULTS.md`, renderResults(machine, results, plots));
console.log(
  `\nwrote ${process.argv.includes('--render') ? '' : 'bench/results/latest.json, '}bench/RESULTS.md and ${plots.length} plots in bench/plots/`,
);
