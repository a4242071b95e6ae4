// A Consul test server that speaks the documented HTTP API: /v1/health/service/:service with
// blocking queries (index/wait, wait/16 jitter, returns without change on timeout or idempotent
// writes, an index that can go backwards or be 0), ACL tokens, and the agent endpoints for
// registration with a TTL check (/v1/agent/service/register, /v1/agent/check/pass/:id,
// /v1/agent/service/deregister/:id). Consul itself cannot run here.

import type { ServerResponse } from 'node:http';
import {
  LoopbackServer,
  type RecordedRequest,
  sendJson,
  sendText,
  type TlsMaterial,
} from './registry-server.ts';

export interface ConsulEntryInput {
  node?: string;
  nodeAddress?: string;
  nodeMeta?: Record<string, string>;
  id: string;
  service?: string;
  address?: string;
  port: number;
  tags?: string[];
  meta?: Record<string, string>;
  weights?: { Passing: number; Warning: number };
  /** Aggregate status of the service's checks. Default passing. */
  status?: 'passing' | 'warning' | 'critical';
}

/** A ServiceEntry as /v1/health/service returns it. */
export function consulEntry(input: ConsulEntryInput): Record<string, unknown> {
  const node = input.node ?? 'node-1';
  const service = input.service ?? 'inventory';
  return {
    Node: {
      ID: `00000000-0000-0000-0000-${node.padStart(12, '0').slice(-12)}`,
      Node: node,
      Address: input.nodeAddress ?? '127.0.0.1',
      Datacenter: 'dc1',
      TaggedAddresses: { lan: input.nodeAddress ?? '127.0.0.1', wan: input.nodeAddress ?? '127.0.0.1' },
      Meta: input.nodeMeta ?? { 'consul-network-segment': '' },
      CreateIndex: 5,
      ModifyIndex: 5,
    },
    Service: {
      ID: input.id,
      Service: service,
      Tags: input.tags ?? [],
      Address: input.address ?? '',
      Meta: input.meta ?? {},
      Port: input.port,
      Weights: input.weights ?? { Passing: 1, Warning: 1 },
      EnableTagOverride: false,
      CreateIndex: 6,
      ModifyIndex: 6,
    },
    Checks: [
      { Node: node, CheckID: 'serfHealth', Name: 'Serf Health Status', Status: 'passing', ServiceID: '' },
      {
        Node: node,
        CheckID: `service:${input.id}`,
        Name: `Service '${service}' check`,
        Status: input.status ?? 'passing',
        ServiceID: input.id,
        ServiceName: service,
      },
    ],
  };
}

interface ServiceState {
  index: number;
  entries: unknown[];
}

interface AgentService {
  body: Record<string, unknown>;
  status: 'passing' | 'warning' | 'critical';
  ttlMs: number | undefined;
  timer: NodeJS.Timeout | undefined;
}

interface Waiter {
  service: string;
  wake: () => void;
}

const DURATION = /^(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)$/;
const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** Parses a Go duration as Consul does (`30s`, `5m`, `250ms`); undefined when malformed. */
export function parseGoDuration(text: string): number | undefined {
  const match = DURATION.exec(text);
  if (match === null) return undefined;
  return Number(match[1]) * (UNIT_MS[match[2] as string] ?? Number.NaN);
}

export class ConsulServer {
  readonly http: LoopbackServer;
  readonly datacenter = 'dc1';
  /** When set, requests need this token in `X-Consul-Token`. */
  token: string | undefined;
  /** When true, health queries are accepted and never answered (a hung server or proxy). */
  hang = false;
  #raftIndex = 10;
  #services = new Map<string, ServiceState>();
  #agent = new Map<string, AgentService>();
  #waiters = new Set<Waiter>();
  #hung = new Set<ServerResponse>();

  constructor(tls?: TlsMaterial) {
    this.http = new LoopbackServer((req, res) => this.#handle(req, res), tls);
  }

  get url(): string {
    return this.http.url;
  }

  start(): Promise<void> {
    return this.http.start();
  }

  async close(): Promise<void> {
    for (const service of this.#agent.values()) clearTimeout(service.timer);
    this.#agent.clear();
    for (const res of this.#hung) res.destroy();
    this.#hung.clear();
    await this.http.stop();
  }

  /** Replaces a service's entries (raw JSON, so tests can inject malformed ones) and wakes watchers. */
  setEntries(service: string, entries: unknown[]): void {
    this.#bump(service).entries = entries;
    this.#wake(service);
  }

  /** An idempotent write: the index moves, the result does not. */
  touch(service: string): void {
    this.#bump(service);
    this.#wake(service);
  }

  /** Forces the index (a restored raft snapshot sends it backwards; some old versions send 0). */
  setIndex(service: string, index: number): void {
    this.#state(service).index = index;
    this.#wake(service);
  }

  indexOf(service: string): number {
    return this.#state(service).index;
  }

  /** The agent loses what was registered through it (as after an agent rebuilt without its data). */
  forgetAgentServices(): void {
    for (const [id, service] of this.#agent) {
      clearTimeout(service.timer);
      this.#removeFromCatalog(String(service.body.Name), id);
    }
    this.#agent.clear();
  }

  agentService(id: string): { status: string; body: Record<string, unknown> } | undefined {
    const service = this.#agent.get(id);
    return service === undefined ? undefined : { status: service.status, body: service.body };
  }

  #state(service: string): ServiceState {
    let state = this.#services.get(service);
    if (state === undefined) {
      state = { index: this.#raftIndex, entries: [] };
      this.#services.set(service, state);
    }
    return state;
  }

  #bump(service: string): ServiceState {
    this.#raftIndex += 1;
    const state = this.#state(service);
    state.index = this.#raftIndex;
    return state;
  }

  #wake(service: string) {
    for (const waiter of [...this.#waiters]) if (waiter.service === service) waiter.wake();
  }

  #handle(req: RecordedRequest, res: ServerResponse) {
    if (this.token !== undefined && req.headers['x-consul-token'] !== undefined) {
      if (req.headers['x-consul-token'] !== this.token) {
        sendText(res, 403, 'ACL not found');
        return;
      }
    }
    const authorized = this.token === undefined || req.headers['x-consul-token'] === this.token;
    const health = /^\/v1\/health\/service\/([^/]+)$/.exec(req.path);
    if (health !== null) {
      if (req.method !== 'GET') return sendText(res, 405, 'method not allowed');
      this.#health(decodeURIComponent(health[1] as string), req, res, authorized);
      return;
    }
    if (!authorized) return sendText(res, 403, 'Permission denied');
    if (req.method !== 'PUT') return sendText(res, 405, 'method not allowed');
    if (req.path === '/v1/agent/service/register') return this.#register(req, res);
    const pass = /^\/v1\/agent\/check\/pass\/(.+)$/.exec(req.path);
    if (pass !== null) return this.#pass(decodeURIComponent(pass[1] as string), res);
    const dereg = /^\/v1\/agent\/service\/deregister\/(.+)$/.exec(req.path);
    if (dereg !== null) return this.#deregister(decodeURIComponent(dereg[1] as string), res);
    sendText(res, 404, 'not found');
  }

  #health(service: string, req: RecordedRequest, res: ServerResponse, authorized: boolean) {
    const dc = req.query.get('dc');
    if (dc !== null && dc !== '' && dc !== this.datacenter) {
      return sendText(res, 500, `No path to datacenter`);
    }
    const waitText = req.query.get('wait');
    const wait = waitText === null ? 300_000 : parseGoDuration(waitText);
    if (wait === undefined) return sendText(res, 400, `Invalid wait time: ${waitText}`);
    const minIndex = Number(req.query.get('index') ?? '0');
    if (!Number.isInteger(minIndex) || minIndex < 0) return sendText(res, 400, 'Invalid index');
    if (this.hang) {
      this.#hung.add(res);
      res.on('close', () => this.#hung.delete(res));
      return;
    }
    const answer = () => {
      const state = this.#state(service);
      const headers: Record<string, string> = {
        'X-Consul-Index': String(state.index),
        'X-Consul-KnownLeader': 'true',
        'X-Consul-LastContact': '0',
      };
      if (!authorized) {
        // Consul filters what the anonymous token may not read instead of refusing the query.
        sendJson(res, 200, [], { ...headers, 'X-Consul-Results-Filtered-By-ACLs': 'true' });
        return;
      }
      const tag = req.query.get('tag');
      const passing = req.query.has('passing') && req.query.get('passing') !== 'false';
      const entries = state.entries.filter((entry) => {
        const e = entry as { Service?: { Tags?: unknown }; Checks?: unknown };
        if (tag !== null && !(Array.isArray(e.Service?.Tags) && e.Service.Tags.includes(tag))) return false;
        if (passing && Array.isArray(e.Checks)) {
          return e.Checks.every((check) => (check as { Status?: unknown }).Status === 'passing');
        }
        return true;
      });
      sendJson(res, 200, entries, headers);
    };
    if (minIndex === 0 || this.#state(service).index > minIndex) return answer();
    // Block until the service's index moves or wait (plus up to wait/16 of jitter) runs out.
    const limit = Math.min(wait, 600_000);
    const waiter: Waiter = {
      service,
      wake: () => {
        clearTimeout(timer);
        this.#waiters.delete(waiter);
        answer();
      },
    };
    const timer = setTimeout(waiter.wake, limit + Math.random() * (limit / 16));
    this.#waiters.add(waiter);
    res.on('close', () => {
      clearTimeout(timer);
      this.#waiters.delete(waiter);
    });
  }

  #register(req: RecordedRequest, res: ServerResponse) {
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(req.body) as Record<string, unknown>;
    } catch {
      return sendText(res, 400, 'Request decode failed');
    }
    if (typeof body.Name !== 'string' || body.Name === '') return sendText(res, 400, 'Missing service name');
    if (body.Port !== undefined && !Number.isInteger(body.Port)) return sendText(res, 400, 'Invalid port');
    const id = typeof body.ID === 'string' && body.ID !== '' ? body.ID : body.Name;
    const check = body.Check as Record<string, unknown> | undefined;
    let ttlMs: number | undefined;
    if (check !== undefined) {
      ttlMs = typeof check.TTL === 'string' ? parseGoDuration(check.TTL) : undefined;
      if (ttlMs === undefined) return sendText(res, 400, 'Invalid check: TTL must be a duration');
    }
    const previous = this.#agent.get(id);
    clearTimeout(previous?.timer);
    // A TTL check starts critical until the service first reports in.
    const service: AgentService = { body, status: 'critical', ttlMs, timer: undefined };
    this.#agent.set(id, service);
    this.#publish(id, service);
    sendText(res, 200, '');
  }

  #pass(checkId: string, res: ServerResponse) {
    const id = checkId.startsWith('service:') ? checkId.slice('service:'.length) : undefined;
    const service = id === undefined ? undefined : this.#agent.get(id);
    if (id === undefined || service === undefined || service.ttlMs === undefined) {
      return sendText(
        res,
        404,
        `Unknown check ID "${checkId}". Ensure that the check ID is passed, not the check name.`,
      );
    }
    clearTimeout(service.timer);
    service.timer = setTimeout(() => {
      service.status = 'critical';
      this.#publish(id, service);
    }, service.ttlMs);
    service.timer.unref();
    if (service.status !== 'passing') {
      service.status = 'passing';
      this.#publish(id, service);
    }
    sendText(res, 200, '');
  }

  #deregister(id: string, res: ServerResponse) {
    const service = this.#agent.get(id);
    if (service === undefined)
      return sendText(
        res,
        404,
        `Unknown service ID "${id}". Ensure that the service ID is passed, not the service name.`,
      );
    clearTimeout(service.timer);
    this.#agent.delete(id);
    this.#removeFromCatalog(String(service.body.Name), id);
    sendText(res, 200, '');
  }

  #publish(id: string, service: AgentService) {
    const name = String(service.body.Name);
    const state = this.#state(name);
    const entry = consulEntry({
      id,
      service: name,
      address: typeof service.body.Address === 'string' ? service.body.Address : '',
      port: Number(service.body.Port ?? 0),
      tags: Array.isArray(service.body.Tags) ? (service.body.Tags as string[]) : [],
      meta: (service.body.Meta as Record<string, string> | undefined) ?? {},
      status: service.status,
    });
    const others = state.entries.filter((e) => (e as { Service?: { ID?: unknown } }).Service?.ID !== id);
    this.setEntries(name, [...others, entry]);
  }

  #removeFromCatalog(name: string, id: string) {
    const state = this.#state(name);
    this.setEntries(
      name,
      state.entries.filter((e) => (e as { Service?: { ID?: unknown } }).Service?.ID !== id),
    );
  }
}

export async function startConsulServer(tls?: TlsMaterial): Promise<ConsulServer> {
  const server = new ConsulServer(tls);
  await server.start();
  return server;
}
