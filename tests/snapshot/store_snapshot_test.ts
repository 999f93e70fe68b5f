/**
 * The Store as a snapshot sees it (storeSnapshot): a walk that survives
 * changes between slices, inserts that keep CAS, time, fetched state and
 * marks, and the CAS counter.
 */
import assert from "node:assert/strict";
import { storeSnapshot } from "../../lib/snapshot/store_snapshot.ts";
import type { SnapshotItem } from "../../lib/snapshot/snapshot_store.ts";
import { latin1 } from "../_support/map_snapshot_store.ts";
import { clocked, hit, str, T0 } from "../store/_clocked.ts";

type Clocked = ReturnType<typeof clocked>;

/** The store's snapshot adapter at the test's time. */
const adapter = (c: Clocked) => storeSnapshot(c.store, () => c.now);

/** Walks in slices of `perSlice` items, calling `between` after each slice. */
function walk(c: Clocked, perSlice: number, between: (slice: number) => void = () => {}) {
  const walker = adapter(c).walk();
  const seen: { key: string; value: string; cas: number }[] = [];
  for (let slice = 0, more = true; more; slice++) {
    let n = 0;
    more = walker.next((item) => {
      seen.push({ key: str(item.key), value: str(item.value), cas: item.cas });
      return ++n < perSlice;
    });
    between(slice);
  }
  return seen;
}

Deno.test("storeSnapshot walks live items least recently used first, with every field", () => {
  const c = clocked();
  c.set("a", "1");
  c.advance(1);
  const b = c.set("b", "22", { exptime: 100 });
  if (b.status === "stored") c.store.setMarks(b.item, { binaryKey: true });
  c.set("expired", "x", { exptime: 1 });
  c.get("a"); // fetched, not bumped (under 60 s)
  c.advance(5);
  const items: SnapshotItem[] = [];
  adapter(c).walk().next((item) => {
    items.push({ ...item, key: item.key.slice(), value: item.value.slice() });
    return true;
  });
  assert.deepEqual(items, [
    {
      key: latin1("a"),
      value: latin1("1"),
      flags: 0,
      cas: 1,
      exptime: 0,
      lastAccess: T0,
      fetched: true,
      binaryKey: false,
      stale: false,
      tokenSent: false,
    },
    {
      key: latin1("b"),
      value: latin1("22"),
      flags: 0,
      cas: 2,
      exptime: T0 + 101,
      lastAccess: T0 + 1,
      fetched: false,
      binaryKey: true,
      stale: false,
      tokenSent: false,
    },
  ]);
});

Deno.test("storeSnapshot's walk survives changes between slices", () => {
  const c = clocked();
  for (let i = 0; i < 100; i++) c.set(`k${i}`, "old");
  const deletedAfter = new Map<string, number>(); // key → items written before its deletion
  let written = 0;
  const seen = walk(c, 10, (slice) => {
    written += 10;
    for (const key of [`k${slice * 10 + 35}`, `k${slice * 10 + 37}`]) {
      c.delete(key); // its slot may stay empty or be taken by the next set
      deletedAfter.set(key, written);
    }
    c.set(`k${slice * 10 + 36}`, "new"); // written as it is when its turn comes
    c.set(`added${slice}`, "x"); // stored since the walk began: written or not
    c.set(`k${slice}`, "again"); // visited already: not written twice
  });
  const keys = seen.map((s) => s.key);
  assert.equal(new Set(keys).size, keys.length, "no key twice");
  for (let i = 0; i < 100; i++) {
    const key = `k${i}`;
    const at = keys.indexOf(key);
    const deleted = deletedAfter.get(key);
    if (deleted === undefined) assert.ok(at >= 0, `${key} written`);
    else if (at >= 0) assert.ok(at < deleted, `${key}: written only before its deletion`);
  }
  assert.ok([...deletedAfter.keys()].some((key) => !keys.includes(key)), "some were skipped");
  assert.equal(seen.find((s) => s.key === "k36")?.value, "new");
  assert.equal(seen.find((s) => s.key === "k3")?.value, "old", "written before it changed");
});

Deno.test("storeSnapshot.insert keeps CAS, last access, fetched state and marks; an older copy loses", () => {
  const c = clocked();
  const target = adapter(c);
  const item: SnapshotItem = {
    key: latin1("k"),
    value: latin1("v1"),
    flags: 7,
    cas: 500,
    exptime: T0 + 50,
    lastAccess: T0 - 30,
    fetched: true,
    stale: true,
  };
  assert.equal(target.insert(item), true);
  assert.equal(target.insert({ ...item, value: latin1("older"), cas: 499 }), false);
  target.casCounter = 500;
  const got = c.peek("k")!;
  assert.deepEqual(
    [got.value, got.flags, got.cas, got.exptime, got.time, got.stale, got.fetched],
    [latin1("v1"), 7, 500, T0 + 50, T0 - 30, true, true],
  );
  assert.equal(c.store.counters.total_items, 0, "a restored item is no client's store");
  const added = c.set("new", "x");
  assert.equal(
    added.status === "stored" && added.item.cas,
    501,
    "CAS values continue past the restored",
  );
  c.advance(51);
  assert.equal(hit(c.get("k")), undefined, "expires when it would have");
});

Deno.test("storeSnapshot.insert refuses an item over the size limit and evicts even with evictions off", () => {
  const c = clocked({ memoryLimit: 4096, maxItemSize: 1024, evict: false });
  const target = adapter(c);
  const big = (key: string, size: number): SnapshotItem => ({
    key: latin1(key),
    value: new Uint8Array(size),
    flags: 0,
    cas: 1,
    exptime: 0,
    lastAccess: T0,
    fetched: false,
  });
  assert.equal(target.insert(big("huge", 2000)), false);
  for (let i = 0; i < 10; i++) assert.equal(target.insert(big(`k${i}`, 900)), true);
  assert.deepEqual(c.keys(), ["k6", "k7", "k8", "k9"]);
  assert.equal(c.set("more", "x".repeat(900)).status, "no_memory", "-M again afterwards");
});
