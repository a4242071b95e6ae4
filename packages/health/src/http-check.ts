// L7: an HTTP request proves the service works, not just that its port accepts. The status (2xx
// by default) and optionally the body decide; the request is bounded by the caller's deadline.

import type { TlsOptions } from '@picket/core';
import { type Agrees, messageOf, parseWith, tlsSchema } from '@picket/core/internal';
import { z } from 'zod';
import type { CheckResult, HealthCheck } from './check.ts';
import { byteCount, fn, headers, port, positiveMs, requestPath } from './fields.ts';
import { CheckPool } from './http-pool.ts';
import { probe, probeAddress, probeHeaders } from './http-probe.ts';
import { formatMs, withDeadline } from './util.ts';

/** A status code, a list of them, an inclusive range, or a predicate. */
export type ExpectStatus =
  | number
  | readonly number[]
  | { min: number; max: number }
  | ((status: number) => boolean);

/** A substring the body must contain, a RegExp it must match, or a predicate on the parsed JSON. */
export type ExpectBody = string | RegExp | ((json: unknown) => boolean);

export interface HttpCheckOptions {
  /** Path requested, after the instance's base path. Default `'/health'`. */
  path?: string;
  /** Default `'GET'`. */
  method?: 'GET' | 'HEAD' | 'POST' | 'OPTIONS';
  /** Check this port instead of the instance's (a management port). Default: the instance's. */
  port?: number;
  /** Extra request headers (for example a token the health endpoint needs). */
  headers?: Record<string, string>;
  /** Statuses that pass. Default: any 2xx. */
  expectStatus?: ExpectStatus;
  /** What the body must contain or satisfy. Default: the body is not read. */
  expectBody?: ExpectBody;
  /** The check's own deadline, ms; the checker's `timeout` applies as well. Default: only the checker's. */
  timeout?: number;
  /** Largest body read for `expectBody`, bytes. Default 65536. */
  maxBodyBytes?: number;
  /** TLS to `https` instances: pass the client's `tls` (a private CA, a client certificate). */
  tls?: TlsOptions;
}

const statusCode = z
  .number({ error: 'must be a number' })
  .int({ error: 'must be an integer' })
  .min(100, { error: 'must be an HTTP status from 100 to 599' })
  .max(599, { error: 'must be an HTTP status from 100 to 599' });

const schema = z
  .strictObject({
    path: requestPath.default('/health'),
    method: z
      .enum(['GET', 'HEAD', 'POST', 'OPTIONS'], { error: "must be 'GET', 'HEAD', 'POST' or 'OPTIONS'" })
      .default('GET'),
    port: port.optional(),
    headers: headers.default({}),
    expectStatus: z
      .union(
        [
          statusCode,
          z.array(statusCode).min(1, { error: 'must list at least one status' }).readonly(),
          z
            .strictObject({ min: statusCode, max: statusCode })
            .refine((r) => r.min <= r.max, { error: 'must have min ≤ max' }),
          fn<(status: number) => boolean>(),
        ],
        { error: 'must be a status code, a non-empty list of them, { min, max } or a function' },
      )
      .optional(),
    expectBody: z
      .union([z.string(), z.instanceof(RegExp), fn<(json: unknown) => boolean>()], {
        error: 'must be a string, a RegExp or a function',
      })
      .optional(),
    timeout: positiveMs.optional(),
    maxBodyBytes: byteCount.default(65_536),
    tls: tlsSchema.optional(),
  })
  .refine((o) => !(o.method === 'HEAD' && o.expectBody !== undefined), {
    error: 'cannot check the body of a HEAD request; use GET',
    path: ['expectBody'],
  });

interface StatusRule {
  test(status: number): boolean;
  /** Shown after a mismatch; empty for the default, whose meaning is obvious. */
  describe: string;
}

function statusRule(expect: ExpectStatus | undefined): StatusRule {
  if (expect === undefined) return { test: (s) => s >= 200 && s < 300, describe: '' };
  if (typeof expect === 'number') return { test: (s) => s === expect, describe: ` (expected ${expect})` };
  if (typeof expect === 'function')
    return { test: (s) => expect(s) === true, describe: ' (failed expectStatus)' };
  if (Array.isArray(expect)) {
    const list = expect as readonly number[];
    return { test: (s) => list.includes(s), describe: ` (expected ${list.join(' or ')})` };
  }
  const { min, max } = expect as { min: number; max: number };
  return { test: (s) => s >= min && s <= max, describe: ` (expected ${min}–${max})` };
}

/** Why the body fails `expect`, or undefined when it passes. */
function bodyProblem(expect: ExpectBody, body: string): string | undefined {
  if (typeof expect === 'string') {
    return body.includes(expect) ? undefined : `body did not contain ${JSON.stringify(expect)}`;
  }
  if (expect instanceof RegExp) {
    expect.lastIndex = 0; // a /g or /y pattern keeps state between calls
    return expect.test(body) ? undefined : `body did not match ${String(expect)}`;
  }
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return 'body was not JSON';
  }
  try {
    return expect(json) === true ? undefined : 'body failed expectBody';
  } catch (error) {
    return `expectBody threw: ${messageOf(error)}`;
  }
}

/** An L7 check: an HTTP request whose status (and optionally body) decides. */
export function httpCheck(options: HttpCheckOptions = {}): HealthCheck {
  const o = parseWith(schema, options, 'Invalid httpCheck options');
  const rule = statusRule(o.expectStatus as ExpectStatus | undefined);
  const expectBody = o.expectBody as ExpectBody | undefined;
  const pool = new CheckPool(o.tls);
  const request = {
    path: o.path,
    port: o.port,
    method: o.method,
    headers: probeHeaders(o.headers),
    readBody: expectBody !== undefined,
    maxBodyBytes: o.maxBodyBytes,
  };

  return {
    layer: 'l7',
    async run(instance, signal): Promise<CheckResult> {
      const deadline = withDeadline(signal, o.timeout);
      try {
        const got = await probe(pool, instance, request, deadline.signal);
        const where = `${o.method} ${o.path} on ${probeAddress(instance, o.port)}`;
        if (got.kind === 'failed') {
          const took = got.words.startsWith('timed out') ? '' : `, ${formatMs(got.latencyMs)}`;
          return {
            ok: false,
            layer: 'l7',
            reason: `l7: ${got.words} (${where}${took})`,
            latencyMs: got.latencyMs,
          };
        }
        const head = `l7: status ${got.status} from ${o.path} in ${formatMs(got.latencyMs)}`;
        if (!rule.test(got.status)) {
          return { ok: false, layer: 'l7', reason: head + rule.describe, latencyMs: got.latencyMs };
        }
        if (expectBody !== undefined) {
          const problem = got.tooLarge
            ? `body over ${o.maxBodyBytes} bytes`
            : bodyProblem(expectBody, got.body ?? '');
          if (problem !== undefined) {
            return { ok: false, layer: 'l7', reason: `${head}, but ${problem}`, latencyMs: got.latencyMs };
          }
        }
        return { ok: true, layer: 'l7', reason: head, latencyMs: got.latencyMs };
      } finally {
        deadline.dispose();
      }
    },
    close: () => pool.close(),
  };
}

// The documented options are the schema's input, field for field.
true satisfies Agrees<HttpCheckOptions, z.input<typeof schema>>;
