/**
 * `Store.get` with a `check`: the read that holds no share of the store lock
 * changes nothing, and returns only what the check vouches for.
 */
import assert from "node:assert/strict";
import { ByteArena } from "../../lib/byte_arena.ts";
import { ReadConflict } from "../../lib/store/read_conflict.ts";
import { Store } from "../../lib/store/store.ts";
import { bytes, clocked, hit, str } from "./_clocked.ts";

const VALID = { valid: () => true };
const TORN = { valid: () => false };

Deno.test("Store.get with a check returns a fetched item as a shared read would, and a miss", () => {
  const { store, set, get, now } = clocked();
  set("k", "value", { flags: 5 });
  get("k"); // fetched once: a later fetch changes nothing for a minute
  const into = new ByteArena();
  const item = hit(store.get(bytes("k"), { now, into, check: VALID }));
  assert.ok(item);
  assert.equal(str(item.value), "value");
  assert.equal(item.flags, 5);
  assert.equal(store.get(bytes("nothing"), { now, into, check: VALID }), "miss");
});

Deno.test("Store.get with a check throws ReadConflict.torn when a writer had a turn, for a hit and a miss", () => {
  const { store, set, get, now } = clocked();
  set("k", "value");
  get("k");
  const into = new ByteArena();
  assert.throws(
    () => store.get(bytes("k"), { now, into, check: TORN }),
    (e) => e === ReadConflict.torn,
  );
  assert.throws(
    () => store.get(bytes("no"), { now, into, check: TORN }),
    (e) => e === ReadConflict.torn,
  );
});

Deno.test("Store.get with a check marks a first fetch, and throws ReadConflict.writes rather than bump an item or mark it dead", () => {
  const c = clocked();
  const into = new ByteArena();
  const attempt = (key: string) => c.store.get(bytes(key), { now: c.now, into, check: VALID });
  const writes = (e: unknown) => e === ReadConflict.writes;

  c.set("fresh", "v");
  assert.equal(c.peek("fresh")!.fetched, false);
  assert.equal(hit(attempt("fresh"))?.fetched, true);
  assert.equal(c.peek("fresh")!.fetched, true, "marked fetched");
  assert.equal(hit(attempt("fresh"))?.fetched, true, "fetched before: nothing to change");

  c.set("short", "v", { exptime: 10 });
  c.get("short");
  c.advance(11);
  assert.throws(() => attempt("short"), writes);
  assert.equal(c.get("short"), "expired", "a shared read still learns why it died");

  c.advance(60);
  const before = c.peek("fresh")!.time;
  assert.throws(() => attempt("fresh"), writes, "a minute on: a bump is due");
  assert.equal(c.peek("fresh")!.time, before, "not bumped by the attempt");
});

Deno.test("Store.get with a check does not mark the item a writer put in the slot after it read", () => {
  const c = clocked();
  const into = new ByteArena();
  c.set("old", "v");
  const slot = c.peek("old")!.slot;
  // A writer's turn between the read and the mark, which `check` misses:
  // only the count of the slot's fillings tells the slot holds another item.
  const refill = {
    valid() {
      c.delete("old");
      c.set("new", "w");
      return true;
    },
  };
  assert.throws(
    () => c.store.get(bytes("old"), { now: c.now, into, check: refill }),
    (e) => e === ReadConflict.writes,
  );
  const item = c.peek("new")!;
  assert.equal(item.slot, slot, "the new item took the old one's slot");
  assert.equal(item.fetched, false, "and is not marked fetched");
});

Deno.test("Store.get with a check leaves catching up with another thread's growth to a read under a share", () => {
  const c = clocked();
  const other = new Store(c.store.memory); // as another worker attaches
  c.set("k", "v");
  c.get("k");
  for (let i = 0; i < 20_000; i++) {
    other.set(bytes(`grow:${i}`), bytes("x".repeat(200)), { now: c.now });
  }
  const into = new ByteArena();
  assert.throws(
    () => c.store.get(bytes("k"), { now: c.now, into, check: VALID }),
    (e) => e === ReadConflict.writes,
  );
  assert.equal(str(hit(c.get("k"))!.value), "v", "a read under a share catches up");
  assert.equal(str(hit(c.store.get(bytes("k"), { now: c.now, into, check: VALID }))!.value), "v");
});

Deno.test("Store.get with a check does not count a first fetch a writer may have counted unfetched", () => {
  const c = clocked();
  c.set("k", "v");
  let calls = 0;
  // Valid for the read, void by the time the mark is made.
  const lateWriter = { valid: () => ++calls === 1 };
  assert.throws(
    () => c.store.get(bytes("k"), { now: c.now, into: new ByteArena(), check: lateWriter }),
    (e) => e === ReadConflict.torn,
  );
});
