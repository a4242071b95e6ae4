import { describe, expect, it } from 'vitest';
import { describeSpec, discoveryFor, parseDiscoverySpec } from '../../src/cli/spec.ts';
import { UsageError } from '../../src/cli/usage.ts';

function rejects(spec: string, message: RegExp): void {
  let error: unknown;
  try {
    parseDiscoverySpec(spec);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(UsageError);
  expect((error as Error).message).toMatch(/^Invalid `--discovery` /);
  expect((error as Error).message).toMatch(message);
}

describe('parseDiscoverySpec', () => {
  it('reads a comma-separated list of URLs, ignoring spaces and empty items', () => {
    expect(parseDiscoverySpec(' http://10.0.0.1:8001, https://b.internal:8443,')).toEqual({
      kind: 'list',
      urls: ['http://10.0.0.1:8001', 'https://b.internal:8443'],
    });
  });

  it('names the position of an invalid URL in a list', () => {
    rejects('http://a:1,http://b:99999', /URL 2 \("http:\/\/b:99999"\)/);
    rejects('http://a:1,ftp://b:2', /URL 2/);
  });

  it('rejects a list that names one instance twice', () => {
    rejects('http://a:1,http://a:1/', /listed twice/);
  });

  it('reads dns:NAME:PORT with an optional DNS server', () => {
    expect(parseDiscoverySpec('dns:inventory.internal:8080')).toEqual({
      kind: 'dns',
      hostname: 'inventory.internal',
      port: 8080,
      server: undefined,
    });
    expect(parseDiscoverySpec('dns:inventory.picket.test:80@127.0.0.1:5353')).toMatchObject({
      hostname: 'inventory.picket.test',
      port: 80,
      server: '127.0.0.1:5353',
    });
    expect(parseDiscoverySpec('dns:x:1@[::1]:53')).toMatchObject({ server: '[::1]:53' });
  });

  it('explains what is wrong with a dns spec', () => {
    rejects('dns:inventory', /expected dns:NAME:PORT/);
    rejects('dns:inventory:http', /port from 1 to 65535, got "http"/);
    rejects('dns:inventory:70000', /port from 1 to 65535/);
    rejects('dns:bad name:80', /"bad name" is not a DNS name/);
    rejects('dns:inventory:80@dns.example', /must be an IP address/);
    rejects('dns:inventory:80@127.0.0.1:0', /DNS server port/);
  });

  it('reads srv:_SERVICE._PROTO.NAME with an optional DNS server', () => {
    expect(parseDiscoverySpec('srv:_http._tcp.inventory.internal@10.0.0.2')).toEqual({
      kind: 'srv',
      name: '_http._tcp.inventory.internal',
      server: '10.0.0.2',
    });
    rejects(
      'srv:inventory.internal',
      /starts with the service label, such as _http\._tcp\.inventory\.internal/,
    );
    rejects('srv:', /expected srv:_SERVICE\._PROTO\.NAME/);
  });

  it('reads etcd:URL, whose path is the key prefix', () => {
    expect(parseDiscoverySpec('etcd:http://127.0.0.1:2379/services/inventory/')).toEqual({
      kind: 'etcd',
      endpoint: 'http://127.0.0.1:2379',
      prefix: '/services/inventory/',
    });
    rejects('etcd:http://127.0.0.1:2379', /the key prefix and is missing/);
    rejects('etcd:ftp://127.0.0.1:2379/x/', /must be http:\/\/ or https:\/\/, got ftp:/);
    rejects('etcd:127.0.0.1:2379/x/', /expected etcd:http:\/\/HOST:PORT\/PREFIX\//);
    rejects('etcd:not a url', /expected etcd:http:\/\/HOST:PORT\/PREFIX\//);
    rejects('etcd:http://user:secret@127.0.0.1:2379/x/', /credentials/);
  });

  it('reads file:PATH and file:///absolute/path', () => {
    expect(parseDiscoverySpec('file:./instances.json')).toEqual({ kind: 'file', path: './instances.json' });
    expect(parseDiscoverySpec('file:///etc/picket/inventory.yaml')).toEqual({
      kind: 'file',
      path: '/etc/picket/inventory.yaml',
    });
    rejects('file:', /expected file:PATH/);
  });

  it('lists the accepted forms for anything else', () => {
    rejects('consul:inventory', /expected one of:[\s\S]*dns:NAME:PORT[\s\S]*file:PATH/);
    rejects('', /expected one of/);
    rejects('127.0.0.1:8080', /expected one of/);
  });
});

describe('discoveryFor', () => {
  it('passes a list on as is and builds a provider for the others, without starting it', () => {
    expect(discoveryFor(parseDiscoverySpec('http://a:1,http://b:2'))).toEqual(['http://a:1', 'http://b:2']);
    const names = [
      'dns:inventory.test:8080',
      'srv:_http._tcp.inventory.test',
      'etcd:http://127.0.0.1:2379/s/',
      'file:x.json',
    ].map((spec) => (discoveryFor(parseDiscoverySpec(spec)) as { name: string }).name);
    expect(names[0]).toBe('dns:inventory.test:8080');
    expect(names[1]).toBe('dns-srv:_http._tcp.inventory.test');
    expect(names[2]).toBe('etcd:/s/');
    expect(names[3]).toMatch(/^file:.*x\.json$/);
  });

  it('describes each spec in one line', () => {
    expect(describeSpec(parseDiscoverySpec('http://a:1,http://b:2'))).toBe('static list of 2');
    expect(describeSpec(parseDiscoverySpec('dns:inv.test:80@127.0.0.1:53'))).toBe(
      'DNS inv.test port 80 via 127.0.0.1:53',
    );
  });
});
