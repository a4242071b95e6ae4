import { isPicketError } from '@picket/core';
import { describe, expect, it } from 'vitest';
import * as health from './index.ts';
import { healthOptionsSchema, parseHealthOptions } from './options.ts';
import { tcpCheck } from './tcp-check.ts';

describe('parseHealthOptions', () => {
  it('fills every default', () => {
    const check = tcpCheck();
    const o = parseHealthOptions({ check });
    expect(o).toMatchObject({
      check,
      interval: 5000,
      unhealthyInterval: 5000,
      transitionInterval: 5000,
      timeout: 2000,
      healthyThreshold: 2,
      unhealthyThreshold: 3,
      jitter: 0.1,
      concurrency: 64,
      source: 'active',
    });
    expect(o.random).toBe(Math.random);
    expect(Object.isFrozen(o)).toBe(true);
  });

  it('accepts its own output, so the same object works alone and inside createClient', () => {
    const once = parseHealthOptions({ check: tcpCheck(), interval: 1000, jitter: 0 });
    expect(parseHealthOptions(once)).toEqual(once);
    expect(healthOptionsSchema.safeParse(once).success).toBe(true);
  });

  it('takes the unhealthy and transition intervals from `interval` unless given', () => {
    expect(parseHealthOptions({ check: tcpCheck(), interval: 1000 })).toMatchObject({
      unhealthyInterval: 1000,
      transitionInterval: 1000,
    });
    expect(
      parseHealthOptions({
        check: tcpCheck(),
        interval: 1000,
        unhealthyInterval: 30_000,
        transitionInterval: 200,
      }),
    ).toMatchObject({ interval: 1000, unhealthyInterval: 30_000, transitionInterval: 200 });
    expect(() =>
      parseHealthOptions({ check: tcpCheck(), unhealthyInterval: 0, transitionInterval: '1s' } as never),
    ).toThrow(
      'Invalid health options: `unhealthyInterval` must be a number of milliseconds from 1 to 2147483647, got 0; ' +
        '`transitionInterval` must be a number of milliseconds from 1 to 2147483647, got "1s"',
    );
  });

  it('keeps zero where zero is allowed (jitter 0 is not the default)', () => {
    expect(parseHealthOptions({ check: tcpCheck(), jitter: 0 }).jitter).toBe(0);
  });

  it('rejects bad options with PICKET_INVALID_OPTIONS naming each field and value', () => {
    let error: unknown;
    try {
      parseHealthOptions({
        check: tcpCheck(),
        interval: -5,
        unhealthyThreshold: 0,
        jitter: 1.5,
        concurrency: 2.5,
      });
    } catch (e) {
      error = e;
    }
    expect(isPicketError(error, 'PICKET_INVALID_OPTIONS')).toBe(true);
    expect((error as Error).message).toBe(
      'Invalid health options: `interval` must be a number of milliseconds from 1 to 2147483647, got -5; ' +
        '`unhealthyThreshold` must be a positive integer, got 0; `jitter` must be a fraction from 0 to 1, got 1.5; ' +
        '`concurrency` must be a positive integer, got 2.5',
    );
  });

  it('words every share alike, in options and load reports: a fraction from 0 to 1', () => {
    const rule = 'must be a fraction from 0 to 1';
    expect(() => parseHealthOptions({ check: tcpCheck(), jitter: -0.1 })).toThrow(
      `\`jitter\` ${rule}, got -0.1`,
    );
    expect(() => parseHealthOptions({ check: tcpCheck(), jitter: '0.1' as never })).toThrow(
      `\`jitter\` ${rule}, got "0.1"`,
    );
    expect(() => health.loadCheck({ max: { eventLoopUtilization: 1.5 } })).toThrow(
      `\`max.eventLoopUtilization\` ${rule}, got 1.5`,
    );
    for (const bad of [1.5, -0.5]) {
      expect(() => health.parseLoadReport({ status: 'up', eventLoopUtilization: bad })).toThrow(
        `Invalid load report: \`eventLoopUtilization\` ${rule}, got ${bad}`,
      );
    }
  });

  it('rejects durations a Node timer cannot hold (they would fire after 1 ms), in Picket’s one rule', () => {
    const cases: [unknown, string][] = [
      [2 ** 31, '2147483648'],
      [Number.POSITIVE_INFINITY, 'Infinity'],
      [Number.NaN, 'NaN'],
      ['5000', '"5000"'],
    ];
    for (const [timeout, shown] of cases) {
      expect(() => parseHealthOptions({ check: tcpCheck(), timeout } as never)).toThrow(
        `Invalid health options: \`timeout\` must be a number of milliseconds from 1 to 2147483647, got ${shown}`,
      );
    }
    expect(parseHealthOptions({ check: tcpCheck(), interval: 2147483647 }).interval).toBe(2147483647);
  });

  it('requires a check, saying what one looks like', () => {
    expect(() => parseHealthOptions({} as never)).toThrow(
      "Invalid health options: `check` is required and must be a health check such as httpCheck({ path: '/health' }) or tcpCheck(), got undefined",
    );
    expect(() => parseHealthOptions({ check: tcpCheck(), intervall: 5 } as never)).toThrow(
      /unknown option `intervall`/,
    );
  });
});

describe('the public surface', () => {
  it('exports exactly the chosen names', () => {
    expect(Object.keys(health).sort()).toEqual(
      [
        'allChecks',
        'createHealthChecker',
        'customCheck',
        'healthOptionsSchema',
        'httpCheck',
        'icmpCheck',
        'loadCheck',
        'loadReportSchema',
        'loadReporter',
        'parseHealthOptions',
        'parseLoadReport',
        'tcpCheck',
        'weightFromReport',
      ].sort(),
    );
  });

  it('parses a load report or throws PICKET_HEALTH_CHECK_FAILED naming the field', () => {
    expect(health.parseLoadReport({ status: 'up' })).toEqual({ status: 'up' });
    expect(() => health.parseLoadReport({ cpu: 0.5 })).toThrow(
      /Invalid load report: `status` is required \('up', 'drain' or 'down'\), got undefined/,
    );
  });
});
