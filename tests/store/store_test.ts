/**
 * The shared Store's memory: bytes kept apart through churn, compaction and
 * large (multi-piece) items; memory bounded near the limit; stores attached
 * to the same memory seeing one store.
 */
import assert from "node:assert/strict";
import { ByteArena } from "../../lib/byte_arena.ts";
import { Store } from "../../lib/store/store.ts";
import { prng } from "../_support/prng.ts";
import { bytes, clocked, hit, str, T0 } from "./_clocked.ts";

const MiB = 1024 * 1024;

/** A value whose bytes name its key and version, `length` bytes long. */
function valueFor(key: string, version: number, length: number): Uint8Array {
  const tag = `${key}#${version};`;
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = tag.charCodeAt(i % tag.length);
  return out;
}

for (const segmentSize of [MiB, 16 * 1024]) {
  Deno.test(`Store keeps every key's bytes apart through churn, compaction and large items (${segmentSize / 1024} KiB segments)`, () => {
    const next = prng(42);
    const { store, set, get, peek, delete: remove, now } = clocked({
      memoryLimit: 1024 * MiB,
      maxItemSize: 2 * MiB,
      segmentSize,
    });
    const model = new Map<string, Uint8Array>();
    const held: [Uint8Array, Uint8Array][] = []; // copies handed out, with a copy of their bytes
    let version = 0;
    for (let step = 0; step < 60_000; step++) {
      const key = `k${Math.floor(next() * 2000)}`;
      const r = next();
      if (r < 0.5) {
        const large = next() < 0.01;
        const length = large ? 300_000 + Math.floor(next() * 400_000) : Math.floor(next() * 600);
        const value = valueFor(key, ++version, length);
        assert.equal(set(key, value, { flags: 7 }).status, "stored");
        model.set(key, value);
      } else if (r < 0.6) {
        const extra = valueFor(key, ++version, Math.floor(next() * 50));
        const mode = next() < 0.5 ? "append" : "prepend";
        const status = set(key, extra, { mode }).status;
        const old = model.get(key);
        assert.equal(status, old ? "stored" : "not_stored");
        if (old) {
          const joined = new Uint8Array(old.length + extra.length);
          joined.set(mode === "append" ? old : extra);
          joined.set(
            mode === "append" ? extra : old,
            mode === "append" ? old.length : extra.length,
          );
          model.set(key, joined);
        }
      } else if (r < 0.7) {
        assert.equal(remove(key), model.delete(key) ? "deleted" : "not_found");
      } else {
        const item = hit(get(key));
        assert.deepEqual(item?.value, model.get(key), `value of ${key} at step ${step}`);
        if (item && held.length < 500 && next() < 0.05) held.push([item.value, item.value.slice()]);
      }
    }
    assert.equal(store.size, model.size);
    for (const [key, value] of model) assert.deepEqual(peek(key)?.value, value, key);
    // Values handed out earlier are copies: later writes never changed them.
    for (const [view, copy] of held) assert.deepEqual(view, copy);
    // Dead records were compacted away: segment memory stays near the live data.
    let live = 0;
    for (const [key, item] of store.entries({ now, into: new ByteArena() })) {
      live += key.length + item.value.length + 8;
    }
    assert.ok(
      store.segmentBytes <= live / 0.75 + 4 * MiB,
      `${store.segmentBytes} segment bytes for ${live}`,
    );
  });
}

Deno.test("Store holds its segment memory near the limit while evicting", () => {
  const { store, set, get, now } = clocked({ memoryLimit: 8 * MiB });
  const next = prng(7);
  for (let i = 0; i < 200_000; i++) {
    const key = `key:${i}`;
    set(key, valueFor(key, i, 50 + Math.floor(next() * 200)));
    if (i % 3 === 0) get(`key:${Math.floor(next() * i)}`);
  }
  assert.ok(store.bytes <= 8 * MiB);
  assert.ok(store.counters.evictions > 0);
  assert.ok(store.segmentBytes <= 8 * MiB / 0.75 + 2 * MiB, `${store.segmentBytes} segment bytes`);
  for (const [key, item] of store.entries({ now, into: new ByteArena() })) {
    const name = str(key);
    assert.deepEqual(item.value, valueFor(name, Number(name.slice(4)), item.value.length));
  }
});

Deno.test("Store keeps segment memory bounded under churn of mixed sizes at a small limit", () => {
  // Data that fits the limit, rewritten at random: the garbage left between
  // live records is reclaimed only by compaction.
  const { store, set } = clocked({ memoryLimit: 4 * MiB, maxItemSize: 512 * 1024 });
  const next = prng(3);
  let peak = 0;
  for (let i = 0; i < 100_000; i++) {
    const key = `k${Math.floor(next() * 2000)}`;
    const large = key.endsWith("7");
    set(key, new Uint8Array(large ? 1000 + Math.floor(next() * 5000) : Math.floor(next() * 1000)));
    peak = Math.max(peak, store.segmentBytes);
  }
  assert.equal(store.counters.evictions, 0, "the data fits");
  assert.ok(
    peak <= (store.bytes * 4) / 3 + 2 * MiB,
    `peak ${peak} segment bytes for ${store.bytes}`,
  );
});

Deno.test("Store evicts least recently used items first", () => {
  const { store, set, get, peek, advance } = clocked({ memoryLimit: 10 * 200 });
  const value = new Uint8Array(100);
  for (let i = 0; i < 10; i++) set(`key${i}`, value);
  advance(61); // past the LRU bump interval
  get("key0");
  for (let i = 10; i < 13; i++) set(`key${i}`, value);
  assert.ok(peek("key0"), "recently read item survives");
  assert.equal(peek("key1"), undefined);
  assert.equal(store.counters.evictions, store.counters.total_items - store.size);
});

Deno.test("Store answers out of memory instead of evicting when told not to", () => {
  const { set, peek } = clocked({ memoryLimit: 1000, evict: false });
  const value = new Uint8Array(300);
  assert.equal(set("a", value).status, "stored");
  assert.equal(set("b", value).status, "stored");
  assert.equal(set("c", value).status, "no_memory");
  assert.ok(peek("a") && peek("b"));
});

Deno.test("Store applies incr and decr as unsigned 64-bit, padding in place", () => {
  const { set, value, incr, decr } = clocked();
  set("n", "100");
  const five = decr("n", 95n);
  assert.equal(five.status === "ok" && five.value, 5n);
  assert.equal(value("n"), "5  ");
  decr("n", 1n, true);
  assert.equal(value("n"), "4");
  set("max", "18446744073709551615");
  const wrapped = incr("max", 2n);
  assert.equal(wrapped.status === "ok" && wrapped.value, 1n);
  assert.equal(incr("missing", 1n).status, "not_found");
  set("word", "abc");
  assert.equal(incr("word", 1n).status, "non_numeric");
});

Deno.test("Store expires items lazily and by sweep, counting reclaimed and unfetched", () => {
  const { store, set, get, advance, sweep, keys } = clocked();
  set("a", "1", { exptime: 10 });
  set("b", "2", { exptime: 10 });
  set("c", "3");
  get("a");
  advance(11);
  assert.equal(get("a"), "expired");
  assert.equal(sweep(), 2);
  assert.equal(store.size, 1);
  assert.equal(store.counters.reclaimed, 2);
  assert.equal(store.counters.expired_unfetched, 1);
  assert.deepEqual(keys(), ["c"]);
});

Deno.test("Store flush drops everything and keeps working", () => {
  const { store, set, get, flush, value } = clocked();
  for (let i = 0; i < 5000; i++) set(`k${i}`, new Uint8Array(500).fill(i));
  const copy = hit(get("k1"))!.value;
  flush();
  assert.equal(store.size, 0);
  assert.equal(store.bytes, 0);
  assert.equal(get("k1"), "miss");
  assert.deepEqual(copy, new Uint8Array(500).fill(1));
  set("k1", "again");
  assert.equal(value("k1"), "again");
  for (let i = 0; i < 5000; i++) set(`k${i}`, new Uint8Array(500).fill(i));
  assert.equal(store.size, 5000);
  assert.deepEqual(hit(get("k4999"))!.value, new Uint8Array(500).fill(4999));
});

Deno.test("Store keeps binary-safe keys apart", () => {
  const { set, value, keys } = clocked();
  const names = ["\x00", "\x00\x00", "\x80\x9f", "\xff", "a\x00b", "a\x00c"];
  names.forEach((key, i) => set(key, String(i)));
  names.forEach((key, i) => assert.equal(value(key), String(i)));
  assert.deepEqual(keys(), names);
});

Deno.test("Store snapshots keep the marks of their time; the store answers for the current version", () => {
  const { store, set, peek, incr } = clocked();
  set("n", "1");
  store.setMarks(peek("n")!, { stale: true });
  const old = peek("n")!;
  incr("n", 1n, true); // a new item
  assert.equal(old.stale, true);
  assert.equal(peek("n")!.stale, false);
});

Deno.test("Stores attached to one memory see one store, across growth of every buffer", () => {
  const first = Store.create({ now: T0, memoryLimit: 64 * MiB });
  const second = new Store(first.memory); // as a worker attaches
  const arena = new ByteArena();
  const now = T0;
  // Enough items to grow the item table, the hash index and the segments.
  for (let i = 0; i < 20_000; i++) {
    const by = i % 2 === 0 ? first : second;
    by.set(bytes(`key:${i}`), valueFor(`key:${i}`, i, 100 + (i % 300)), { now });
  }
  for (let i = 0; i < 20_000; i += 7) {
    const by = i % 2 === 0 ? second : first;
    const item = hit(by.get(bytes(`key:${i}`), { now, into: arena }));
    assert.deepEqual(item?.value, valueFor(`key:${i}`, i, 100 + (i % 300)), `key:${i}`);
  }
  assert.equal(first.size, 20_000);
  assert.equal(second.bytes, first.bytes);
  second.flush({ now });
  assert.equal(first.get(bytes("key:0"), { now }), "miss");
});
