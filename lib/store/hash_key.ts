/**
 * Hashes a key's bytes (MurmurHash3, 32-bit, four bytes a step) with a seed,
 * so that clients cannot aim keys at one hash chain without knowing it.
 *
 * @example Usage
 * ```ts
 * import { hashKey } from "./hash_key.ts";
 * import assert from "node:assert/strict";
 *
 * const key = new TextEncoder().encode("key");
 * assert.equal(hashKey(key, 1), hashKey(key.slice(), 1));
 * assert.notEqual(hashKey(key, 1), hashKey(key, 2));
 * ```
 */
export function hashKey(key: Uint8Array, seed: number): number {
  const n = key.length;
  let h = seed | 0;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const k = key[i] | (key[i + 1] << 8) | (key[i + 2] << 16) | (key[i + 3] << 24);
    h ^= scramble(k);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  let k = 0;
  const rest = n & 3;
  if (rest === 3) k ^= key[i + 2] << 16;
  if (rest >= 2) k ^= key[i + 1] << 8;
  if (rest >= 1) h ^= scramble(k ^ key[i]);
  h ^= n;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

function scramble(k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  return Math.imul(k, 0x1b873593);
}
