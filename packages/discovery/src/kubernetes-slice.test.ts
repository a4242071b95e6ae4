import { describe, expect, it } from 'vitest';
import { endpointSlice } from '../../../test/servers/kubernetes.ts';
import { joinSlices, sliceRecords } from './kubernetes-slice.ts';

const hosts = (result: ReturnType<typeof sliceRecords>) => result.records.map((r) => r.record.host);

describe('sliceRecords', () => {
  it('keeps ready endpoints, keeps serving-and-terminating ones as draining, and drops the rest', () => {
    const slice = endpointSlice({
      name: 's1',
      endpoints: [
        {
          addresses: ['10.0.0.1'],
          conditions: { ready: true, serving: true, terminating: false },
          zone: 'eu-1a',
        },
        { addresses: ['10.0.0.2'], conditions: { ready: false, serving: true, terminating: true } },
        { addresses: ['10.0.0.3'], conditions: { ready: false, serving: false, terminating: true } },
        { addresses: ['10.0.0.4'], conditions: { ready: false, serving: false, terminating: false } },
        // nil conditions: ready means ready, serving defers to ready, terminating means not.
        { addresses: ['10.0.0.5'], conditions: {} },
        { addresses: ['10.0.0.6'], conditions: { ready: false } },
      ],
    });
    const result = sliceRecords(slice, 'shop', undefined);
    expect(hosts(result)).toEqual(['10.0.0.1', '10.0.0.2', '10.0.0.5']);
    expect(result.invalid).toEqual([]);
    const [ready, draining] = result.records;
    expect(ready?.record).toMatchObject({
      port: 8080,
      zone: 'eu-1a',
      metadata: { namespace: 'shop', slice: 's1', terminating: false },
    });
    expect(ready?.ready).toBe(true);
    expect(draining?.record.metadata).toMatchObject({ ready: false, serving: true, terminating: true });
    expect(draining?.ready).toBe(false);
  });

  it('uses the first of an endpoint’s addresses, which the API calls fungible', () => {
    const slice = endpointSlice({ name: 's', endpoints: [{ addresses: ['10.0.0.1', '10.0.0.9'] }] });
    expect(hosts(sliceRecords(slice, 'ns', undefined))).toEqual(['10.0.0.1']);
  });

  it('chooses the port by name, by number, or the only one, and says why it cannot', () => {
    const ports = [
      { name: 'http', port: 8080, protocol: 'TCP' },
      { name: 'admin', port: 9090, protocol: 'TCP', appProtocol: 'https' },
      { name: 'dns', port: 53, protocol: 'UDP' },
    ];
    const slice = endpointSlice({ name: 'multi', ports, endpoints: [{ addresses: ['10.0.0.1'] }] });
    expect(sliceRecords(slice, 'ns', 'admin').records[0]?.record).toMatchObject({ port: 9090, secure: true });
    expect(sliceRecords(slice, 'ns', 8080).records[0]?.record).toMatchObject({ port: 8080, secure: false });
    expect(sliceRecords(slice, 'ns', 7000).records[0]?.record).toMatchObject({ port: 7000 });
    expect(sliceRecords(slice, 'ns', undefined).invalid[0]?.reason).toBe(
      'EndpointSlice multi has ports http, admin, dns; set `port` to one of their names',
    );
    expect(sliceRecords(slice, 'ns', 'grpc').invalid[0]?.reason).toContain(
      'has no port named "grpc" (it has http, admin, dns)',
    );
    expect(sliceRecords(slice, 'ns', 'dns').invalid[0]?.reason).toContain('port dns is UDP, not TCP');
    const allPorts = endpointSlice({
      name: 'all',
      ports: [{ name: '' }],
      endpoints: [{ addresses: ['10.0.0.1'] }],
    });
    expect(sliceRecords(allPorts, 'ns', undefined).invalid[0]?.reason).toContain('("all ports")');
  });

  it('reads `"endpoints": null` as no endpoints and reports endpoints without addresses', () => {
    const empty = { ...endpointSlice({ name: 'e', endpoints: [] }), endpoints: null };
    expect(sliceRecords(empty, 'ns', undefined)).toEqual({ records: [], invalid: [] });
    const broken = endpointSlice({ name: 'b', endpoints: [{ addresses: [] }, { addresses: ['10.0.0.1'] }] });
    const result = sliceRecords(broken, 'ns', undefined);
    expect(hosts(result)).toEqual(['10.0.0.1']);
    expect(result.invalid[0]?.reason).toBe('EndpointSlice b: an endpoint needs at least one address');
  });
});

describe('joinSlices', () => {
  it('counts an address:port listed in two slices once, preferring the ready copy', () => {
    const a = sliceRecords(
      endpointSlice({
        name: 'a',
        endpoints: [
          { addresses: ['10.0.0.1'], conditions: { ready: false, serving: true, terminating: true } },
        ],
      }),
      'ns',
      undefined,
    );
    const b = sliceRecords(
      endpointSlice({ name: 'b', endpoints: [{ addresses: ['10.0.0.1'] }, { addresses: ['10.0.0.2'] }] }),
      'ns',
      undefined,
    );
    const joined = joinSlices([a.records, b.records]) as { host: string; metadata: { slice: string } }[];
    expect(joined.map((r) => [r.host, r.metadata.slice])).toEqual([
      ['10.0.0.1', 'b'],
      ['10.0.0.2', 'b'],
    ]);
  });
});
