// `picket check <url>`: probes one address at L3 (ICMP echo), L4 (TCP connect) and L7 (HTTP) and
// says, per layer, what the result proves. Exit 1 when any requested layer fails.

import type { Writable } from 'node:stream';
import type { Instance } from '@picket/core';
import { checkInstance, messageOf } from '@picket/core/internal';
import { type CheckResult, type HealthCheck, httpCheck, icmpCheck, tcpCheck } from '@picket/health';
import { formatMs, renderTable } from './table.ts';
import { EXIT_FAILED, EXIT_OK, milliseconds, parse, UsageError } from './usage.ts';

export const CHECK_USAGE = `Usage: picket check <url> [--layers l3,l4,l7] [--timeout ms] [--json]

Checks one address at each network layer and prints what each result proves.

Arguments:
  <url>            http://HOST:PORT[/PATH] or https://…; L7 requests PATH (default /)

Options:
  --layers LIST    layers to check, comma-separated (default l3,l4,l7):
                     l3  ICMP echo through the system ping (Debian package iputils-ping)
                     l4  a TCP connect to the port
                     l7  an HTTP GET of PATH; statuses 200–399 pass
  --timeout MS     deadline for each layer, in milliseconds (default 2000)
  --json           print one JSON object instead of the table
  -h, --help       show this help

Exit status: 0 when every requested layer passes, 1 when any fails, 2 for bad arguments.`;

export type Layer = 'l3' | 'l4' | 'l7';
const LAYERS: readonly Layer[] = ['l3', 'l4', 'l7'];

const CHECK_NAME: Record<Layer, string> = { l3: 'ICMP echo', l4: 'TCP connect', l7: 'HTTP GET' };

function proves(layer: Layer, instance: Instance, path: string): string {
  switch (layer) {
    case 'l3':
      return `host ${instance.host} is up and the route to it works; nothing about the port or the service`;
    case 'l4':
      return `a process accepts TCP connections on port ${instance.port}; not that it answers correctly`;
    case 'l7':
      return `the service answers GET ${path} with a good status (200–399): it works`;
  }
}

export interface LayerReport {
  layer: Layer;
  check: string;
  proves: string;
  ok: boolean;
  latencyMs: number;
  detail: string;
  /** The check could not run at all (ping missing or not permitted). */
  error?: boolean;
}

export interface CheckReport {
  url: string;
  ok: boolean;
  layers: LayerReport[];
}

/** `l3,l4` → ['l3', 'l4'] in layer order; throws a UsageError naming `--layers`. */
export function parseLayers(text: string | undefined): Layer[] {
  if (text === undefined) return [...LAYERS];
  const asked = text
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== '');
  if (asked.length === 0) throw new UsageError('`--layers` must list at least one of l3, l4, l7');
  for (const layer of asked) {
    if (!(LAYERS as readonly string[]).includes(layer)) {
      throw new UsageError(`\`--layers\` takes l3, l4 and l7, comma-separated; got ${JSON.stringify(layer)}`);
    }
  }
  return LAYERS.filter((l) => asked.includes(l));
}

/** The instance and the L7 path of `<url>`; throws a UsageError naming `<url>`. */
export function parseTarget(text: string | undefined): { instance: Instance; path: string; url: string } {
  if (text === undefined || text === '') {
    throw new UsageError('`<url>` is required, such as `picket check http://127.0.0.1:8080/health`');
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(
      `\`<url>\` must be an absolute http:// or https:// URL, got ${JSON.stringify(text)}`,
    );
  }
  const check = checkInstance(url.origin);
  if (!check.ok || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new UsageError(
      `\`<url>\` must be an http:// or https:// URL without credentials, got ${JSON.stringify(text)}`,
    );
  }
  if (url.username !== '' || url.password !== '') {
    throw new UsageError('`<url>` must not carry credentials');
  }
  return { instance: check.instance, path: url.pathname + url.search, url: url.href };
}

function checkFor(layer: Layer, timeout: number, path: string): HealthCheck {
  switch (layer) {
    case 'l3':
      return icmpCheck({ timeout });
    case 'l4':
      return tcpCheck({ timeout });
    case 'l7':
      return httpCheck({ path, timeout, expectStatus: { min: 200, max: 399 } });
  }
}

async function runLayer(
  layer: Layer,
  instance: Instance,
  path: string,
  timeout: number,
): Promise<LayerReport> {
  const check = checkFor(layer, timeout, path);
  const base = { layer, check: CHECK_NAME[layer], proves: proves(layer, instance, path) };
  // The checks keep their own deadline; this one only stops a check that ignores it.
  const signal = AbortSignal.timeout(timeout + 1000);
  const start = performance.now();
  try {
    const result: CheckResult = await check.run(instance, signal);
    return {
      ...base,
      ok: result.ok,
      latencyMs: Math.round(result.latencyMs * 1000) / 1000,
      detail: result.reason.replace(/^l\d: /, ''),
    };
  } catch (error) {
    return {
      ...base,
      ok: false,
      error: true,
      latencyMs: Math.round((performance.now() - start) * 1000) / 1000,
      detail: messageOf(error),
    };
  } finally {
    await check.close?.();
  }
}

/** Runs the layers in order (each one whatever the one before said) and reports each. */
export async function checkAddress(
  url: string | undefined,
  layers: readonly Layer[],
  timeout: number,
): Promise<CheckReport> {
  const target = parseTarget(url);
  const reports: LayerReport[] = [];
  for (const layer of layers) reports.push(await runLayer(layer, target.instance, target.path, timeout));
  return { url: target.url, ok: reports.every((r) => r.ok), layers: reports };
}

export function formatReport(report: CheckReport): string {
  const table = renderTable<LayerReport>(
    [
      { title: 'LAYER', value: (r) => r.layer.toUpperCase() },
      { title: 'CHECK', value: (r) => r.check },
      { title: 'RESULT', value: (r) => (r.ok ? 'ok' : r.error ? 'ERROR' : 'FAIL') },
      { title: 'TIME', align: 'right', value: (r) => formatMs(r.latencyMs) },
      { title: 'DETAIL', value: (r) => r.detail },
    ],
    report.layers,
  );
  const failed = report.layers.filter((r) => !r.ok);
  const lines = [
    `picket check ${report.url}`,
    '',
    ...table.map((l) => `  ${l}`),
    '',
    'What each layer proves when it passes:',
    ...report.layers.map((r) => `  ${r.layer.toUpperCase()}  ${r.proves}`),
    '',
    failed.length === 0
      ? `All ${report.layers.length} layer${report.layers.length === 1 ? '' : 's'} passed.`
      : `${failed.length} of ${report.layers.length} layers failed: ${failed.map((r) => r.layer.toUpperCase()).join(', ')}.`,
  ];
  return `${lines.join('\n')}\n`;
}

export async function checkCommand(args: readonly string[], out: Writable): Promise<number> {
  const { values, positionals } = parse(args, {
    layers: { type: 'string' },
    timeout: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (positionals.length > 1) {
    throw new UsageError(
      `\`picket check\` takes one <url>, got ${positionals.length}: ${positionals.join(' ')}`,
    );
  }
  const layers = parseLayers(values.layers as string | undefined);
  const timeout = milliseconds('timeout', values.timeout, 2000);
  parseTarget(positionals[0]); // bad arguments are reported before any probe runs
  const report = await checkAddress(positionals[0], layers, timeout);
  out.write(values.json === true ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
  return report.ok ? EXIT_OK : EXIT_FAILED;
}
