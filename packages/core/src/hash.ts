// 32-bit hashing for consistent-hash strategies: MurmurHash3 (x86_32) over UTF-16 code units.
// The strategies call the `…Bits` forms, which return the hash as a signed 32-bit integer: a
// number above 2^31 returned from a call that is not inlined is boxed on the heap, and a pick
// hashes its key every time. `hashString` and `hashKey` give the same bits as unsigned numbers.

/** MurmurHash3 of `text`, as a signed 32-bit integer (`>>> 0` gives `hashString`). */
export function hashStringBits(text: string, seed = 0): number {
  let h = seed >>> 0;
  const n = text.length;
  let i = 0;
  for (; i + 1 < n; i += 2) {
    let k = (text.charCodeAt(i) & 0xffff) | ((text.charCodeAt(i + 1) & 0xffff) << 16);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  if (i < n) {
    let k = text.charCodeAt(i) & 0xffff;
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
  }
  h ^= n * 2;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** MurmurHash3 of `text` as an unsigned 32-bit integer. */
export function hashString(text: string, seed = 0): number {
  return hashStringBits(text, seed) >>> 0;
}

/** `hashKey` as a signed 32-bit integer (`>>> 0` gives `hashKey`). */
export function hashKeyBits(key: string | number): number {
  if (typeof key === 'string') return hashStringBits(key);
  let h = (key | 0) ^ Math.floor(key / 4294967296);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** Hash of a pick key: strings are hashed, numbers are mixed so nearby numbers spread. */
export function hashKey(key: string | number): number {
  return hashKeyBits(key) >>> 0;
}
