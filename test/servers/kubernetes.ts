// A Kubernetes API server for EndpointSlices (discovery.k8s.io/v1) that follows the documented
// list/watch protocol: paginated consistent lists (limit/continue), watches from a resourceVersion
// as newline-delimited JSON events, BOOKMARK events, 410 Gone for compacted versions (as an HTTP
// status or as an ERROR event in the stream, as the watch cache does), watch streams that end,
// label selectors and bearer-token auth. Kubernetes itself cannot run here.

import type { ServerResponse } from 'node:http';
import { LoopbackServer, type RecordedRequest, sendJson, type TlsMaterial } from './registry-server.ts';

export interface SliceEndpointInput {
  addresses: string[];
  conditions?: { ready?: boolean | null; serving?: boolean | null; terminating?: boolean | null };
  zone?: string;
  nodeName?: string;
  hostname?: string;
}

export interface SliceInput {
  name: string;
  service?: string;
  namespace?: string;
  addressType?: 'IPv4' | 'IPv6' | 'FQDN';
  ports?: { name?: string; port?: number; protocol?: string; appProtocol?: string }[] | null;
  endpoints: SliceEndpointInput[];
  labels?: Record<string, string>;
}

/** An EndpointSlice object as the API serves it (before the server stamps its metadata). */
export function endpointSlice(input: SliceInput): Record<string, unknown> {
  return {
    kind: 'EndpointSlice',
    apiVersion: 'discovery.k8s.io/v1',
    metadata: {
      name: input.name,
      namespace: input.namespace ?? 'default',
      labels: {
        'kubernetes.io/service-name': input.service ?? 'inventory',
        'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io',
        ...input.labels,
      },
    },
    addressType: input.addressType ?? 'IPv4',
    endpoints: input.endpoints.map((e) => ({
      addresses: e.addresses,
      conditions: e.conditions ?? { ready: true, serving: true, terminating: false },
      ...(e.zone === undefined ? {} : { zone: e.zone }),
      ...(e.nodeName === undefined ? {} : { nodeName: e.nodeName }),
      ...(e.hostname === undefined ? {} : { hostname: e.hostname }),
    })),
    ports: input.ports === undefined ? [{ name: 'http', port: 8080, protocol: 'TCP' }] : input.ports,
  };
}

type Obj = Record<string, unknown> & { metadata: Record<string, unknown> };

interface Watcher {
  namespace: string;
  selector: string | null;
  bookmarks: boolean;
  res: ServerResponse;
}

function status(code: number, reason: string, message: string): Record<string, unknown> {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

/** Equality-based label selectors: `a=b`, `a==b`, `a!=b`, `a`, `!a`, joined by commas. */
export function matchesSelector(labels: Record<string, string>, selector: string | null): boolean {
  if (selector === null || selector === '') return true;
  return selector.split(',').every((term) => {
    const t = term.trim();
    const ne = /^([^!=]+)!=(.*)$/.exec(t);
    if (ne !== null) return labels[(ne[1] as string).trim()] !== (ne[2] as string).trim();
    const eq = /^([^!=]+)==?(.*)$/.exec(t);
    if (eq !== null) return labels[(eq[1] as string).trim()] === (eq[2] as string).trim();
    if (t.startsWith('!')) return !(t.slice(1) in labels);
    return t in labels;
  });
}

export class KubernetesServer {
  readonly http: LoopbackServer;
  /** Accepted bearer tokens; empty accepts any request (as with auth disabled). */
  readonly tokens = new Set<string>();
  /** How a watch from a compacted version is refused: an ERROR event in a 200 stream, or HTTP 410. */
  goneAs: 'event' | 'status' = 'event';
  /** When true, every watch is refused with HTTP 410, however fresh its version. */
  refuseWatches = false;
  /** Called after each list page is sent (to compact between pages, for instance). */
  afterListPage: (() => void) | undefined;
  #rv = 1000;
  #compactedRv = 0;
  #objects = new Map<string, Obj>();
  #history: { rv: number; type: 'ADDED' | 'MODIFIED' | 'DELETED'; object: Obj }[] = [];
  #snapshots = new Map<number, Obj[]>();
  #watchers = new Set<Watcher>();

  constructor(tls?: TlsMaterial) {
    this.http = new LoopbackServer((req, res) => this.#handle(req, res), tls);
  }

  get url(): string {
    return this.http.url;
  }

  get resourceVersion(): string {
    return String(this.#rv);
  }

  get watchCount(): number {
    return this.#watchers.size;
  }

  start(): Promise<void> {
    return this.http.start();
  }

  async close(): Promise<void> {
    this.endWatches();
    await this.http.stop();
  }

  /** Creates or replaces a slice (raw JSON allowed) and tells the watchers. */
  apply(slice: Record<string, unknown>): void {
    const meta = (slice.metadata ?? {}) as Record<string, unknown>;
    const key = `${String(meta.namespace ?? 'default')}/${String(meta.name)}`;
    const previous = this.#objects.get(key);
    this.#rv += 1;
    const object: Obj = structuredClone({
      ...slice,
      metadata: {
        ...meta,
        namespace: meta.namespace ?? 'default',
        uid: key,
        resourceVersion: String(this.#rv),
      },
    }) as Obj;
    this.#objects.set(key, object);
    this.#record(previous === undefined ? 'ADDED' : 'MODIFIED', object, previous);
  }

  remove(name: string, namespace = 'default'): void {
    const key = `${namespace}/${name}`;
    const previous = this.#objects.get(key);
    if (previous === undefined) return;
    this.#objects.delete(key);
    this.#rv += 1;
    const object = structuredClone(previous);
    object.metadata.resourceVersion = String(this.#rv);
    this.#record('DELETED', object, previous);
  }

  /** etcd compaction: every version up to now is gone, so watches and continues from them get 410. */
  compact(): void {
    this.#compactedRv = this.#rv;
    this.#history = [];
    this.#snapshots.clear();
  }

  /** Sends a BOOKMARK carrying the current resourceVersion to watchers that asked for bookmarks. */
  bookmark(): void {
    for (const w of this.#watchers) {
      if (!w.bookmarks) continue;
      this.#send(w, {
        type: 'BOOKMARK',
        object: {
          kind: 'EndpointSlice',
          apiVersion: 'discovery.k8s.io/v1',
          metadata: { resourceVersion: String(this.#rv) },
        },
      });
    }
  }

  /** Ends every watch stream cleanly, as the API server does when a watch times out. */
  endWatches(): void {
    for (const w of this.#watchers) w.res.end();
    this.#watchers.clear();
  }

  #record(type: 'ADDED' | 'MODIFIED' | 'DELETED', object: Obj, previous: Obj | undefined) {
    this.#history.push({ rv: this.#rv, type, object });
    for (const w of this.#watchers) {
      if (String(object.metadata.namespace) !== w.namespace) continue;
      const now = type !== 'DELETED' && matchesSelector(labelsOf(object), w.selector);
      const before = previous !== undefined && matchesSelector(labelsOf(previous), w.selector);
      if (type === 'DELETED') {
        if (before) this.#send(w, { type, object });
      } else if (now) {
        this.#send(w, { type: before ? 'MODIFIED' : 'ADDED', object });
      } else if (before) {
        // An object that stops matching the selector leaves the watch as a deletion.
        this.#send(w, { type: 'DELETED', object });
      }
    }
  }

  #send(w: Watcher, event: unknown) {
    if (!w.res.writableEnded && !w.res.destroyed) w.res.write(`${JSON.stringify(event)}\n`);
  }

  #handle(req: RecordedRequest, res: ServerResponse) {
    if (this.tokens.size > 0) {
      const auth = req.headers.authorization ?? '';
      if (!auth.startsWith('Bearer ') || !this.tokens.has(auth.slice('Bearer '.length))) {
        return sendJson(res, 401, status(401, 'Unauthorized', 'Unauthorized'));
      }
    }
    const match = /^\/apis\/discovery\.k8s\.io\/v1\/namespaces\/([^/]+)\/endpointslices$/.exec(req.path);
    if (match === null)
      return sendJson(res, 404, status(404, 'NotFound', 'the server could not find the requested resource'));
    if (req.method !== 'GET')
      return sendJson(res, 405, status(405, 'MethodNotAllowed', 'method not allowed'));
    const namespace = decodeURIComponent(match[1] as string);
    const watch = req.query.get('watch');
    if (watch === '1' || watch === 'true') return this.#watch(namespace, req, res);
    this.#list(namespace, req, res);
  }

  #list(namespace: string, req: RecordedRequest, res: ServerResponse) {
    const selector = req.query.get('labelSelector');
    const limit = Number(req.query.get('limit') ?? '0');
    const token = req.query.get('continue');
    let rv = this.#rv;
    let offset = 0;
    let items: Obj[];
    if (token !== null && token !== '') {
      let parsed: { rv: number; offset: number };
      try {
        parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as {
          rv: number;
          offset: number;
        };
      } catch {
        return sendJson(res, 400, status(400, 'BadRequest', 'invalid continue token'));
      }
      const snapshot = this.#snapshots.get(parsed.rv);
      if (snapshot === undefined || parsed.rv < this.#compactedRv) {
        return sendJson(
          res,
          410,
          status(
            410,
            'Expired',
            'The provided continue parameter is too old to display a consistent list result.',
          ),
        );
      }
      rv = parsed.rv;
      offset = parsed.offset;
      items = snapshot;
    } else {
      items = [...this.#objects.values()]
        .filter((o) => o.metadata.namespace === namespace && matchesSelector(labelsOf(o), selector))
        .sort((a, b) => String(a.metadata.name).localeCompare(String(b.metadata.name)))
        .map((o) => structuredClone(o));
      this.#snapshots.set(rv, items);
    }
    const end = limit > 0 ? Math.min(items.length, offset + limit) : items.length;
    const metadata: Record<string, unknown> = { resourceVersion: String(rv) };
    if (end < items.length) {
      metadata.continue = Buffer.from(JSON.stringify({ rv, offset: end })).toString('base64url');
    }
    sendJson(res, 200, {
      kind: 'EndpointSliceList',
      apiVersion: 'discovery.k8s.io/v1',
      metadata,
      items: items.slice(offset, end),
    });
    this.afterListPage?.();
  }

  #watch(namespace: string, req: RecordedRequest, res: ServerResponse) {
    const from = req.query.get('resourceVersion');
    const selector = req.query.get('labelSelector');
    const fromRv = from === null || from === '' || from === '0' ? undefined : Number(from);
    if (this.refuseWatches) return sendJson(res, 410, status(410, 'Gone', 'watch refused'));
    if (fromRv !== undefined && (!Number.isInteger(fromRv) || fromRv < this.#compactedRv)) {
      const gone = status(410, 'Expired', `too old resource version: ${from} (${this.#compactedRv})`);
      if (this.goneAs === 'status') return sendJson(res, 410, gone);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(`${JSON.stringify({ type: 'ERROR', object: gone })}\n`);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.flushHeaders();
    const w: Watcher = {
      namespace,
      selector,
      bookmarks: req.query.get('allowWatchBookmarks') === 'true',
      res,
    };
    if (fromRv === undefined) {
      // "Start at most recent" with synthetic ADDED events for what exists now.
      for (const o of this.#objects.values()) {
        if (o.metadata.namespace === namespace && matchesSelector(labelsOf(o), selector)) {
          this.#send(w, { type: 'ADDED', object: o });
        }
      }
    } else {
      for (const h of this.#history) {
        if (h.rv <= fromRv || h.object.metadata.namespace !== namespace) continue;
        if (matchesSelector(labelsOf(h.object), selector)) this.#send(w, { type: h.type, object: h.object });
      }
    }
    this.#watchers.add(w);
    const timeoutSeconds = Number(req.query.get('timeoutSeconds') ?? '0');
    const timer = timeoutSeconds > 0 ? setTimeout(() => res.end(), timeoutSeconds * 1000) : undefined;
    timer?.unref();
    res.on('close', () => {
      clearTimeout(timer);
      this.#watchers.delete(w);
    });
  }
}

function labelsOf(object: Obj): Record<string, string> {
  return (object.metadata.labels ?? {}) as Record<string, string>;
}

export async function startKubernetesServer(tls?: TlsMaterial): Promise<KubernetesServer> {
  const server = new KubernetesServer(tls);
  await server.start();
  return server;
}
