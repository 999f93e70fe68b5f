/**
 * The shared-memory store against the old single-thread store, one thread:
 * get hit and miss, set (replace), set that evicts. Same items as
 * `store_bench.ts` (100,000 items, 32-byte keys, 100-byte values).
 *
 * The old store takes keys as strings: "old, key from bytes" also builds the
 * string from the request bytes, as the server must for it today.
 *
 * @module
 */
import { ByteArena } from "../lib/byte_arena.ts";
import { Store as OldStore } from "../lib/store.ts";
import { Store } from "../lib/store/store.ts";

const N = 100_000;
const NOW = Math.floor(Date.now() / 1000);
const keys = Array.from({ length: N }, (_, i) => `key:${String(i).padStart(28, "0")}`);
const keyBytes = keys.map((k) => new TextEncoder().encode(k));
const value = new Uint8Array(100).fill(0x61);
const missing = new TextEncoder().encode("missing-key-of-32-bytes-xxxxxxxxx");

const old = new OldStore({ memoryLimit: 1024 * 1024 * 1024 });
for (const key of keys) old.store("set", key, value, 0, 0);
const store = Store.create({ now: NOW, memoryLimit: 1024 * 1024 * 1024 });
for (const key of keyBytes) store.set(key, value, { now: NOW });
const arena = new ByteArena();

/** A key string from bytes, one char per byte (what the text/binary paths do today). */
function keyString(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
  return s;
}

let i = 0;
Deno.bench("old: get hit", { group: "get hit", baseline: true }, () => {
  old.get(keys[i++ % N]);
});
Deno.bench("old: get hit, key from bytes", { group: "get hit" }, () => {
  old.get(keyString(keyBytes[i++ % N]));
});
Deno.bench("new: get hit, value copied", { group: "get hit" }, () => {
  if ((i & 511) === 0) arena.reset();
  store.get(keyBytes[i++ % N], { now: NOW, into: arena });
});
Deno.bench("new: get hit, metadata only", { group: "get hit" }, () => {
  store.get(keyBytes[i++ % N], { now: NOW });
});

Deno.bench("old: get miss", { group: "get miss", baseline: true }, () => {
  old.get("missing-key-of-32-bytes-xxxxxxxxx");
});
Deno.bench("new: get miss", { group: "get miss" }, () => {
  store.get(missing, { now: NOW });
});

let j = 0;
Deno.bench("old: set (replace)", { group: "set", baseline: true }, () => {
  old.store("set", keys[j++ % N], value, 0, 0);
});
Deno.bench("new: set (replace)", { group: "set" }, () => {
  store.set(keyBytes[j++ % N], value, { now: NOW });
});

// Each item is charged 59 + 32 + 100 bytes: 10,000 of them fill the limit.
const oldFull = new OldStore({ memoryLimit: 10_000 * 191 });
const full = Store.create({ now: NOW, memoryLimit: 10_000 * 191 });
let k = 0;
for (; k < 10_000; k++) {
  oldFull.store("set", keys[k % N], value, 0, 0);
  full.set(keyBytes[k % N], value, { now: NOW });
}
let k2 = k;
Deno.bench("old: set that evicts", { group: "evict", baseline: true }, () => {
  oldFull.store("set", keys[k++ % N], value, 0, 0);
});
Deno.bench("new: set that evicts", { group: "evict" }, () => {
  full.set(keyBytes[k2++ % N], value, { now: NOW });
});

// A multi-get of 50 keys with 1 KiB values (memcaslap's bin-mget/txt-mget
// shape): copying every value out under the lock, against only reading the
// metadata (what a zero-copy reply that pointed into shared memory would do
// under the lock), against the old store (views into its slabs).
const MGET = 50;
const bigValue = new Uint8Array(1024).fill(0x62);
const mgetOld = new OldStore({ memoryLimit: 1024 * 1024 * 1024 });
const mgetNew = Store.create({ now: NOW, memoryLimit: 1024 * 1024 * 1024 });
for (let n = 0; n < 10_000; n++) {
  mgetOld.store("set", keys[n], bigValue, 0, 0);
  mgetNew.set(keyBytes[n], bigValue, { now: NOW });
}
let m = 0;
Deno.bench("old: 50 gets (value views)", { group: "multi-get", baseline: true }, () => {
  for (let n = 0; n < MGET; n++) mgetOld.get(keys[m++ % 10_000]);
});
Deno.bench("new: 50 gets, values copied", { group: "multi-get" }, () => {
  arena.reset();
  for (let n = 0; n < MGET; n++) mgetNew.get(keyBytes[m++ % 10_000], { now: NOW, into: arena });
});
Deno.bench("new: 50 gets, metadata only", { group: "multi-get" }, () => {
  for (let n = 0; n < MGET; n++) mgetNew.get(keyBytes[m++ % 10_000], { now: NOW });
});
