import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isPicketError } from '@picket/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  endpointSlice,
  type KubernetesServer,
  startKubernetesServer,
} from '../../../test/servers/kubernetes.ts';
import type { RecordedRequest } from '../../../test/servers/registry-server.ts';
import { makeCertificates } from '../../../test/servers/tls.ts';
import { waitFor } from '../../../test/servers/wait.ts';
import { type KubernetesOptions, kubernetes } from './kubernetes.ts';
import type { Provider, ProviderEvents } from './provider.ts';
import { nextEvent, untilInstances, urls } from './testing.ts';

let server: KubernetesServer;
const providers: Provider[] = [];
const dirs: string[] = [];

afterEach(async () => {
  await Promise.all(providers.splice(0).map((p) => p.close()));
  await server?.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  vi.unstubAllEnvs();
});

async function setup(options: Partial<KubernetesOptions> = {}) {
  const provider = kubernetes({
    service: 'inventory',
    namespace: 'default',
    apiServer: server.url,
    token: 'token-1',
    backoff: { initialMs: 50, maxMs: 200 },
    ...options,
  });
  providers.push(provider);
  const errors: ProviderEvents['discovery-error'][] = [];
  const invalid: ProviderEvents['invalid-record'][] = [];
  provider.on('discovery-error', (e) => errors.push(e));
  provider.on('invalid-record', (e) => invalid.push(e));
  provider.start();
  return { provider, errors, invalid };
}

const isList = (r: RecordedRequest) => r.path.endsWith('/endpointslices') && !r.query.has('watch');
const isWatch = (r: RecordedRequest) => r.path.endsWith('/endpointslices') && r.query.get('watch') === '1';
const lists = () => server.http.requests.filter(isList).length;
const slice = (name: string, ...ips: string[]) =>
  endpointSlice({ name, endpoints: ips.map((ip) => ({ addresses: [ip], zone: 'eu-1a' })) });

/** The provider is watching: a watch request arrived and its stream is registered. */
async function watching(from = 0) {
  const req = await server.http.waitForRequest(isWatch, { from });
  await waitFor(() => server.watchCount > 0, { message: 'no watch stream open' });
  return req;
}

describe('kubernetes', () => {
  it('lists the Service’s slices page by page, with its label selector and bearer token', async () => {
    server = await startKubernetesServer();
    server.tokens.add('token-1');
    server.apply(slice('inventory-a', '10.0.0.1'));
    server.apply(slice('inventory-b', '10.0.0.2'));
    server.apply(slice('inventory-c', '10.0.0.3'));
    server.apply(
      endpointSlice({ name: 'other', service: 'billing', endpoints: [{ addresses: ['10.9.9.9'] }] }),
    );
    const { provider } = await setup({ pageSize: 2 });
    const instances = await untilInstances(provider, (list) => list.length === 3);
    expect(urls(instances)).toEqual(['http://10.0.0.1:8080', 'http://10.0.0.2:8080', 'http://10.0.0.3:8080']);
    expect(instances[0]?.zone).toBe('eu-1a');
    const pages = server.http.requests.filter(isList);
    expect(pages.map((p) => p.query.has('continue'))).toEqual([false, true]);
    expect(pages[0]?.query.get('labelSelector')).toBe('kubernetes.io/service-name=inventory');
    expect(pages[0]?.query.get('limit')).toBe('2');
    expect(pages[0]?.headers.authorization).toBe('Bearer token-1');
  });

  it('starts a paginated list over when its continue token expires (410) between pages', async () => {
    server = await startKubernetesServer();
    server.apply(slice('inventory-a', '10.0.0.1'));
    server.apply(slice('inventory-b', '10.0.0.2'));
    server.afterListPage = () => {
      server.afterListPage = undefined;
      server.compact(); // the first page's continue token now points at a compacted version
    };
    const { provider, errors } = await setup({ pageSize: 1 });
    await untilInstances(provider, (list) => list.length === 2);
    const pages = server.http.requests.filter(isList).map((r) => r.query.has('continue'));
    expect(pages).toEqual([false, true, false, true]);
    expect(errors).toEqual([]);
  });

  it('watches from the list’s resourceVersion and follows added, changed and deleted slices', async () => {
    server = await startKubernetesServer();
    server.apply(slice('inventory-a', '10.0.0.1'));
    const { provider } = await setup();
    await untilInstances(provider, (list) => list.length === 1);
    const watch = await watching();
    expect(watch.query.get('resourceVersion')).toBe(server.resourceVersion);
    expect(watch.query.get('allowWatchBookmarks')).toBe('true');
    server.apply(slice('inventory-b', '10.0.0.2', '10.0.0.3'));
    await untilInstances(provider, (list) => list.length === 3);
    server.apply(
      endpointSlice({
        name: 'inventory-b',
        endpoints: [
          { addresses: ['10.0.0.2'], conditions: { ready: false, serving: true, terminating: true } },
          { addresses: ['10.0.0.3'], conditions: { ready: false, serving: false, terminating: false } },
        ],
      }),
    );
    const draining = await untilInstances(provider, (list) => list.length === 2);
    expect(draining.find((i) => i.host === '10.0.0.2')?.metadata.terminating).toBe(true);
    server.remove('inventory-a');
    await untilInstances(provider, (list) => urls(list).join() === 'http://10.0.0.2:8080');
    expect(lists()).toBe(1);
  });

  it('resumes from the last resourceVersion when a watch stream simply ends', async () => {
    server = await startKubernetesServer();
    server.apply(slice('inventory-a', '10.0.0.1'));
    const { provider, errors } = await setup();
    await untilInstances(provider, (list) => list.length === 1);
    await watching();
    server.apply(slice('inventory-b', '10.0.0.2'));
    await untilInstances(provider, (list) => list.length === 2);
    const seenVersion = server.resourceVersion;
    const mark = server.http.requests.length;
    server.endWatches();
    const again = await watching(mark);
    expect(again.query.get('resourceVersion')).toBe(seenVersion);
    server.apply(slice('inventory-c', '10.0.0.3'));
    await untilInstances(provider, (list) => list.length === 3);
    expect(lists()).toBe(1);
    expect(errors).toEqual([]);
  });

  it('re-watches from a BOOKMARK’s version, which can outlive a compaction', async () => {
    server = await startKubernetesServer();
    server.apply(slice('inventory-a', '10.0.0.1'));
    server.apply(
      endpointSlice({ name: 'unrelated', service: 'billing', endpoints: [{ addresses: ['10.9.9.9'] }] }),
    );
    const { provider } = await setup();
    await untilInstances(provider, (list) => list.length === 1);
    await watching();
    // Other services' churn moves the version on without an event for this watch.
    server.apply(
      endpointSlice({ name: 'unrelated', service: 'billing', endpoints: [{ addresses: ['10.9.9.8'] }] }),
    );
    const bookmarked = server.resourceVersion;
    // The stream delivers the bookmark before its end; then the history the old version needed is gone.
    server.bookmark();
    server.compact();
    const mark = server.http.requests.length;
    server.endWatches();
    const again = await watching(mark);
    expect(again.query.get('resourceVersion')).toBe(bookmarked);
    expect(lists()).toBe(1);
  });

  for (const goneAs of ['event', 'status'] as const) {
    it(`lists again after 410 Gone sent as ${goneAs === 'event' ? 'an ERROR event' : 'an HTTP status'}`, async () => {
      server = await startKubernetesServer();
      server.goneAs = goneAs;
      server.apply(slice('inventory-a', '10.0.0.1'));
      const { provider, errors } = await setup();
      await untilInstances(provider, (list) => list.length === 1);
      await watching();
      // Changes the watch never sees, then the history is compacted and the watch drops.
      server.endWatches();
      server.apply(slice('inventory-b', '10.0.0.2'));
      server.compact();
      await untilInstances(provider, (list) => list.length === 2);
      expect(lists()).toBe(2);
      const gone = server.http.requests.filter(isWatch).at(1);
      expect(gone?.query.get('resourceVersion')).not.toBe(server.resourceVersion);
      expect(errors).toEqual([]);
    });
  }

  it('paces list-and-watch when every watch is Gone at once, instead of hammering the API server', async () => {
    server = await startKubernetesServer();
    server.refuseWatches = true;
    server.apply(slice('inventory-a', '10.0.0.1'));
    const { provider } = await setup({ backoff: { initialMs: 100, maxMs: 400 } });
    await untilInstances(provider, (list) => list.length === 1);
    const first = Date.now();
    await waitFor(() => lists() >= 5);
    // Four waits of at least 50, 100, 200 and 200 ms; unpaced, five lists take a few ms.
    expect(Date.now() - first).toBeGreaterThanOrEqual(500);
  });

  it('keeps the last snapshot and reports while the API server is down, then recovers', async () => {
    server = await startKubernetesServer();
    server.apply(slice('inventory-a', '10.0.0.1'));
    const { provider } = await setup();
    await untilInstances(provider, (list) => list.length === 1);
    await watching();
    await server.http.stop();
    const { error } = await nextEvent(provider, 'discovery-error');
    expect(error.message).toContain('EndpointSlice watch failed');
    expect(urls(provider.current())).toEqual(['http://10.0.0.1:8080']);
    server.apply(slice('inventory-b', '10.0.0.2'));
    await server.http.start();
    await untilInstances(provider, (list) => list.length === 2);
    expect(provider.lastError()).toBeUndefined();
  });

  it('skips and reports slices and endpoints that cannot become instances', async () => {
    server = await startKubernetesServer();
    server.apply(slice('inventory-a', '10.0.0.1', 'not an address'));
    server.apply(
      endpointSlice({
        name: 'inventory-udp',
        ports: [{ name: 'dns', port: 53, protocol: 'UDP' }],
        endpoints: [{ addresses: ['10.0.0.2'] }],
      }),
    );
    const { provider, invalid } = await setup();
    const instances = await untilInstances(provider, (list) => list.length === 1);
    expect(urls(instances)).toEqual(['http://10.0.0.1:8080']);
    expect(invalid.map((e) => e.reason).sort()).toEqual([
      'EndpointSlice inventory-udp port dns is UDP, not TCP',
      '`host` must be a host name or IP address, got "not an address"',
    ]);
  });

  it('reads in-cluster config over TLS, and re-reads the rotated token on reconnect without logging it', async () => {
    const certs = await makeCertificates();
    server = await startKubernetesServer({ key: certs.serverKey, cert: certs.serverCert });
    server.tokens.add('projected-token-one');
    server.apply(
      endpointSlice({ name: 'inventory-a', namespace: 'shop', endpoints: [{ addresses: ['10.0.0.1'] }] }),
    );
    const dir = mkdtempSync(join(tmpdir(), 'picket-sa-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'token'), 'projected-token-one\n');
    writeFileSync(join(dir, 'ca.crt'), certs.ca);
    writeFileSync(join(dir, 'namespace'), 'shop');
    vi.stubEnv('KUBERNETES_SERVICE_HOST', '127.0.0.1');
    vi.stubEnv('KUBERNETES_SERVICE_PORT', String(server.http.port));
    const provider = kubernetes({
      service: 'inventory',
      serviceAccountDir: dir,
      backoff: { initialMs: 50, maxMs: 200 },
    });
    providers.push(provider);
    provider.start();
    await untilInstances(provider, (list) => list.length === 1);
    await watching();
    // The kubelet rotates the projected token; the old one stops working.
    writeFileSync(join(dir, 'token'), 'projected-token-two\n');
    server.tokens.clear();
    server.tokens.add('projected-token-two');
    const mark = server.http.requests.length;
    server.endWatches();
    const again = await watching(mark);
    expect(again.headers.authorization).toBe('Bearer projected-token-two');
    expect(again.path).toBe('/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices');
    // A token the server refuses produces an error that does not carry it.
    writeFileSync(join(dir, 'token'), 'revoked-token-three\n');
    server.endWatches();
    const { error } = await nextEvent(provider, 'discovery-error');
    expect(error.message).toContain('401');
    expect(`${error.message} ${String(error.stack)}`).not.toContain('revoked-token-three');
  });

  it('closes during a watch without leaving a socket, and close() is idempotent', async () => {
    server = await startKubernetesServer();
    server.apply(slice('inventory-a', '10.0.0.1'));
    const { provider } = await setup();
    await untilInstances(provider, (list) => list.length === 1);
    await watching();
    await Promise.all([provider.close(), provider.close()]);
    await server.http.waitForNoConnections();
    expect(server.watchCount).toBe(0);
  });

  it('rejects invalid options naming the option and the value', () => {
    const attempt = (options: Record<string, unknown>) => {
      try {
        kubernetes({
          service: 'inventory',
          apiServer: 'https://10.0.0.1:6443',
          ...options,
        } as KubernetesOptions);
      } catch (error) {
        expect(isPicketError(error, 'PICKET_INVALID_OPTIONS')).toBe(true);
        return (error as Error).message;
      }
      throw new Error('expected kubernetes() to throw');
    };
    expect(attempt({ service: 'Inventory_Service' })).toMatch(/`service`.*"Inventory_Service"/);
    expect(attempt({ port: 0 })).toContain('`port`');
    expect(attempt({ apiServer: undefined })).toContain('`apiServer` is required outside a cluster');
  });
});
