import assert from "node:assert/strict";
import { hashKey } from "../../lib/store/hash_key.ts";

Deno.test("hashKey depends on every byte, the length and the seed, and spreads keys", () => {
  const key = new Uint8Array(37).map((_, i) => i * 7);
  const base = hashKey(key, 1);
  for (let i = 0; i < key.length; i++) {
    const changed = key.slice();
    changed[i] ^= 1;
    assert.notEqual(hashKey(changed, 1), base, `byte ${i}`);
  }
  assert.notEqual(hashKey(key.subarray(0, 36), 1), base);
  assert.notEqual(hashKey(key, 2), base);
  assert.equal(hashKey(key.slice(), 1), base);
  // Sequential keys fill 1024 buckets evenly enough.
  const buckets = new Uint32Array(1024);
  const text = new TextEncoder();
  for (let i = 0; i < 100_000; i++) buckets[hashKey(text.encode(`key:${i}`), 9) & 1023]++;
  assert.ok(Math.max(...buckets) < 160, `fullest bucket ${Math.max(...buckets)}`);
});
