/**
 * memcached's item rules on the Store, with an injected clock: expiry, CAS,
 * incr/decr, limits, eviction, binary-safe keys, flush.
 */
import assert from "node:assert/strict";
import { parseCounter, Store, type StoreOptions } from "../lib/store.ts";

const T0 = 1_700_000_000;
const bytes = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const str = (b: Uint8Array | undefined) => b === undefined ? undefined : String.fromCharCode(...b);

/** A store whose clock the test moves, in seconds. */
function clocked(options: StoreOptions = {}) {
  const clock = { now: T0 * 1000 };
  const store = new Store({ clock: () => clock.now, ...options });
  return {
    store,
    advance(seconds: number) {
      clock.now += seconds * 1000;
    },
    value: (key: string) => str(store.get(key)?.value),
  };
}

Deno.test("Store expiry: 0 never, up to 30 days relative, larger absolute, negative at once", () => {
  const { store, advance, value } = clocked();
  store.store({ mode: "set", key: "never", value: bytes("v") });
  store.store({ mode: "set", key: "rel", value: bytes("v"), exptime: 100 });
  store.store({ mode: "set", key: "month", value: bytes("v"), exptime: 2_592_000 }); // exactly 30 days: still relative
  store.store({ mode: "set", key: "abs", value: bytes("v"), exptime: T0 + 200 });
  store.store({ mode: "set", key: "past", value: bytes("v"), exptime: T0 - 10 });
  store.store({ mode: "set", key: "neg", value: bytes("v"), exptime: -1 });
  assert.equal(value("past"), undefined);
  assert.equal(value("neg"), undefined);
  advance(99);
  assert.equal(value("rel"), "v");
  advance(1);
  assert.equal(value("rel"), undefined);
  assert.equal(value("abs"), "v");
  advance(100);
  assert.equal(value("abs"), undefined);
  advance(2_592_000 - 200 - 1);
  assert.equal(value("month"), "v");
  advance(1);
  assert.equal(value("month"), undefined);
  advance(10 * 365 * 86400);
  assert.equal(value("never"), "v");
});

Deno.test("Store gives each stored version a new CAS and checks it", () => {
  const { store } = clocked();
  const a = store.store({ mode: "set", key: "k", value: bytes("1") });
  const b = store.store({ mode: "set", key: "k", value: bytes("2") });
  assert.equal(a.item!.cas, 1);
  assert.equal(b.item!.cas, 2);
  assert.equal(store.store({ mode: "cas", key: "k", value: bytes("3"), cas: 1 }).status, "exists");
  assert.equal(store.store({ mode: "cas", key: "k", value: bytes("3"), cas: 2 }).status, "stored");
  assert.equal(
    store.store({ mode: "cas", key: "gone", value: bytes("3"), cas: 2 }).status,
    "not_found",
  );
  assert.equal(store.delete("k", 99), "exists");
  assert.equal(store.delete("k", store.peek("k")!.cas), "deleted");
  assert.equal(store.delete("k"), "not_found");
});

Deno.test("Store add, replace, append, prepend follow memcached's rules", () => {
  const { store, value } = clocked();
  assert.equal(store.store({ mode: "replace", key: "k", value: bytes("x") }).status, "not_stored");
  assert.equal(store.store({ mode: "append", key: "k", value: bytes("x") }).status, "not_stored");
  assert.equal(
    store.store({ mode: "add", key: "k", value: bytes("mid"), flags: 5 }).status,
    "stored",
  );
  assert.equal(store.store({ mode: "add", key: "k", value: bytes("x") }).status, "not_stored");
  store.store({ mode: "append", key: "k", value: bytes("-end") });
  store.store({ mode: "prepend", key: "k", value: bytes("start-") });
  assert.equal(value("k"), "start-mid-end");
  assert.equal(store.peek("k")!.flags, 5, "append keeps the item's flags");
});

Deno.test("Store incr wraps at 2^64, decr stops at 0, non-numeric values are refused", () => {
  const { store, value } = clocked();
  store.store({ mode: "set", key: "n", value: bytes("18446744073709551614") });
  assert.equal(store.delta({ key: "n", op: "incr", amount: 3n }).value, 1n);
  assert.equal(value("n"), "1                   ", "rewritten in place, padded");
  assert.equal(store.delta({ key: "n", op: "decr", amount: 5n }).value, 0n);
  store.store({ mode: "set", key: "n", value: bytes("10") });
  assert.equal(store.delta({ key: "n", op: "incr", amount: 5n }).value, 15n);
  assert.equal(
    store.delta({ key: "n", op: "decr", amount: 6n, heldElsewhere: () => true }).value,
    9n,
  );
  assert.equal(value("n"), "9", "not in place: just the digits");
  for (const bad of ["abc", "", "-1", "12a", "  ", "18446744073709551616"]) {
    store.store({ mode: "set", key: "t", value: bytes(bad) });
    assert.equal(
      store.delta({ key: "t", op: "incr", amount: 1n }).status,
      "non_numeric",
      JSON.stringify(bad),
    );
  }
  assert.equal(store.delta({ key: "missing", op: "incr", amount: 1n }).status, "not_found");
});

Deno.test("parseCounter reads numbers as memcached's safe_strtoull does", () => {
  const cases: [string, bigint | undefined][] = [
    ["0", 0n],
    ["42", 42n],
    [" 7", 7n],
    ["12 ", 12n],
    ["007", 7n],
    ["+5", 5n],
    ["-0", 0n],
    ["-18446744073709551615", 1n],
    ["18446744073709551615", 18446744073709551615n],
    ["18446744073709551616", undefined],
    ["-1", undefined],
    ["abc", undefined],
    ["  ", undefined],
    ["", undefined],
    ["1x", undefined],
  ];
  for (const [text, want] of cases) {
    assert.equal(parseCounter(bytes(text)), want, JSON.stringify(text));
  }
});

Deno.test("Store evicts least recently used items at the memory limit and counts them", () => {
  const { store, advance } = clocked({ memoryLimit: 64 * 1024 });
  const value = new Uint8Array(1000);
  for (let i = 0; i < 50; i++) store.store({ mode: "set", key: `k${i}`, value });
  advance(120); // past the LRU bump interval, so a fetch moves k0 to the tail
  assert.ok(store.get("k0"));
  for (let i = 50; i < 100; i++) store.store({ mode: "set", key: `k${i}`, value });
  assert.ok(store.counters.evictions > 0);
  assert.ok(store.peek("k0"), "recently fetched k0 survives");
  assert.equal(store.peek("k1"), undefined, "oldest unfetched k1 is evicted");
  assert.ok(store.peek("k99"));
  assert.ok(store.bytes <= 64 * 1024);
});

Deno.test("Store answers out of memory instead of evicting when eviction is off", () => {
  const { store } = clocked({ memoryLimit: 16 * 1024, evict: false });
  const value = new Uint8Array(1000);
  const statuses = new Set<string>();
  for (let i = 0; i < 40; i++) {
    statuses.add(store.store({ mode: "set", key: `k${i}`, value }).status);
  }
  assert.ok(statuses.has("no_memory"));
  assert.equal(store.counters.evictions, 0);
  assert.ok(store.peek("k0"));
});

Deno.test("Store refuses items over the size limit; a too-large set drops the old value", () => {
  const { store } = clocked({ maxItemSize: 2048 });
  store.store({ mode: "set", key: "k", value: bytes("old") });
  assert.equal(
    store.store({ mode: "set", key: "k", value: new Uint8Array(2048) }).status,
    "too_large",
  );
  assert.equal(store.peek("k"), undefined);
  store.store({ mode: "set", key: "k", value: bytes("old") });
  assert.equal(
    store.store({ mode: "add", key: "j", value: new Uint8Array(4096) }).status,
    "too_large",
  );
  assert.equal(
    store.store({ mode: "replace", key: "k", value: new Uint8Array(4096) }).status,
    "too_large",
  );
  assert.equal(str(store.peek("k")?.value), "old", "only set drops the old value");
  assert.equal(
    store.store({ mode: "set", key: "k", value: new Uint8Array(1900) }).status,
    "stored",
  );
});

Deno.test("Store keeps binary-safe keys with bytes 0x80–0xff apart", () => {
  const { store, value } = clocked();
  const keys: string[] = [];
  for (let b = 0x80; b <= 0xff; b++) keys.push(`k${String.fromCharCode(b)}`);
  keys.push("k\x00", "k");
  keys.forEach((key, i) => store.store({ mode: "set", key, value: bytes(String(i)) }));
  keys.forEach((key, i) => assert.equal(value(key), String(i)));
  assert.equal(store.size, keys.length);
});

Deno.test("Store flush drops everything now and spends a CAS id", () => {
  const { store, value } = clocked();
  store.store({ mode: "set", key: "a", value: bytes("1") });
  store.flush();
  assert.equal(value("a"), undefined);
  assert.equal(store.store({ mode: "set", key: "b", value: bytes("2") }).item!.cas, 3);
  assert.equal(value("b"), "2");
});

Deno.test("Store flush with a delay drops what was stored before its time comes", () => {
  const { store, advance, value } = clocked();
  store.store({ mode: "set", key: "a", value: bytes("1") });
  store.flush(10);
  assert.equal(
    store.store({ mode: "set", key: "b", value: bytes("2") }).item!.cas,
    2,
    "no CAS id spent yet",
  );
  advance(8);
  assert.equal(value("a"), "1");
  advance(1); // memcached's flush takes effect a second early (oldest_live = time - 1)
  assert.equal(value("a"), undefined);
  assert.equal(value("b"), undefined);
  advance(5);
  store.store({ mode: "set", key: "c", value: bytes("3") });
  assert.equal(value("c"), "3");
});

Deno.test("Store flush with an absolute time in the past flushes nothing but spends a CAS id", () => {
  const { store, value } = clocked();
  store.store({ mode: "set", key: "a", value: bytes("1") });
  store.flush(T0 - 1000);
  assert.equal(value("a"), "1");
  assert.equal(store.store({ mode: "set", key: "b", value: bytes("2") }).item!.cas, 3);
});

Deno.test("Store touch sets a new expiry; sweep reclaims expired items", () => {
  const { store, advance, value } = clocked();
  store.store({ mode: "set", key: "a", value: bytes("1"), exptime: 10 });
  store.store({ mode: "set", key: "b", value: bytes("2"), exptime: 10 });
  assert.ok(store.touch("a", 100));
  assert.equal(store.touch("missing", 100), undefined);
  advance(20);
  assert.equal(store.sweep(), 1);
  assert.equal(store.size, 1);
  assert.equal(value("a"), "1");
  assert.ok(store.counters.reclaimed >= 1);
  assert.ok(store.counters.expired_unfetched >= 1);
});
