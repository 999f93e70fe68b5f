/**
 * MurmurHash3 x86 32-bit with seed 0 over a byte string (one char per byte),
 * as memcached 1.6 hashes with its default `hash_algorithm murmur3`.
 *
 * @example Usage
 * ```ts
 * import { murmur3 } from "./murmur3.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(murmur3(""), 0);
 * assert.equal(murmur3("hello"), 0x248bfa47);
 * ```
 */
export function murmur3(key: string): number {
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  const length = key.length;
  const blocks = length & ~3;
  let h = 0;
  for (let i = 0; i < blocks; i += 4) {
    let k = key.charCodeAt(i) | (key.charCodeAt(i + 1) << 8) | (key.charCodeAt(i + 2) << 16) |
      (key.charCodeAt(i + 3) << 24);
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const tail = length & 3;
  if (tail !== 0) {
    let k = key.charCodeAt(blocks);
    if (tail > 1) k ^= key.charCodeAt(blocks + 1) << 8;
    if (tail > 2) k ^= key.charCodeAt(blocks + 2) << 16;
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
  }
  h ^= length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
