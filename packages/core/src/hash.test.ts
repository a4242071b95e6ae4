import { describe, expect, it } from 'vitest';
import { hashKey, hashKeyBits, hashString, hashStringBits } from './hash.ts';

describe('hashes', () => {
  it('give the same bits signed (for the hot path) and unsigned (the public form)', () => {
    expect(hashString('user-1')).toBe(2429978192);
    expect(hashString('http://127.0.0.1:8001', 3)).toBe(1149695468);
    expect(hashKey(12345)).toBe(1011272156);
    expect(hashKey(2 ** 40 + 7)).toBe(1624314051);
    for (const key of ['user-1', 'a', '', 12345, 2 ** 40 + 7, -3]) {
      expect(hashKeyBits(key) >>> 0).toBe(hashKey(key));
      expect(hashKeyBits(key) | 0).toBe(hashKeyBits(key));
    }
    expect(hashStringBits('user-1', 9) >>> 0).toBe(hashString('user-1', 9));
  });
});
