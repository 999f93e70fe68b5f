import assert from "node:assert/strict";
import { Store } from "../lib/store.ts";

const MiB = 1024 * 1024;

function bytes(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

function text(value: Uint8Array | undefined): string | undefined {
  return value === undefined ? undefined : new TextDecoder().decode(value);
}

/** A deterministic pseudo-random generator (xorshift32). */
function random(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x1_0000_0000;
  };
}

/** A value whose bytes name its key and version, `length` bytes long. */
function valueFor(key: string, version: number, length: number): Uint8Array {
  const tag = `${key}#${version};`;
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = tag.charCodeAt(i % tag.length);
  return out;
}

Deno.test("Store keeps every key's bytes apart through churn, compaction and large items", () => {
  const next = random(42);
  const store = new Store({ memoryLimit: 1024 * MiB, maxItemSize: 2 * MiB });
  const model = new Map<string, Uint8Array>();
  const held: [Uint8Array, Uint8Array][] = []; // views handed out, with a copy of their bytes
  let version = 0;
  for (let step = 0; step < 60_000; step++) {
    const key = `k${Math.floor(next() * 2000)}`;
    const r = next();
    if (r < 0.5) {
      const large = next() < 0.01;
      const length = large ? 300_000 + Math.floor(next() * 400_000) : Math.floor(next() * 600);
      const value = valueFor(key, ++version, length);
      assert.equal(store.store({ mode: "set", key, value, flags: 7 }).status, "stored");
      model.set(key, value);
    } else if (r < 0.6) {
      const extra = valueFor(key, ++version, Math.floor(next() * 50));
      const mode = next() < 0.5 ? "append" : "prepend";
      const status = store.store({ mode, key, value: extra }).status;
      const old = model.get(key);
      assert.equal(status, old ? "stored" : "not_stored");
      if (old) {
        const joined = new Uint8Array(old.length + extra.length);
        joined.set(mode === "append" ? old : extra);
        joined.set(mode === "append" ? extra : old, mode === "append" ? old.length : extra.length);
        model.set(key, joined);
      }
    } else if (r < 0.7) {
      assert.equal(store.delete(key), model.delete(key) ? "deleted" : "not_found");
    } else {
      const item = store.get(key);
      assert.deepEqual(item?.value, model.get(key), `value of ${key} at step ${step}`);
      if (item && held.length < 500 && next() < 0.05) held.push([item.value, item.value.slice()]);
    }
  }
  assert.equal(store.size, model.size);
  for (const [key, value] of model) assert.deepEqual(store.peek(key)?.value, value, key);
  // Views handed out earlier still show the bytes they showed then.
  for (const [view, copy] of held) assert.deepEqual(view, copy);
  // Dead records were compacted away: slab memory stays near the live data.
  let live = 0;
  for (const [key, item] of store.entries()) live += key.length + item.value.length + 8;
  assert.ok(store.slabBytes <= live / 0.75 + 4 * MiB, `${store.slabBytes} slab bytes for ${live}`);
});

Deno.test("Store holds its slab memory near the limit while evicting", () => {
  const store = new Store({ memoryLimit: 8 * MiB });
  const next = random(7);
  for (let i = 0; i < 200_000; i++) {
    const key = `key:${i}`;
    store.store({ mode: "set", key, value: valueFor(key, i, 50 + Math.floor(next() * 200)) });
    if (i % 3 === 0) store.get(`key:${Math.floor(next() * i)}`);
  }
  assert.ok(store.bytes <= 8 * MiB);
  assert.ok(store.counters.evictions > 0);
  assert.ok(store.slabBytes <= 8 * MiB / 0.75 + 2 * MiB, `${store.slabBytes} slab bytes`);
  for (const [key, item] of store.entries()) {
    assert.deepEqual(item.value, valueFor(key, Number(key.slice(4)), item.value.length));
  }
});

Deno.test("Store evicts least recently used items first", () => {
  let now = 1_700_000_000_000;
  const store = new Store({ memoryLimit: 10 * 200, clock: () => now });
  const value = new Uint8Array(100);
  for (let i = 0; i < 10; i++) store.store({ mode: "set", key: `key${i}`, value });
  now += 61_000; // past the LRU bump interval
  store.get("key0");
  for (let i = 10; i < 13; i++) store.store({ mode: "set", key: `key${i}`, value });
  assert.ok(store.peek("key0"), "recently read item survives");
  assert.equal(store.peek("key1"), undefined);
  assert.equal(store.counters.evictions, store.counters.total_items - store.size);
});

Deno.test("Store answers out of memory instead of evicting when told not to", () => {
  const store = new Store({ memoryLimit: 1000, evict: false });
  const value = new Uint8Array(300);
  assert.equal(store.store({ mode: "set", key: "a", value }).status, "stored");
  assert.equal(store.store({ mode: "set", key: "b", value }).status, "stored");
  assert.equal(store.store({ mode: "set", key: "c", value }).status, "no_memory");
  assert.ok(store.peek("a") && store.peek("b"));
});

Deno.test("Store gives each stored version a new CAS and checks it", () => {
  const store = new Store();
  const first = store.store({ mode: "set", key: "k", value: bytes("1") }).item!;
  assert.equal(
    store.store({ mode: "cas", key: "k", value: bytes("2"), cas: first.cas + 1 }).status,
    "exists",
  );
  const second = store.store({ mode: "cas", key: "k", value: bytes("2"), cas: first.cas }).item!;
  assert.ok(second.cas > first.cas);
  assert.equal(
    store.store({ mode: "cas", key: "nope", value: bytes("2"), cas: 1 }).status,
    "not_found",
  );
  assert.equal(text(store.get("k")?.value), "2");
  assert.equal(store.lastCas, second.cas);
});

Deno.test("Store applies incr and decr as unsigned 64-bit, padding in place", () => {
  const store = new Store();
  store.store({ mode: "set", key: "n", value: bytes("100") });
  assert.equal(store.delta({ key: "n", op: "decr", amount: 95n }).value, 5n);
  assert.equal(text(store.get("n")?.value), "5  ");
  assert.equal(text(store.get("n")?.value.subarray(0, 1)), "5");
  store.delta({ key: "n", op: "decr", amount: 1n, heldElsewhere: () => true });
  assert.equal(text(store.get("n")?.value), "4");
  store.store({ mode: "set", key: "max", value: bytes("18446744073709551615") });
  assert.equal(store.delta({ key: "max", op: "incr", amount: 2n }).value, 1n);
  assert.equal(store.delta({ key: "missing", op: "incr", amount: 1n }).status, "not_found");
  store.store({ mode: "set", key: "word", value: bytes("abc") });
  assert.equal(store.delta({ key: "word", op: "incr", amount: 1n }).status, "non_numeric");
});

Deno.test("Store expires items lazily and by sweep, counting reclaimed and unfetched", () => {
  let now = 1_700_000_000_000;
  const store = new Store({ clock: () => now });
  store.store({ mode: "set", key: "a", value: bytes("1"), exptime: 10 });
  store.store({ mode: "set", key: "b", value: bytes("2"), exptime: 10 });
  store.store({ mode: "set", key: "c", value: bytes("3") });
  store.get("a");
  now += 11_000;
  assert.equal(store.get("a"), undefined);
  assert.equal(store.sweep(), 1);
  assert.equal(store.size, 1);
  assert.deepEqual(store.counters.reclaimed, 2);
  assert.deepEqual(store.counters.expired_unfetched, 1);
  assert.deepEqual([...store.entries()].map(([key]) => key), ["c"]);
});

Deno.test("Store flush drops everything and keeps working", () => {
  const store = new Store();
  for (let i = 0; i < 5000; i++) {
    store.store({ mode: "set", key: `k${i}`, value: new Uint8Array(500).fill(i) });
  }
  const view = store.get("k1")!.value;
  store.flush();
  assert.equal(store.size, 0);
  assert.equal(store.bytes, 0);
  assert.equal(store.get("k1"), undefined);
  assert.deepEqual(view, new Uint8Array(500).fill(1));
  store.store({ mode: "set", key: "k1", value: bytes("again") });
  assert.equal(text(store.get("k1")?.value), "again");
});

Deno.test("Store keeps binary-safe keys apart", () => {
  const store = new Store();
  const keys = ["\x00", "\x00\x00", "\x80\x9f", "\xff", "a\x00b", "a\x00c"];
  keys.forEach((key, i) => store.store({ mode: "set", key, value: bytes(String(i)) }));
  keys.forEach((key, i) => assert.equal(text(store.get(key)?.value), String(i)));
  assert.deepEqual([...store.entries()].map(([key]) => key), keys);
});

Deno.test("Store item marks and expiry changes write through to the stored version", () => {
  const store = new Store();
  store.store({ mode: "set", key: "k", value: bytes("v"), flags: 3 });
  const item = store.get("k")!;
  item.stale = true;
  item.tokenSent = true;
  assert.equal(store.peek("k")!.stale, true);
  assert.equal(store.peek("k")!.tokenSent, true);
  assert.equal(store.peek("k")!.binaryKey, false);
  assert.equal(store.wasFetched(store.peek("k")!), true);
  store.setExpiry(item, store.now() + 100);
  assert.equal(store.peek("k")!.exptime, store.now() + 100);
  const cas = store.renewCas(item);
  assert.equal(store.peek("k")!.cas, cas);
  assert.equal(store.peek("k")!.stale, true);
  // A new version starts without marks; the old snapshot no longer writes through.
  store.store({ mode: "set", key: "k", value: bytes("w") });
  item.stale = false;
  assert.equal(store.peek("k")!.stale, false);
  store.peek("k")!.binaryKey = true;
  item.binaryKey = false;
  assert.equal(store.peek("k")!.binaryKey, true);
  assert.equal(store.wasFetched(store.peek("k")!), false);
});

Deno.test("Store item snapshots keep the marks their version had", () => {
  const store = new Store();
  store.store({ mode: "set", key: "n", value: bytes("9") });
  store.peek("n")!.stale = true;
  const old = store.peek("n")!;
  store.delta({ key: "n", op: "incr", amount: 1n }); // "10" does not fit: a fresh item
  assert.equal(old.stale, true);
  assert.equal(store.peek("n")!.stale, false);
});

Deno.test("Store rewrites a counter in place, keeping marks and fetched state, only when it fits and nothing holds it", () => {
  const store = new Store();
  store.store({ mode: "set", key: "n", value: bytes("10") });
  store.get("n");
  store.peek("n")!.stale = true;
  assert.equal(store.delta({ key: "n", op: "decr", amount: 1n }).status, "ok");
  const inPlace = store.peek("n")!;
  assert.deepEqual([text(inPlace.value), inPlace.stale, store.wasFetched(inPlace)], [
    "9 ",
    true,
    true,
  ]);
  const held = inPlace.cas;
  store.delta({ key: "n", op: "decr", amount: 1n, heldElsewhere: (cas) => cas === held });
  const copied = store.peek("n")!;
  assert.deepEqual([text(copied.value), copied.stale, store.wasFetched(copied)], [
    "8",
    false,
    false,
  ]);
});
