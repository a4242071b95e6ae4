import { describe, expect, it } from 'vitest';
import { redact, redactValue } from './redact.ts';

describe('redact', () => {
  it('masks URL userinfo and named secrets', () => {
    expect(redact('GET http://root:hunter2@etcd:2379/v3 failed: token abc123', ['abc123'])).toBe(
      'GET http://[redacted]@etcd:2379/v3 failed: token [redacted]',
    );
  });
});

describe('redactValue', () => {
  it('masks credentials in strings and anywhere inside records', () => {
    expect(redactValue('http://u:p@h:1')).toBe('http://[redacted]@h:1');
    const record = { url: 'http://user:secret@10.0.0.1:80', metadata: { note: 'key "s3cr\\et"' } };
    const safe = redactValue(record, ['s3cr\\et']);
    expect(JSON.stringify(safe)).not.toMatch(/secret|s3cr/);
    expect(safe).toEqual({ url: 'http://[redacted]@10.0.0.1:80', metadata: { note: 'key "[redacted]"' } });
    expect(record.url).toContain('secret');
  });

  it('passes other values through and names records it cannot copy', () => {
    expect(redactValue(42)).toBe(42);
    expect(redactValue(null)).toBe(null);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(redactValue(cyclic)).toBe('[unserializable object]');
  });
});
