// `npm run bench`: runs each benchmark in its own process (so one cannot warm or pollute another's
// heap), collects the JSON line each prints last, and writes bench/results/latest.json and
// bench/RESULTS.md. `--quick` shortens every benchmark.

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

const quick = process.argv.includes('--quick');
const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length);
const here = fileURLToPath(new URL('.', import.meta.url));

const benches = ['core-pick.ts', 'http-steady.ts', 'health-checks.ts'].filter(
  (file) => existsSync(`${here}${file}`) && (only === undefined || file.startsWith(only)),
);

function run(file: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const args = [
      '--conditions=picket-source',
      '--expose-gc',
      `${here}${file}`,
      ...(quick ? ['--quick'] : []),
    ];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk;
      process.stdout.write(chunk);
    });
    child.on('error', reject);
    child.on('exit', (code) => {
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

const machine = {
  cpus: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'unknown'}`,
  memory: `${Math.round(os.totalmem() / 2 ** 30)} GiB`,
  node: process.version,
  date: new Date().toISOString(),
  quick,
};
const results: Record<string, unknown> = {};
for (const file of benches) {
  console.log(`\n== ${file}`);
  results[file.replace(/\.ts$/, '')] = await run(file);
}

mkdirSync(`${here}results`, { recursive: true });
writeFileSync(`${here}results/latest.json`, `${JSON.stringify({ machine, results }, null, 2)}\n`);

const { renderResults } = await import('./report.ts');
writeFileSync(`${here}RESULTS.md`, renderResults(machine, results));
console.log('\nwrote bench/results/latest.json and bench/RESULTS.md');
