/**
 * The store alone, one thread: get hit (value copied out, or metadata only)
 * and miss, set (replace), set that evicts (100,000 items, 32-byte keys,
 * 100-byte values), and a multi-get of 50 keys with 1 KiB values.
 *
 * @module
 */
import { ByteArena } from "../lib/byte_arena.ts";
import { Store } from "../lib/store/store.ts";

const N = 100_000;
const NOW = Math.floor(Date.now() / 1000);
const keys = Array.from({ length: N }, (_, i) => `key:${String(i).padStart(28, "0")}`);
const keyBytes = keys.map((k) => new TextEncoder().encode(k));
const value = new Uint8Array(100).fill(0x61);
const missing = new TextEncoder().encode("missing-key-of-32-bytes-xxxxxxxxx");

const store = Store.create({ now: NOW, memoryLimit: 1024 * 1024 * 1024 });
for (const key of keyBytes) store.set(key, value, { now: NOW });
const arena = new ByteArena();

let i = 0;
Deno.bench("get hit, value copied", { group: "get hit", baseline: true }, () => {
  if ((i & 511) === 0) arena.release(arena.seal());
  store.get(keyBytes[i++ % N], { now: NOW, into: arena });
});
Deno.bench("get hit, metadata only", { group: "get hit" }, () => {
  store.get(keyBytes[i++ % N], { now: NOW });
});

Deno.bench("get miss", { group: "get miss", baseline: true }, () => {
  store.get(missing, { now: NOW });
});

let j = 0;
Deno.bench("set (replace)", { group: "set", baseline: true }, () => {
  store.set(keyBytes[j++ % N], value, { now: NOW });
});

// Each item is charged 59 + 32 + 100 bytes: 10,000 of them fill the limit.
const full = Store.create({ now: NOW, memoryLimit: 10_000 * 191 });
let k = 0;
for (; k < 10_000; k++) {
  full.set(keyBytes[k % N], value, { now: NOW });
}
Deno.bench("set that evicts", { group: "evict", baseline: true }, () => {
  full.set(keyBytes[k++ % N], value, { now: NOW });
});

// A multi-get of 50 keys with 1 KiB values (memcaslap's bin-mget/txt-mget
// shape): copying every value out under the lock, against only reading the
// metadata (what a zero-copy reply that pointed into shared memory would do
// under the lock).
const MGET = 50;
const bigValue = new Uint8Array(1024).fill(0x62);
const mgetNew = Store.create({ now: NOW, memoryLimit: 1024 * 1024 * 1024 });
for (let n = 0; n < 10_000; n++) {
  mgetNew.set(keyBytes[n], bigValue, { now: NOW });
}
let m = 0;
Deno.bench("50 gets, values copied", { group: "multi-get", baseline: true }, () => {
  arena.release(arena.seal());
  for (let n = 0; n < MGET; n++) mgetNew.get(keyBytes[m++ % 10_000], { now: NOW, into: arena });
});
Deno.bench("50 gets, metadata only", { group: "multi-get" }, () => {
  for (let n = 0; n < MGET; n++) mgetNew.get(keyBytes[m++ % 10_000], { now: NOW });
});
