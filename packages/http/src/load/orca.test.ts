import { describe, expect, it } from 'vitest';
import { parseLoadMetrics, readLoadReport } from './orca.ts';

/** An OrcaLoadReport in protobuf, built by hand: doubles by field number, named metrics as map entries. */
function protobuf(doubles: Record<number, number>, named: Record<string, number> = {}): string {
  const parts: Buffer[] = [];
  for (const [field, value] of Object.entries(doubles)) {
    const b = Buffer.alloc(9);
    b[0] = (Number(field) << 3) | 1;
    b.writeDoubleLE(value, 1);
    parts.push(b);
  }
  for (const [name, value] of Object.entries(named)) {
    const key = Buffer.from(name);
    const entry = Buffer.concat([Buffer.from([0x0a, key.length]), key, Buffer.from([0x11]), Buffer.alloc(8)]);
    entry.writeDoubleLE(value, entry.length - 8);
    parts.push(Buffer.from([(8 << 3) | 2, entry.length]), entry);
  }
  return Buffer.concat(parts).toString('base64');
}

describe('in-band load reports (ORCA)', () => {
  it('reads the TEXT form, named metrics included, ignoring figures it does not know', () => {
    expect(
      parseLoadMetrics(
        'TEXT cpu_utilization=0.31, mem_utilization=0.42, application_utilization=0.5, rps_fractional=120.5, eps=2, named_metrics.event_loop_delay_ms=3.5, named_metrics.in_flight=4, utilization.x=1',
      ),
    ).toEqual({
      cpuUtilization: 0.31,
      memUtilization: 0.42,
      applicationUtilization: 0.5,
      rps: 120.5,
      eps: 2,
      named: { event_loop_delay_ms: 3.5, in_flight: 4 },
    });
  });

  it('reads the JSON form, prefixed or bare, and the -json header', () => {
    const json = '{"cpu_utilization":0.2,"rps_fractional":10,"named_metrics":{"in_flight":3}}';
    const expected = { cpuUtilization: 0.2, rps: 10, named: { in_flight: 3 } };
    expect(parseLoadMetrics(`JSON ${json}`)).toEqual(expected);
    expect(parseLoadMetrics(json)).toEqual(expected);
    expect(readLoadReport({ 'endpoint-load-metrics-json': json })).toEqual(expected);
  });

  it('decodes the OrcaLoadReport protobuf of the -bin header', () => {
    const bin = protobuf({ 1: 0.75, 2: 0.5, 6: 42, 7: 1.5, 9: 0.6 }, { in_flight: 7 });
    expect(readLoadReport({ 'endpoint-load-metrics-bin': bin })).toEqual({
      cpuUtilization: 0.75,
      memUtilization: 0.5,
      rps: 42,
      eps: 1.5,
      applicationUtilization: 0.6,
      named: { in_flight: 7 },
    });
  });

  it('tells a missing report (undefined) from an unreadable one (null)', () => {
    expect(readLoadReport({})).toBeUndefined();
    for (const bad of [
      'TEXT cpu_utilization=abc',
      'TEXT cpu_utilization',
      'XML <a/>',
      'JSON {',
      'JSON [1]',
      'TEXT eps=-1',
    ])
      expect(parseLoadMetrics(bad), bad).toBeNull();
    expect(
      readLoadReport({ 'endpoint-load-metrics-bin': Buffer.from([0x09, 1, 2]).toString('base64') }),
    ).toBeNull();
  });
});
