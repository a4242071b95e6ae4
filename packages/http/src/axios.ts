// axiosAdapter(client): axios on Picket, for `axios.create({ adapter: axiosAdapter(client) })`.
// The request runs through axios's own Node adapter (the calling axios's), so that bodies,
// forms, decompression, limits, progress, timeouts, cancellation and errors are axios's own; only
// its transport is Picket's: each request goes to a picked instance with retries and breakers
// (axios/transport.ts). What a balancer cannot honour (proxies, lookup, socketPath, HTTP/2
// sessions, data: URLs) is refused, and the agents are ignored with a warning. axios is an
// optional peer: only its types are imported here.

import { isPicketError, PicketError } from '@picket/core';
import { describeValue, durationRule, isDuration } from '@picket/core/internal';
import type { AxiosAdapter, AxiosError, AxiosResponse, AxiosStatic, InternalAxiosRequestConfig } from 'axios';
import { picketCause } from './axios/node-errors.ts';
import type { ServiceClient } from './axios/service-request.ts';
import { isServiceHost, serviceTransport } from './axios/transport.ts';
import { unknownOptionsError } from './errors.ts';
import { serviceUrl } from './fronts/target.ts';

export interface AxiosAdapterOptions {
  /** The axios module to take its Node adapter, AxiosError and CanceledError from. Default `import('axios')`. */
  axios?: AxiosStatic;
}

const ADAPTER_KEYS: ReadonlySet<string> = new Set(['axios'] satisfies (keyof AxiosAdapterOptions)[]);

type AxiosRuntime = Pick<AxiosStatic, 'AxiosError' | 'getAdapter' | 'getUri'>;

const ABSOLUTE = /^[a-z][a-z\d+\-.]*:/i;

let loaded: Promise<AxiosRuntime> | undefined;
function loadAxios(): Promise<AxiosRuntime> {
  loaded ??= import('axios').then((m) => (m.default ?? m) as AxiosRuntime);
  return loaded;
}

// Options about where and how to connect: the balancer decides both.
const REFUSED: Record<string, string> = {
  proxy: 'requests go straight to the instances the balancer picks; a proxy cannot be put between them',
  lookup: "the service's addresses come from discovery; resolve them there (dns())",
  socketPath: 'the service is reached at the addresses discovery gives, not a Unix socket',
  http2Options: "HTTP/2 is the client's choice: createClient({ pool: { allowH2: true } })",
  transport: 'the transport is what axiosAdapter provides',
};
// Ignored for the service's instances (the client's pools are used), kept for a redirect to
// another origin, as axios would use them.
const IGNORED: Record<string, string> = {
  httpAgent: "the client's pools connect to the service (createClient({ pool }) sets them up)",
  httpsAgent: "the client's pools connect to the service (createClient({ pool, tls }) sets them up)",
  family: 'the address family is that of the addresses discovery gives',
};

function refusal(config: InternalAxiosRequestConfig): [string, string] | undefined {
  for (const [option, why] of Object.entries(REFUSED)) {
    const value = (config as unknown as Record<string, unknown>)[option];
    if (value !== undefined && value !== null && value !== false) return [option, why];
  }
  const version = (config as { httpVersion?: unknown }).httpVersion;
  if (version !== undefined && Number(version) === 2) return ['httpVersion', REFUSED.http2Options!];
  return undefined;
}

/**
 * axios reads `timeout` with parseInt and hands it to a timer: one a timer cannot hold (negative,
 * or past 2^31 - 1 ms) would fire at once (axios's own adapter crashes on a negative one). The
 * refusal, or undefined; what parseInt cannot read, axios's adapter refuses itself.
 */
function timeoutRefusal(timeout: unknown): string | undefined {
  if (!timeout) return undefined;
  const ms = Number.parseInt(timeout as string, 10);
  if (Number.isNaN(ms) || isDuration(ms)) return undefined;
  return `axiosAdapter: \`timeout\` ${durationRule()}, got ${describeValue(timeout)}`;
}

/** Throws PICKET_INVALID_OPTIONS now for what would otherwise fail on the first request. */
function checkOptions(options: unknown): asserts options is AxiosAdapterOptions {
  const axios = (options as AxiosAdapterOptions | null)?.axios;
  const problem =
    options === null || typeof options !== 'object'
      ? `expected an object, got ${describeValue(options)}`
      : axios !== undefined && typeof (axios as Partial<AxiosStatic> | null)?.getAdapter !== 'function'
        ? `\`axios\` must be the axios module (with getAdapter), got ${describeValue(axios)}`
        : undefined;
  if (problem !== undefined)
    throw new PicketError('PICKET_INVALID_OPTIONS', `Invalid axiosAdapter options: ${problem}`);
  const unknown = unknownOptionsError('Invalid axiosAdapter options', options as object, ADAPTER_KEYS);
  if (unknown !== undefined) throw unknown;
}

/** An axios adapter that sends every request through `client`. */
export function axiosAdapter(client: ServiceClient, options: AxiosAdapterOptions = {}): AxiosAdapter {
  const transport = serviceTransport(client);
  checkOptions(options);
  const warned = new Set<string>();
  return async function picketAdapter(config: InternalAxiosRequestConfig): Promise<AxiosResponse> {
    const axios: AxiosRuntime = options.axios ?? (await loadAxios());
    const { AxiosError } = axios;
    const refused = refusal(config);
    if (refused !== undefined) {
      throw new AxiosError(
        `axiosAdapter does not support \`${refused[0]}\`: ${refused[1]}`,
        AxiosError.ERR_BAD_OPTION_VALUE,
        config,
      );
    }
    const badTimeout = timeoutRefusal(config.timeout);
    if (badTimeout !== undefined) throw new AxiosError(badTimeout, AxiosError.ERR_BAD_OPTION_VALUE, config);
    for (const [option, why] of Object.entries(IGNORED)) {
      if ((config as unknown as Record<string, unknown>)[option] !== undefined && !warned.has(option)) {
        warned.add(option);
        process.emitWarning(`axiosAdapter ignores \`${option}\` for service "${client.service}": ${why}`, {
          code: 'PICKET_AXIOS_IGNORED_OPTION',
        });
      }
    }
    // The URL without params: a params serializer's failure is axios's adapter's to report.
    const full = axios.getUri({ ...config, params: undefined });
    const url = new URL(full, `http://${client.service}`);
    if (url.protocol === 'data:') {
      throw new AxiosError(
        'axiosAdapter does not support data: URLs: only the service is sent to',
        AxiosError.ERR_NOT_SUPPORT,
        config,
      );
    }
    if (
      (url.protocol === 'http:' || url.protocol === 'https:') &&
      !isServiceHost(client.service, url.hostname)
    ) {
      // A URL of another host is not this service's: refused, never sent to its instances.
      try {
        serviceUrl(client.service, url);
      } catch (error) {
        const e = new AxiosError((error as Error).message, AxiosError.ERR_INVALID_URL, config);
        (e as { cause?: unknown }).cause = error;
        throw e;
      }
    }
    const http = axios.getAdapter('http') as (config: InternalAxiosRequestConfig) => Promise<AxiosResponse>;
    const call = { ...config, proxy: false, transport: transport(config) } as InternalAxiosRequestConfig;
    // A path alone (axios's Node adapter takes none) is the service's.
    if (!ABSOLUTE.test(full)) Object.assign(call, { baseURL: undefined, url: url.href });
    try {
      const response = await http(call);
      response.config = config;
      return response;
    } catch (error) {
      throw settleError(error, config, call, axios);
    }
  };
}

/** Gives back the caller's config, and Picket's error as `cause` for a transport failure. */
function settleError(
  error: unknown,
  config: InternalAxiosRequestConfig,
  call: InternalAxiosRequestConfig,
  axios: AxiosRuntime,
): unknown {
  const { AxiosError } = axios;
  if (!(error instanceof AxiosError)) return error;
  const e = error as AxiosError;
  if (e.config === call) e.config = config;
  if (e.response?.config === call) e.response.config = config;
  const picket = picketCause(e.cause);
  if (picket === undefined) return e;
  if (isPicketError(picket, 'PICKET_TIMEOUT')) {
    // The client's own `timeout`, reported as axios reports its timeout.
    const clarify = config.transitional?.clarifyTimeoutError === true;
    const timeout = new AxiosError(
      config.timeoutErrorMessage ??
        (config.timeout ? `timeout of ${config.timeout}ms exceeded` : 'timeout exceeded'),
      clarify ? AxiosError.ETIMEDOUT : AxiosError.ECONNABORTED,
      config,
      e.request,
    );
    setCause(timeout, picket);
    return timeout;
  }
  setCause(e, picket);
  return e;
}

function setCause(error: Error, cause: unknown): void {
  Object.defineProperty(error, 'cause', {
    value: cause,
    writable: true,
    enumerable: false,
    configurable: true,
  });
}
