// A Eureka server that follows Eureka's REST API (v2, JSON): the full registry (GET /eureka/apps),
// one application (GET /eureka/apps/{APP}), delta fetches (GET /eureka/apps/delta) from a queue of
// recent changes with `apps__hashcode` over the whole registry, registration (POST), heartbeats
// (PUT, 404 when the lease is unknown) and cancellation (DELETE). Eureka itself cannot run here.

import type { ServerResponse } from 'node:http';
import { LoopbackServer, type RecordedRequest, sendJson, sendText } from './registry-server.ts';

export type EurekaStatus = 'UP' | 'DOWN' | 'STARTING' | 'OUT_OF_SERVICE' | 'UNKNOWN';

export interface EurekaInstanceInput {
  app: string;
  instanceId: string;
  hostName?: string;
  ipAddr?: string;
  port?: number;
  securePort?: number;
  secure?: boolean;
  status?: EurekaStatus;
  metadata?: Record<string, string>;
}

/** An InstanceInfo as Eureka's JSON codec writes it. */
export function eurekaInstance(input: EurekaInstanceInput): Record<string, unknown> {
  const host = input.hostName ?? '127.0.0.1';
  const port = input.port ?? 8080;
  return {
    instanceId: input.instanceId,
    hostName: host,
    app: input.app.toUpperCase(),
    ipAddr: input.ipAddr ?? '127.0.0.1',
    status: input.status ?? 'UP',
    overriddenStatus: 'UNKNOWN',
    port: { $: port, '@enabled': input.secure === true ? 'false' : 'true' },
    securePort: { $: input.securePort ?? 443, '@enabled': input.secure === true ? 'true' : 'false' },
    countryId: 1,
    dataCenterInfo: { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' },
    leaseInfo: { renewalIntervalInSecs: 30, durationInSecs: 90, evictionTimestamp: 0 },
    metadata: input.metadata ?? { '@class': 'java.util.Collections$EmptyMap' },
    homePageUrl: `http://${host}:${port}/`,
    vipAddress: input.app.toLowerCase(),
    secureVipAddress: input.app.toLowerCase(),
    isCoordinatingDiscoveryServer: 'false',
    lastUpdatedTimestamp: String(Date.now()),
    lastDirtyTimestamp: String(Date.now()),
  };
}

type Instance = Record<string, unknown>;

interface Change {
  action: 'ADDED' | 'MODIFIED' | 'DELETED';
  app: string;
  instance: Instance;
}

export class EurekaServer {
  readonly http: LoopbackServer;
  /** When true, /eureka/apps/delta answers 403, as a server with `disableDelta` does. */
  disableDelta = false;
  /** When true, an application with one instance carries it as an object, not an array (old codecs). */
  singleAsObject = false;
  #apps = new Map<string, Map<string, Instance>>();
  #recent: Change[] = [];
  #version = 1;

  constructor() {
    this.http = new LoopbackServer((req, res) => this.#handle(req, res));
  }

  get url(): string {
    return `${this.http.url}/eureka`;
  }

  start(): Promise<void> {
    return this.http.start();
  }

  close(): Promise<void> {
    return this.http.stop();
  }

  /** Adds or replaces an instance (raw JSON allowed) and records the change for deltas. */
  put(instance: Instance): void {
    const app = String(instance.app).toUpperCase();
    const id = String(instance.instanceId);
    const instances = this.#appMap(app);
    const action = instances.has(id) ? 'MODIFIED' : 'ADDED';
    instances.set(id, structuredClone(instance));
    this.#change(action, app, instance);
  }

  setStatus(app: string, instanceId: string, status: EurekaStatus): void {
    const instance = this.#apps.get(app.toUpperCase())?.get(instanceId);
    if (instance === undefined) throw new Error(`no instance ${app}/${instanceId}`);
    instance.status = status;
    this.#change('MODIFIED', app.toUpperCase(), instance);
  }

  remove(app: string, instanceId: string): void {
    const instances = this.#apps.get(app.toUpperCase());
    const instance = instances?.get(instanceId);
    if (instances === undefined || instance === undefined) return;
    instances.delete(instanceId);
    if (instances.size === 0) this.#apps.delete(app.toUpperCase());
    this.#change('DELETED', app.toUpperCase(), instance);
  }

  /**
   * Changes the registry without recording a delta, as when the recent-changes queue rolled over
   * during a client's absence: the client's reconstruction no longer matches `apps__hashcode`.
   */
  putSilently(instance: Instance): void {
    this.#appMap(String(instance.app).toUpperCase()).set(
      String(instance.instanceId),
      structuredClone(instance),
    );
  }

  /** Forgets a lease without a delta (eviction after a server restart): heartbeats get 404. */
  forget(app: string, instanceId: string): void {
    this.#apps.get(app.toUpperCase())?.delete(instanceId);
  }

  /** Drops the recent-changes queue (Eureka keeps about three minutes of it). */
  expireDeltas(): void {
    this.#recent = [];
  }

  instance(app: string, instanceId: string): Instance | undefined {
    return this.#apps.get(app.toUpperCase())?.get(instanceId);
  }

  /** Eureka's reconcile hash code: `STATUS_count_` for each status over every instance, sorted. */
  hashCode(): string {
    const counts = new Map<string, number>();
    for (const instances of this.#apps.values()) {
      for (const instance of instances.values()) {
        const s = String(instance.status);
        counts.set(s, (counts.get(s) ?? 0) + 1);
      }
    }
    return [...counts.keys()]
      .sort()
      .map((s) => `${s}_${counts.get(s)}_`)
      .join('');
  }

  #appMap(app: string): Map<string, Instance> {
    let instances = this.#apps.get(app);
    if (instances === undefined) {
      instances = new Map();
      this.#apps.set(app, instances);
    }
    return instances;
  }

  #change(action: Change['action'], app: string, instance: Instance) {
    this.#version += 1;
    this.#recent.push({ action, app, instance: structuredClone(instance) });
  }

  #instances(list: Instance[]): Instance[] | Instance {
    return this.singleAsObject && list.length === 1 ? (list[0] as Instance) : list;
  }

  #handle(req: RecordedRequest, res: ServerResponse) {
    const accept = req.headers.accept ?? '';
    if (req.method === 'GET' && !accept.includes('application/json')) {
      // Eureka answers XML unless JSON is asked for.
      return sendText(
        res,
        200,
        '<applications><versions__delta>1</versions__delta></applications>',
        'application/xml',
      );
    }
    const parts = req.path
      .split('/')
      .filter((p) => p !== '')
      .map(decodeURIComponent);
    if (parts[0] !== 'eureka' || parts[1] !== 'apps') return sendText(res, 404, 'not found');
    const [, , app, id] = parts;
    if (req.method === 'GET' && app === undefined) return this.#full(res);
    if (req.method === 'GET' && app === 'delta' && id === undefined) return this.#delta(res);
    if (req.method === 'GET' && app !== undefined && id === undefined) return this.#app(app, res);
    if (req.method === 'POST' && app !== undefined && id === undefined) return this.#register(app, req, res);
    if (req.method === 'PUT' && app !== undefined && id !== undefined && parts.length === 4) {
      return this.#heartbeat(app, id, res);
    }
    if (req.method === 'DELETE' && app !== undefined && id !== undefined && parts.length === 4) {
      return this.#cancel(app, id, res);
    }
    sendText(res, 405, 'method not allowed');
  }

  #full(res: ServerResponse) {
    const application = [...this.#apps].map(([name, instances]) => ({
      name,
      instance: this.#instances([...instances.values()]),
    }));
    sendJson(res, 200, {
      applications: { versions__delta: String(this.#version), apps__hashcode: this.hashCode(), application },
    });
  }

  #app(app: string, res: ServerResponse) {
    const instances = this.#apps.get(app.toUpperCase());
    if (instances === undefined) return sendText(res, 404, '');
    sendJson(res, 200, {
      application: { name: app.toUpperCase(), instance: this.#instances([...instances.values()]) },
    });
  }

  #delta(res: ServerResponse) {
    if (this.disableDelta) return sendText(res, 403, '');
    const byApp = new Map<string, Instance[]>();
    for (const change of this.#recent) {
      const list = byApp.get(change.app) ?? [];
      list.push({ ...change.instance, actionType: change.action });
      byApp.set(change.app, list);
    }
    const application = [...byApp].map(([name, list]) => ({ name, instance: this.#instances(list) }));
    sendJson(res, 200, {
      applications: { versions__delta: String(this.#version), apps__hashcode: this.hashCode(), application },
    });
  }

  #register(app: string, req: RecordedRequest, res: ServerResponse) {
    let info: Instance;
    try {
      info = (JSON.parse(req.body) as { instance: Instance }).instance;
    } catch {
      return sendText(res, 400, 'bad request');
    }
    // The checks Eureka's ApplicationResource.addInstance makes, in its order.
    if (typeof info?.instanceId !== 'string' || info.instanceId === '')
      return sendText(res, 400, 'Missing instanceId');
    if (typeof info.hostName !== 'string' || info.hostName === '')
      return sendText(res, 400, 'Missing hostname');
    if (typeof info.ipAddr !== 'string' || info.ipAddr === '')
      return sendText(res, 400, 'Missing ip address');
    if (String(info.app).toUpperCase() !== app.toUpperCase()) return sendText(res, 400, 'Mismatched appName');
    const dc = info.dataCenterInfo as { name?: unknown } | undefined;
    if (dc === undefined || dc === null) return sendText(res, 400, 'Missing dataCenterInfo');
    if (typeof dc.name !== 'string') return sendText(res, 400, 'Missing dataCenterInfo Name');
    this.put({ ...info, app: app.toUpperCase() });
    res.writeHead(204);
    res.end();
  }

  #heartbeat(app: string, id: string, res: ServerResponse) {
    if (this.#apps.get(app.toUpperCase())?.has(id) !== true) return sendText(res, 404, '');
    sendText(res, 200, '');
  }

  #cancel(app: string, id: string, res: ServerResponse) {
    if (this.#apps.get(app.toUpperCase())?.has(id) !== true) return sendText(res, 404, '');
    this.remove(app, id);
    sendText(res, 200, '');
  }
}

export async function startEurekaServer(): Promise<EurekaServer> {
  const server = new EurekaServer();
  await server.start();
  return server;
}
