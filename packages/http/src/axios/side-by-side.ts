// Test support: one axios call made twice against the same loopback server, through axios's
// own Node adapter (`adapter: 'http'`) and through axiosAdapter(client), each reduced to what a
// caller can tell apart: status, data, headers, and an error's code, name and message.

import { Readable } from 'node:stream';
import axios, {
  type AxiosError,
  type AxiosInstance,
  type AxiosRequestConfig,
  type AxiosResponse,
} from 'axios';
import { axiosAdapter } from '../axios.ts';
import type { Client } from '../client.ts';

export interface Outcome {
  status?: number;
  data?: unknown;
  headers?: Record<string, unknown>;
  error?: { code?: string; name: string; message: string; status?: number; data?: unknown };
}

// Headers that differ between two sends of the same request for reasons of time alone.
const VOLATILE = new Set(['date']);

async function settled(pending: Promise<AxiosResponse>): Promise<Outcome> {
  try {
    const res = await pending;
    let data = res.data as unknown;
    if (data instanceof Readable) {
      const chunks: Buffer[] = [];
      for await (const chunk of data) chunks.push(Buffer.from(chunk as Buffer));
      data = Buffer.concat(chunks).toString();
    }
    if (Buffer.isBuffer(data)) data = `<buffer ${data.toString('hex')}>`;
    const headers: Record<string, unknown> = {};
    for (const [name, value] of Object.entries({ ...res.headers })) {
      if (!VOLATILE.has(name)) headers[name] = value;
    }
    return { status: res.status, data, headers };
  } catch (error) {
    const e = error as { code?: string; name: string; message: string; response?: AxiosResponse };
    const out: Outcome['error'] = { code: e.code, name: e.name, message: e.message };
    if (e.response !== undefined) {
      out.status = e.response.status;
      out.data = e.response.data instanceof Readable ? '<stream>' : e.response.data;
    }
    return { error: out };
  }
}

/** The error `pending` rejects with; a response instead fails the test. */
export async function failure(pending: Promise<unknown>): Promise<AxiosError> {
  try {
    await pending;
  } catch (error) {
    return error as AxiosError;
  }
  throw new Error('expected the request to fail');
}

export interface SideBySide {
  /** axios with its own Node adapter, its baseURL the server. */
  readonly native: AxiosInstance;
  /** axios with axiosAdapter(client), its baseURL the service. */
  readonly picket: AxiosInstance;
  /** The same config through both, one after the other. */
  run(config: AxiosRequestConfig | (() => AxiosRequestConfig)): Promise<{ axios: Outcome; picket: Outcome }>;
}

/**
 * `serverUrl` is the one instance of `client`'s service. A config given as a function is made
 * afresh for each side (a stream or a form can be sent once).
 */
export function sideBySide(client: Client, serverUrl: string, defaults: AxiosRequestConfig = {}): SideBySide {
  const native = axios.create({ ...defaults, adapter: 'http', baseURL: serverUrl });
  const picket = axios.create({
    ...defaults,
    adapter: axiosAdapter(client),
    baseURL: `http://${client.service}`,
  });
  return {
    native,
    picket,
    async run(config) {
      const make = typeof config === 'function' ? config : () => config;
      const a = await settled(native.request(make()));
      const b = await settled(picket.request(make()));
      return { axios: a, picket: b };
    },
  };
}
