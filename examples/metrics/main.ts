// Picket's metrics in Prometheus: the application registers the OpenTelemetry SDK with a
// Prometheus exporter, and every Picket client records on it with no Picket option. The example
// sends traffic to two inventory instances (one of them failing for a while), then scrapes its
// own /metrics as Prometheus would and prints the Picket series it found.
//
//   node --conditions=picket-source examples/metrics/main.ts

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { metrics } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { createClient } from 'picket';
import { startInventory } from '../shared/inventory-server.ts';

// The application's side: the SDK, registered globally, before clients are created.
const exporter = new PrometheusExporter({ preventServerStart: true });
const provider = new MeterProvider({ readers: [exporter] });
metrics.setGlobalMeterProvider(provider);
// /metrics on the application's own port (here any free one).
const scrape = createServer((req, res) => exporter.getMetricsRequestHandler(req, res));
await new Promise<void>((resolve) => scrape.listen(0, '127.0.0.1', resolve));
const metricsUrl = `http://127.0.0.1:${(scrape.address() as AddressInfo).port}/metrics`;

const a = await startInventory('a');
const b = await startInventory('b');
// Round robin, so that b is asked every other call while it fails.
const inventory = createClient({ service: 'inventory', discovery: [a.url, b.url], strategy: 'round-robin' });

// Traffic, with instance b failing (503) for the middle third: retries and failures show up.
for (let i = 0; i < 60; i++) {
  if (i === 20) b.fail();
  if (i === 40) b.recover();
  const res = await inventory.request({ path: `/items/${i}` });
  await res.body.dump();
}

const text = await (await fetch(metricsUrl)).text();
const series = [
  'http_client_request_duration_count',
  'picket_client_request_duration_count',
  'picket_client_retries',
  'picket_client_instances',
  'picket_client_instance_in_flight',
];
console.log(`scraped ${metricsUrl}`);
for (const name of series) {
  const lines = text.split('\n').filter((l) => l.startsWith(name));
  console.log(`${name}: ${lines.length} series`);
  for (const line of lines.slice(0, 3)) console.log(`  ${line}`);
}

await inventory.close();
await Promise.all([a.close(), b.close()]);
await provider.shutdown();
await new Promise((resolve) => scrape.close(resolve));
