import assert from "node:assert/strict";
import { ItemTable } from "../../lib/store/item_table.ts";

/** A table whose "records" are the slot numbers themselves: key i is stored at address i. */
function make(maxSlots = 1 << 16) {
  const keys = {
    keyEquals: (address: number, key: Uint8Array) => address === key[0] + (key[1] << 8),
  };
  return new ItemTable(ItemTable.allocate({ maxSlots }), keys);
}

const key = (n: number) => Uint8Array.of(n & 0xff, n >> 8);

function add(table: ItemTable, n: number, hash = n * 2654435761): number {
  const slot = table.allocate();
  table.setHash(slot, hash | 0);
  table.setLengths(slot, 2, 0);
  table.setAddress(slot, n);
  table.link(slot);
  return slot;
}

Deno.test("ItemTable finds every item through growth of slots and buckets", () => {
  const table = make();
  const slots = new Map<number, number>();
  for (let n = 0; n < 20_000; n++) slots.set(n, add(table, n));
  assert.equal(table.count, 20_000);
  for (const [n, slot] of slots) {
    assert.equal(table.find(key(n), (n * 2654435761) | 0), slot, `${n}`);
  }
  assert.equal(table.find(key(20_001), (20_001 * 2654435761) | 0), -1);
});

Deno.test("ItemTable keeps colliding hashes apart by key", () => {
  const table = make();
  const a = add(table, 1, 7);
  const b = add(table, 2, 7);
  const c = add(table, 3, 7 + 1024); // same bucket, different hash
  assert.deepEqual([table.find(key(1), 7), table.find(key(2), 7), table.find(key(3), 7 + 1024)], [
    a,
    b,
    c,
  ]);
  table.remove(b);
  assert.deepEqual([table.find(key(1), 7), table.find(key(2), 7), table.find(key(3), 7 + 1024)], [
    a,
    -1,
    c,
  ]);
});

Deno.test("ItemTable keeps LRU order, moves items to the tail and reuses freed slots", () => {
  const table = make();
  const slots = [0, 1, 2, 3].map((n) => add(table, n));
  const order = () => {
    const out: number[] = [];
    for (let s = table.head; s !== -1; s = table.next(s)) out.push(s);
    return out;
  };
  assert.deepEqual(order(), slots);
  table.toTail(slots[1]);
  assert.deepEqual(order(), [slots[0], slots[2], slots[3], slots[1]]);
  table.remove(slots[2]);
  assert.deepEqual(order(), [slots[0], slots[3], slots[1]]);
  assert.equal(table.addressOf(slots[2]), -1);
  assert.equal(table.allocate(), slots[2], "a freed slot is handed out again");
  table.reset();
  assert.equal(table.count, 0);
  assert.equal(table.head, -1);
  assert.equal(table.find(key(0), 0), -1);
});

Deno.test("ItemTable refuses a slot when its reserved space is full", () => {
  const table = make(1024);
  for (let n = 0; n < 1024; n++) add(table, n);
  assert.equal(table.allocate(), -1);
});

Deno.test("ItemTable bits change atomically: orBits and clearBits return the bits before", () => {
  const table = make();
  const slot = add(table, 5);
  table.setBits(slot, 0);
  const filled = table.bits(slot); // no mark: only the count of fillings above them
  assert.equal(table.orBits(slot, 4), filled);
  assert.equal(table.orBits(slot, 4) & 4, 4, "a second claim sees it taken");
  assert.equal(table.clearBits(slot, 4), filled | 4);
  assert.equal(table.bits(slot), filled);
});

Deno.test("ItemTable counts a slot's fillings in its bits: exchangeBits lands only on the filling it saw", () => {
  const table = make();
  const slot = add(table, 5);
  table.setBits(slot, 3);
  const seen = table.bits(slot);
  assert.equal(seen & 0xff, 3);
  table.setBits(slot, 3); // filled again, with the same marks
  assert.notEqual(table.bits(slot), seen, "another filling, other bits");
  assert.equal(table.exchangeBits(slot, seen, seen | 0x100), table.bits(slot), "not changed");
  const now = table.bits(slot);
  assert.equal(table.exchangeBits(slot, now, now | 0x100), now);
  assert.equal(table.bits(slot), now | 0x100);
});
