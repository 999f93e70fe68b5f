/**
 * memcached's item rules on the shared Store, with time passed in: expiry,
 * CAS, incr/decr, limits, eviction, binary-safe keys, flush, touch, sweep.
 */
import assert from "node:assert/strict";
import { ByteArena } from "../../lib/byte_arena.ts";
import { bytes, clocked, hit, str, T0 } from "./_clocked.ts";

Deno.test("Store expiry: 0 never, up to 30 days relative, larger absolute, negative at once", () => {
  const { set, advance, value } = clocked();
  set("never", "v");
  set("rel", "v", { exptime: 100 });
  set("month", "v", { exptime: 2_592_000 }); // exactly 30 days: still relative
  set("abs", "v", { exptime: T0 + 200 });
  set("past", "v", { exptime: T0 - 10 });
  set("neg", "v", { exptime: -1 });
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
  const { store, set, peek, value, delete: remove } = clocked();
  const a = set("k", "1");
  const b = set("k", "2");
  assert.equal(a.status === "stored" && a.item.cas, 1);
  assert.equal(b.status === "stored" && b.item.cas, 2);
  assert.equal(set("k", "3", { mode: "cas", cas: 1 }).status, "exists");
  assert.equal(set("k", "3", { mode: "cas", cas: 2 }).status, "stored");
  assert.equal(set("gone", "3", { mode: "cas", cas: 2 }).status, "not_found");
  assert.equal(set("k", "4", { cas: 1 }).status, "exists", "any mode with a CAS checks it");
  assert.equal(value("k"), "3");
  assert.equal(store.lastCas, 3);
  assert.equal(remove("k", 99), "exists");
  assert.equal(remove("k", peek("k")!.cas), "deleted");
  assert.equal(remove("k"), "not_found");
});

Deno.test("Store add, replace, append, prepend follow memcached's rules", () => {
  const { set, value, peek } = clocked();
  assert.equal(set("k", "x", { mode: "replace" }).status, "not_stored");
  assert.equal(set("k", "x", { mode: "append" }).status, "not_stored");
  assert.equal(set("k", "mid", { mode: "add", flags: 5 }).status, "stored");
  assert.equal(set("k", "x", { mode: "add" }).status, "not_stored");
  set("k", "-end", { mode: "append" });
  set("k", "start-", { mode: "prepend" });
  assert.equal(value("k"), "start-mid-end");
  assert.equal(peek("k")!.flags, 5, "append keeps the item's flags");
  const cas = peek("k")!.cas;
  assert.equal(set("k", "!", { mode: "append", cas: cas + 1 }).status, "exists");
  assert.equal(set("k", "!", { mode: "append", cas }).status, "stored");
  assert.equal(value("k"), "start-mid-end!");
});

Deno.test("Store incr wraps at 2^64, decr stops at 0, non-numeric values are refused", () => {
  const { set, value, incr, decr } = clocked();
  set("n", "18446744073709551614");
  const wrapped = incr("n", 3n);
  assert.equal(wrapped.status === "ok" && wrapped.value, 1n);
  assert.equal(value("n"), "1                   ", "rewritten in place, padded");
  const floor = decr("n", 5n);
  assert.equal(floor.status === "ok" && floor.value, 0n);
  set("n", "10");
  const up = incr("n", 5n);
  assert.equal(up.status === "ok" && up.value, 15n);
  const copied = decr("n", 6n, true);
  assert.equal(copied.status === "ok" && copied.value, 9n);
  assert.equal(value("n"), "9", "not in place: just the digits");
  set("n", "99");
  incr("n", 1n);
  assert.equal(value("n"), "100", "longer digits: a new item");
  for (const bad of ["abc", "", "-1", "12a", "  ", "18446744073709551616"]) {
    set("t", bad);
    assert.equal(incr("t", 1n).status, "non_numeric", JSON.stringify(bad));
  }
  assert.equal(incr("missing", 1n).status, "not_found");
});

Deno.test("Store incr with a CAS changes only that version; empty values fail before the CAS", () => {
  const { store, set, peek } = clocked();
  set("n", "1");
  const cas = peek("n")!.cas;
  const delta = (c: number) => store.delta(bytes("n"), { now: T0, op: "incr", amount: 1n, cas: c });
  assert.equal(delta(cas + 1).status, "exists");
  const ok = delta(cas);
  assert.ok(ok.status === "ok" && ok.item.cas > cas);
  set("n", "");
  assert.equal(delta(12345).status, "non_numeric");
});

Deno.test("Store in-place incr keeps the item's marks and fetched state; a new item has none", () => {
  const { store, set, peek, get, incr } = clocked();
  set("n", "10");
  hit(get("n"));
  store.setMarks(peek("n")!, { stale: true, tokenSent: true });
  incr("n", 5n); // "15" fits in place
  assert.deepEqual([peek("n")!.stale, peek("n")!.tokenSent, peek("n")!.fetched], [
    true,
    true,
    true,
  ]);
  incr("n", 100n); // "115" does not
  assert.deepEqual([peek("n")!.stale, peek("n")!.tokenSent, peek("n")!.fetched], [
    false,
    false,
    false,
  ]);
});

Deno.test("Store evicts least recently used items at the memory limit and counts them", () => {
  const { store, set, advance, get, peek } = clocked({ memoryLimit: 64 * 1024 });
  const value = new Uint8Array(1000);
  for (let i = 0; i < 50; i++) set(`k${i}`, value);
  advance(120); // past the LRU bump interval, so a fetch moves k0 to the tail
  assert.ok(hit(get("k0")));
  for (let i = 50; i < 100; i++) set(`k${i}`, value);
  assert.ok(store.counters.evictions > 0);
  assert.ok(peek("k0"), "recently fetched k0 survives");
  assert.equal(peek("k1"), undefined, "oldest unfetched k1 is evicted");
  assert.ok(peek("k99"));
  assert.ok(store.bytes <= 64 * 1024);
  assert.equal(store.counters.evictions, store.counters.evicted_unfetched);
});

Deno.test("Store answers out of memory instead of evicting when eviction is off", () => {
  const { store, set, peek } = clocked({ memoryLimit: 16 * 1024, evict: false });
  const value = new Uint8Array(1000);
  const statuses = new Set<string>();
  for (let i = 0; i < 40; i++) statuses.add(set(`k${i}`, value).status);
  assert.ok(statuses.has("no_memory"));
  assert.equal(store.counters.evictions, 0);
  assert.ok(peek("k0"));
});

Deno.test("Store refuses items over the size limit; a too-large set drops the old value", () => {
  const { set, peek } = clocked({ maxItemSize: 2048 });
  set("k", "old");
  assert.equal(set("k", new Uint8Array(2048)).status, "too_large");
  assert.equal(peek("k"), undefined);
  set("k", "old");
  assert.equal(set("j", new Uint8Array(4096), { mode: "add" }).status, "too_large");
  assert.equal(set("k", new Uint8Array(4096), { mode: "replace" }).status, "too_large");
  assert.equal(str(peek("k")!.value), "old", "only set drops the old value");
  assert.equal(set("k", new Uint8Array(1900)).status, "stored");
  assert.equal(set("k", new Uint8Array(1000), { mode: "append" }).status, "too_large");
  assert.equal(set("x".repeat(251), "v").status, "too_large", "keys are at most 250 bytes");
  assert.equal(set("x".repeat(250), "v").status, "stored");
});

Deno.test("Store keeps binary-safe keys with bytes 0x80–0xff apart", () => {
  const { store, set, value } = clocked();
  const keys: string[] = [];
  for (let b = 0x80; b <= 0xff; b++) keys.push(`k${String.fromCharCode(b)}`);
  keys.push("k\x00", "k");
  keys.forEach((key, i) => set(key, String(i)));
  keys.forEach((key, i) => assert.equal(value(key), String(i)));
  assert.equal(store.size, keys.length);
});

Deno.test("Store flush drops everything now and spends a CAS id", () => {
  const { set, flush, value } = clocked();
  set("a", "1");
  flush();
  assert.equal(value("a"), undefined);
  const b = set("b", "2");
  assert.equal(b.status === "stored" && b.item.cas, 3);
  assert.equal(value("b"), "2");
});

Deno.test("Store flush with a delay drops what was stored before its time comes", () => {
  const { set, flush, advance, value, get } = clocked();
  set("a", "1");
  flush(10);
  const b = set("b", "2");
  assert.equal(b.status === "stored" && b.item.cas, 2, "no CAS id spent yet");
  advance(8);
  assert.equal(value("a"), "1");
  advance(1); // memcached's flush takes effect a second early (oldest_live = time - 1)
  assert.equal(get("a"), "flushed");
  assert.equal(value("b"), undefined);
  advance(5);
  set("c", "3");
  assert.equal(value("c"), "3");
});

Deno.test("Store flush with an absolute time in the past flushes nothing but spends a CAS id", () => {
  const { set, flush, value } = clocked();
  set("a", "1");
  flush(T0 - 1000);
  assert.equal(value("a"), "1");
  const b = set("b", "2");
  assert.equal(b.status === "stored" && b.item.cas, 3);
});

Deno.test("Store touch sets a new expiry; sweep reclaims expired items", () => {
  const { store, set, touch, advance, value, sweep } = clocked();
  set("a", "1", { exptime: 10 });
  set("b", "2", { exptime: 10 });
  assert.ok(touch("a", 100));
  assert.equal(touch("missing", 100), undefined);
  advance(20);
  assert.equal(sweep(), 1);
  assert.equal(store.size, 1);
  assert.equal(value("a"), "1");
  assert.equal(store.counters.reclaimed, 1);
  assert.equal(store.counters.expired_unfetched, 1);
});

Deno.test("Store: the first lookup of a dead item learns why; the item is unlinked by a writer", () => {
  const { store, set, get, advance, sweep } = clocked();
  set("a", "1", { exptime: 10 });
  set("b", "2", { exptime: 10 });
  advance(10);
  assert.equal(get("a"), "expired");
  assert.equal(get("a"), "miss", "told once");
  assert.equal(store.size, 2, "readers do not unlink");
  set("a", "again"); // a writer meets it
  assert.equal(store.size, 2);
  assert.equal(store.counters.reclaimed, 1);
  assert.equal(sweep(), 1);
  assert.equal(store.size, 1);
  assert.equal(store.counters.expired_unfetched, 2);
});

Deno.test("Store sweep visits at most `limit` items a call and resumes where it stopped", () => {
  const { store, set, advance, sweep } = clocked();
  for (let i = 0; i < 10; i++) set(`k${i}`, "v", { exptime: i % 2 === 0 ? 5 : 0 });
  advance(6);
  assert.equal(sweep(4), 2); // k0..k3
  assert.equal(sweep(4), 2); // k4..k7
  assert.equal(sweep(4), 1); // k8, k9, then the end
  assert.equal(store.size, 5);
  assert.equal(sweep(100), 0);
});

Deno.test("Store get marks an item fetched and bumps its last access when more than a minute old", () => {
  const { set, get, peek, advance } = clocked();
  set("k", "v");
  assert.equal(peek("k")!.fetched, false);
  assert.equal(peek("k")!.time, T0);
  advance(30);
  assert.equal(hit(get("k"))!.fetched, true);
  assert.equal(peek("k")!.time, T0, "not within a minute");
  advance(30);
  hit(get("k"));
  assert.equal(peek("k")!.time, T0, "exactly a minute: not yet");
  advance(1);
  hit(get("k"));
  assert.equal(peek("k")!.time, T0 + 61);
});

Deno.test("Store meta helpers: marks, expiry, CAS renewal and the win token act on one version", () => {
  const { store, set, peek, now } = clocked();
  set("k", "v", { flags: 3 });
  const item = peek("k")!;
  store.setMarks(item, { stale: true, binaryKey: true });
  assert.deepEqual([peek("k")!.stale, peek("k")!.binaryKey, peek("k")!.tokenSent], [
    true,
    true,
    false,
  ]);
  assert.equal(store.claimToken(item), true);
  assert.equal(store.claimToken(peek("k")!), false, "one winner");
  store.setExpiry(item, now + 100);
  assert.equal(peek("k")!.exptime, now + 100);
  const cas = store.renewCas(item);
  assert.equal(peek("k")!.cas, cas);
  assert.equal(item.cas, cas);
  // A new version starts without marks; the old snapshot no longer reaches it.
  set("k", "w");
  store.setMarks(item, { stale: true });
  store.setExpiry(item, now + 5);
  assert.equal(store.claimToken(item), false);
  assert.deepEqual([peek("k")!.stale, peek("k")!.tokenSent, peek("k")!.exptime], [false, false, 0]);
});

Deno.test("Store insert restores an item as given, and the CAS counter moves past it", () => {
  const { store, set, peek, now, keys } = clocked();
  set("old", "x");
  const status = store.insert({
    now,
    key: bytes("restored"),
    value: bytes("value"),
    flags: 9,
    exptime: now + 500,
    cas: 77,
    time: now - 30,
    fetched: true,
    stale: true,
  });
  assert.equal(status, "stored");
  const item = peek("restored")!;
  assert.deepEqual(
    [str(item.value), item.flags, item.exptime, item.cas, item.time, item.fetched, item.stale],
    ["value", 9, now + 500, 77, now - 30, true, true],
  );
  assert.equal(store.lastCas, 77);
  store.advanceCas(50);
  assert.equal(store.lastCas, 77, "never backwards");
  const next = set("n", "1");
  assert.equal(next.status === "stored" && next.item.cas, 78);
  assert.deepEqual(keys(), ["old", "restored", "n"]);
});

Deno.test("Store entries copy key, value and metadata of live items only", () => {
  const { store, set, advance, now } = clocked();
  set("a", "1", { flags: 1 });
  set("b", "22", { exptime: 5 });
  set("c", "333");
  advance(5);
  const arena = new ByteArena();
  const seen = [...store.entries({ now: now + 5, into: arena })].map(([key, item]) => [
    str(key),
    str(item.value),
    item.flags,
  ]);
  assert.deepEqual(seen, [["a", "1", 1], ["c", "333", 0]]);
});

Deno.test("Store memory limit changes evict down to the new limit", () => {
  const { store, set, now } = clocked({ memoryLimit: 1024 * 1024 });
  for (let i = 0; i < 500; i++) set(`k${i}`, new Uint8Array(1000));
  assert.equal(store.size, 500);
  store.setMemoryLimit(100 * 1024, now);
  assert.ok(store.bytes <= 100 * 1024);
  assert.ok(store.size < 100);
  assert.equal(store.memoryLimit, 100 * 1024);
  store.setMemoryLimit(2 ** 40, now);
  assert.equal(store.memoryLimit, 2 * 1024 * 1024, "capped at what was reserved");
});
