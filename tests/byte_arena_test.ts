import assert from "node:assert/strict";
import { type ArenaMark, ByteArena } from "../lib/byte_arena.ts";
import { prng } from "./_support/prng.ts";

Deno.test("ByteArena cuts buffers one after another and hands large ones buffers of their own", () => {
  const arena = new ByteArena({ initialSize: 64, maxSize: 256 });
  const a = arena.alloc(10);
  const b = arena.alloc(6);
  assert.equal(a.buffer, b.buffer);
  assert.equal(b.byteOffset, a.byteOffset + 10);
  const big = arena.alloc(65);
  assert.equal(big.buffer.byteLength, 65, "over a quarter of the largest ring: its own buffer");
});

Deno.test("ByteArena reuses bytes only once their batch is released, in order", () => {
  const arena = new ByteArena({ initialSize: 32, maxSize: 32 });
  const first = arena.alloc(8);
  const firstMark = arena.seal();
  const second = arena.alloc(8);
  const secondMark = arena.seal();
  assert.equal(second.byteOffset, 8);
  arena.release(firstMark);
  // The ring's end is free, then the released front.
  assert.equal(arena.alloc(8).byteOffset, 16);
  assert.equal(arena.alloc(8).byteOffset, 24);
  const again = arena.alloc(8);
  assert.equal(again.buffer, first.buffer);
  assert.equal(again.byteOffset, 0, "the released batch's bytes come around again");
  assert.notEqual(arena.alloc(8).buffer, first.buffer, "the held batch is not cut again: full");
  arena.release(secondMark);
});

Deno.test("ByteArena never hands out bytes still held, whatever the sizes and releases", () => {
  const next = prng(5);
  const arena = new ByteArena({ initialSize: 64, maxSize: 1024 });
  // Batches not yet released, each with its buffers and what they must still hold.
  const held: { mark: ArenaMark; buffers: [Uint8Array, number][] }[] = [];
  let current: [Uint8Array, number][] = [];
  for (let step = 0; step < 20_000; step++) {
    const r = next();
    if (r < 0.6) {
      const buffer = arena.alloc(1 + Math.floor(next() * 100));
      const fill = step & 0xff;
      buffer.fill(fill);
      current.push([buffer, fill]);
    } else if (r < 0.8) {
      held.push({ mark: arena.seal(), buffers: current });
      current = [];
    } else if (held.length > 0) {
      const count = 1 + Math.floor(next() * Math.min(3, held.length));
      const released = held.splice(0, count);
      arena.release(released[released.length - 1].mark); // a later mark releases the earlier
    }
    for (const batch of [...held.map((h) => h.buffers), current]) {
      for (const [buffer, fill] of batch) {
        assert.ok(buffer.every((b) => b === fill), `a held buffer was overwritten at step ${step}`);
      }
    }
  }
});
