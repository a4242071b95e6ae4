// Type-checked against the installed declarations, never run: an ES module consumer (nodenext and
// bundler resolution). The @ts-expect-error lines fail the check if the types resolve to `any`.
import type {
  Backoff,
  Balancer,
  EndpointView,
  HealthSource,
  HealthSourceOptions,
  InstanceSnapshot,
  Pick,
  PickHandle,
  Strategy,
  StrategyName,
} from '@picket/core';
import { backoff } from '@picket/discovery';
import axios from 'axios';
import {
  type Client,
  type ClientFetchInit,
  type ClientOptions,
  type ClientRequestOptions,
  createClient,
  ErrorCode,
  fileList,
  httpCheck,
  isPicketError,
  type LoadReportLimits,
  type MetricsOptions,
  PicketError,
  roundRobin,
} from 'picket';
import { type AxiosAdapterOptions, axiosAdapter } from 'picket/axios';
import { type Dashboard, type DashboardOptions, dashboard, type SnapshotMessage } from 'picket/dashboard';

// The plumbing Picket's packages share is behind @picket/core/internal, not in the public index.
// @ts-expect-error: not public
export type NotPublic = typeof import('@picket/core')['parseWith'];
export type Shared = typeof import('@picket/core/internal')['parseWith'];

// Every type a client's options and fronts take has a public name, and none is internal.
export const metrics: MetricsOptions = { perInstance: false };
export const overloaded: LoadReportLimits = { cpuUtilization: 0.9, inFlight: 100 };
export const call: ClientRequestOptions = { path: '/items/42', hashKey: 'user-7', timeout: 500 };
export const post: ClientFetchInit = { method: 'POST', body: '{}', idempotent: true };
export const retries: Backoff = backoff({ initialMs: 100 });
export const adapterOptions: AxiosAdapterOptions = { axios };

// The pick handle, under its name and under the deprecated one it had.
export const sameHandle = (pick: PickHandle): Pick => pick;

// A health source registers once and reports through its handle, which takes no source name.
export function probe(balancer: Balancer, id: string): HealthSource {
  const options: HealthSourceOptions = { endsEjection: true, startsUnknown: true };
  const source = balancer.healthSource('probe', options);
  source.set(id, 'unhealthy', 'status 503');
  // @ts-expect-error: a verdict is 'healthy', 'unhealthy' or 'unknown'
  source.set(id, 'down');
  return source;
}

// A custom strategy sees the balancer's endpoints read-only.
export const first: Strategy = {
  name: 'first',
  create: () => {
    let endpoints: readonly EndpointView[] = [];
    return {
      rebuild(next) {
        endpoints = next;
      },
      pick: () => endpoints[0],
    };
  },
};
export function tamper(endpoint: EndpointView): void {
  // @ts-expect-error: the balancer owns the in-flight count
  endpoint.active = 0;
}

const options: ClientOptions = {
  service: 'inventory',
  discovery: ['http://127.0.0.1:8001', { url: 'http://127.0.0.1:8002', weight: 2 }],
  strategy: 'round-robin' satisfies StrategyName,
  health: { check: httpCheck({ path: '/health' }), interval: 5_000 },
};

export async function consume(): Promise<number> {
  const inventory: Client = createClient(options);
  const filed = createClient({
    service: 'filed',
    discovery: fileList('instances.yaml'),
    strategy: roundRobin(),
  });
  createClient({
    service: 'inventory',
    discovery: ['http://127.0.0.1:8001'],
    // @ts-expect-error: not a strategy
    strategy: 'round-robbin',
  });
  try {
    const res: Response = await inventory.fetch('/items/42');
    const item = (await res.json()) as { id: number };
    const { statusCode, body } = await inventory.request({ path: '/items/42', method: 'GET' });
    const text: string = await body.text();
    // @ts-expect-error: a status code is a number
    const wrong: string = statusCode;
    const api = axios.create({ adapter: axiosAdapter(inventory) });
    const { data } = await api.get<{ id: number }>('/items/42');
    const instances: InstanceSnapshot[] = inventory.snapshot().instances;
    return item.id + data.id + statusCode + text.length + wrong.length + instances.length;
  } catch (error) {
    if (isPicketError(error)) {
      const code: ErrorCode = error.code;
      if (code === ErrorCode.ATTEMPTS_EXHAUSTED || error instanceof PicketError) return -1;
    }
    throw error;
  } finally {
    await Promise.all([inventory.close(), filed.close()]);
  }
}

export async function watch(clients: Client[]): Promise<string> {
  const options: DashboardOptions = { clients, port: 9901, token: 'secret', intervalMs: 1000 };
  // @ts-expect-error: a port is a number
  dashboard({ clients, port: '9901' });
  const board: Dashboard = await dashboard(options);
  const shown: SnapshotMessage['services'][number]['instances'][number]['state'] = 'healthy';
  // @ts-expect-error: an instance's state is one of the balancer's
  const misspelt: SnapshotMessage['services'][number]['instances'][number]['state'] = 'up';
  await board.close();
  return `${board.url} ${shown} ${misspelt}`;
}
