// axiosAdapter(client): axios on Picket, for `axios.create({ adapter: axiosAdapter(client) })`.
// It behaves as axios's own Node adapter does where users can tell (validateStatus and settle,
// error codes, responseType, timeout, signal and cancelToken, headers, decompression), but
// sends through the client: picked instance, retries, breakers. axios is an optional peer: only
// its types are imported here; its classes come from the calling axios at run time.

import { Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { isPicketError } from '@picket/core';
import type { AxiosAdapter, AxiosResponse, AxiosStatic, InternalAxiosRequestConfig } from 'axios';
import type { Dispatcher } from 'undici';
import type { Client } from './client.ts';
import { serviceUrl } from './fronts/target.ts';
import { redactUrl } from './redact.ts';

export interface AxiosAdapterOptions {
  /** The axios module to take AxiosError, AxiosHeaders and CanceledError from. Default `import('axios')`. */
  axios?: AxiosStatic;
}

type AxiosRuntime = Pick<AxiosStatic, 'AxiosError' | 'AxiosHeaders' | 'CanceledError' | 'getUri' | 'VERSION'>;

let loaded: Promise<AxiosRuntime> | undefined;
function loadAxios(): Promise<AxiosRuntime> {
  loaded ??= import('axios').then((m) => (m.default ?? m) as AxiosRuntime);
  return loaded;
}

// Our own abort reasons, told apart from the caller's.
class TimeoutAbort extends Error {}

interface RequestInfo {
  method: string;
  url: string;
}

async function requestBody(data: unknown): Promise<Dispatcher.DispatchOptions['body']> {
  if (data === undefined || data === null) return null;
  if (typeof data === 'string' || Buffer.isBuffer(data) || data instanceof Uint8Array) return data as never;
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (data instanceof URLSearchParams) return data.toString();
  if (typeof Blob !== 'undefined' && data instanceof Blob) return Buffer.from(await data.arrayBuffer());
  if (data instanceof Readable || typeof (data as { pipe?: unknown }).pipe === 'function')
    return data as Readable;
  if (typeof FormData !== 'undefined' && data instanceof FormData) return data as never;
  return JSON.stringify(data);
}

function requestHeaders(
  config: InternalAxiosRequestConfig,
  axios: AxiosRuntime,
  url: URL,
): Record<string, string> {
  const headers = axios.AxiosHeaders.from(config.headers as never);
  // `auth`, or else credentials in the URL, become basic auth, as in axios's Node adapter.
  const auth =
    config.auth ??
    (url.username === ''
      ? undefined
      : { username: decodeURIComponent(url.username), password: decodeURIComponent(url.password) });
  if (auth !== undefined) {
    const { username = '', password = '' } = auth;
    headers.set('Authorization', `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`);
  }
  if (config.decompress !== false) headers.set('Accept-Encoding', 'gzip, deflate, br', false);
  headers.set('User-Agent', `axios/${axios.VERSION}`, false);
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers.toJSON(true))) {
    if (value !== undefined && value !== null && (value as unknown) !== false) out[name] = String(value);
  }
  return out;
}

function decoded(body: Readable, headers: Record<string, unknown>, method: string, status: number): Readable {
  const encoding = String(headers['content-encoding'] ?? '').toLowerCase();
  if (method === 'HEAD' || status === 204 || encoding === '') return body;
  const decoder =
    encoding === 'gzip' || encoding === 'x-gzip'
      ? createGunzip()
      : encoding === 'deflate'
        ? createInflate()
        : encoding === 'br'
          ? createBrotliDecompress()
          : undefined;
  if (decoder === undefined) return body;
  delete headers['content-encoding'];
  delete headers['content-length'];
  body.on('error', (error) => decoder.destroy(error));
  return body.pipe(decoder);
}

async function readAll(stream: Readable, limit: number, onTooLarge: () => Error): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    total += (chunk as Buffer).length;
    if (limit > -1 && total > limit) {
      stream.destroy();
      throw onTooLarge();
    }
    chunks.push(chunk as Buffer);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

/** An axios adapter that sends every request through `client`. */
export function axiosAdapter(
  client: Pick<Client, 'request' | 'service'>,
  options: AxiosAdapterOptions = {},
): AxiosAdapter {
  return async function picketAdapter(config: InternalAxiosRequestConfig): Promise<AxiosResponse> {
    const axios: AxiosRuntime = options.axios ?? (await loadAxios());
    const { AxiosError, CanceledError } = axios;
    const url = new URL(axios.getUri(config), `http://${client.service}`);
    const method = (config.method ?? 'get').toUpperCase();
    const request: RequestInfo = { method, url: redactUrl(url.href) };
    try {
      // A URL of another host is not this service's: refused, never sent to its instances.
      serviceUrl(client.service, url);
    } catch (error) {
      const e = new AxiosError((error as Error).message, AxiosError.ERR_INVALID_URL, config, request);
      (e as { cause?: unknown }).cause = error;
      throw e;
    }
    const transitional = config.transitional;
    const timeoutError = () =>
      new AxiosError(
        config.timeoutErrorMessage ??
          (config.timeout ? `timeout of ${config.timeout}ms exceeded` : 'timeout exceeded'),
        transitional?.clarifyTimeoutError === true ? AxiosError.ETIMEDOUT : AxiosError.ECONNABORTED,
        config,
        request,
      );
    const canceled = () => new CanceledError(undefined, config, request);

    const controller = new AbortController();
    const userSignal = config.signal as AbortSignal | undefined;
    if (userSignal?.aborted === true) throw canceled();
    const onAbort = () => controller.abort(userSignal?.reason);
    userSignal?.addEventListener?.('abort', onAbort, { once: true });
    const unsubscribeToken =
      config.cancelToken === undefined ? undefined : () => config.cancelToken?.unsubscribe(onCancel);
    const onCancel = () => controller.abort();
    config.cancelToken?.subscribe(onCancel);
    const timeoutMs = Number(config.timeout ?? 0);
    const timer =
      timeoutMs > 0
        ? setTimeout(() => controller.abort(new TimeoutAbort('timeout')), timeoutMs).unref()
        : undefined;
    const cleanup = () => {
      if (timer !== undefined) clearTimeout(timer);
      userSignal?.removeEventListener?.('abort', onAbort);
      unsubscribeToken?.();
    };
    const translate = (error: unknown, response?: AxiosResponse) => {
      if (controller.signal.aborted) {
        return controller.signal.reason instanceof TimeoutAbort ? timeoutError() : canceled();
      }
      if (error instanceof AxiosError) return error;
      if (isPicketError(error, 'PICKET_TIMEOUT')) {
        const e = timeoutError();
        (e as { cause?: unknown }).cause = error;
        return e;
      }
      const message = error instanceof Error ? error.message : String(error);
      const e = new AxiosError(message, AxiosError.ERR_NETWORK, config, request, response);
      (e as { cause?: unknown }).cause = error;
      return e;
    };

    let res: Dispatcher.ResponseData;
    try {
      res = await client.request({
        path: url.pathname + url.search,
        method: method as Dispatcher.HttpMethod,
        headers: requestHeaders(config, axios, url),
        body: await requestBody(config.data),
        signal: controller.signal,
      });
    } catch (error) {
      cleanup();
      throw translate(error);
    }

    const headers = { ...res.headers } as Record<string, unknown>;
    const body = config.decompress === false ? res.body : decoded(res.body, headers, method, res.statusCode);
    const response: AxiosResponse = {
      status: res.statusCode,
      statusText: res.statusText ?? '',
      headers: new axios.AxiosHeaders(headers as never),
      config,
      request,
      data: undefined,
    };
    const maxContentLength = config.maxContentLength ?? -1;
    const tooLarge = () =>
      new AxiosError(
        `maxContentLength size of ${maxContentLength} exceeded`,
        AxiosError.ERR_BAD_RESPONSE,
        config,
        request,
      );
    try {
      if (config.responseType === 'stream') {
        response.data = body;
        body.once('close', cleanup);
      } else {
        const buffer = await readAll(body, maxContentLength, tooLarge);
        cleanup();
        response.data =
          config.responseType === 'arraybuffer'
            ? buffer
            : buffer
                .toString((config.responseEncoding as BufferEncoding | undefined) ?? 'utf8')
                .replace(/^\uFEFF/, '');
      }
    } catch (error) {
      cleanup();
      throw translate(error, response);
    }
    // settle(), as axios's adapters do.
    const validate = config.validateStatus;
    if (!response.status || validate === null || validate === undefined || validate(response.status))
      return response;
    throw new AxiosError(
      `Request failed with status code ${response.status}`,
      response.status >= 400 && response.status < 500
        ? AxiosError.ERR_BAD_REQUEST
        : AxiosError.ERR_BAD_RESPONSE,
      config,
      request,
      response,
    );
  };
}
