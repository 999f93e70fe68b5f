/**
 * Store operations: get hits, set (replace) of existing keys, and set of new
 * keys into a full store (each set evicts the least recently used item).
 *
 * @module
 */
import { Store } from "../lib/store.ts";

const N = 100_000;
const keys = Array.from({ length: N }, (_, i) => `key:${String(i).padStart(28, "0")}`);
const value = new Uint8Array(100).fill(0x61);

const store = new Store({ memoryLimit: 1024 * 1024 * 1024 });
for (const key of keys) store.store({ mode: "set", key, value });

let i = 0;
Deno.bench("Store.get hit", { group: "store", baseline: true }, () => {
  store.get(keys[i++ % N]);
});

Deno.bench("Store.get miss", { group: "store" }, () => {
  store.get("missing-key-of-32-bytes-xxxxxxxxx");
});

let j = 0;
Deno.bench("Store.store set (replace)", { group: "store" }, () => {
  store.store({ mode: "set", key: keys[j++ % N], value });
});

// Each item is charged 59 + 32 + 100 bytes: 10,000 of them fill the limit.
const full = new Store({ memoryLimit: 10_000 * 191 });
let k = 0;
for (; k < 10_000; k++) full.store({ mode: "set", key: keys[k % N], value });
Deno.bench("Store.store set that evicts", { group: "store" }, () => {
  full.store({ mode: "set", key: keys[k++ % N], value });
});
