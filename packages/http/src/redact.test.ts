import { describe, expect, it } from 'vitest';
import { errorKind } from './errors.ts';
import { REDACTED, redactHeaders, redactPath, redactUrl } from './redact.ts';

describe('redaction', () => {
  it('hides credential headers in every header shape', () => {
    expect(
      redactHeaders({ Authorization: 'Bearer abc', accept: 'json', 'X-Api-Key': 'k', cookie: 'c' }),
    ).toEqual({
      authorization: REDACTED,
      accept: 'json',
      'x-api-key': REDACTED,
      cookie: REDACTED,
    });
    expect(redactHeaders(['proxy-authorization', 'Basic x', 'x-a', '1'])).toEqual({
      'proxy-authorization': REDACTED,
      'x-a': '1',
    });
    expect(redactHeaders(new Map([['set-cookie', ['a=1']]]))).toEqual({ 'set-cookie': REDACTED });
  });

  it('hides token-like query values and userinfo', () => {
    expect(redactPath('/a?id=1&access_token=s3cret&sig=x')).toBe(
      `/a?id=1&access_token=${REDACTED}&sig=${REDACTED}`,
    );
    const url = redactUrl('http://user:pw@host:81/p?apiKey=zzz&q=1');
    expect(url).not.toContain('pw');
    expect(url).not.toContain('zzz');
    expect(url).toContain('q=1');
  });
});

describe('errorKind', () => {
  it('maps undici and socket codes to the balancer kinds', () => {
    expect(errorKind('ECONNREFUSED')).toBe('connect');
    expect(errorKind('UND_ERR_CONNECT_TIMEOUT')).toBe('connect');
    expect(errorKind('ENOTFOUND')).toBe('connect');
    expect(errorKind('EAI_AGAIN')).toBe('connect');
    expect(errorKind('UND_ERR_HEADERS_TIMEOUT')).toBe('timeout');
    expect(errorKind('UND_ERR_BODY_TIMEOUT')).toBe('timeout');
    expect(errorKind('ECONNRESET')).toBe('reset');
    expect(errorKind('UND_ERR_SOCKET')).toBe('reset');
    expect(errorKind('EWHATEVER')).toBe('other');
    expect(errorKind(undefined)).toBe('other');
  });
});
