import assert from "node:assert/strict";
import { ByteArena } from "../lib/byte_arena.ts";

Deno.test("ByteArena cuts buffers from blocks, gives large ones their own, and reuses after reset", () => {
  const arena = new ByteArena({ blockSize: 64 });
  const a = arena.alloc(10);
  const b = arena.alloc(6);
  assert.equal(a.buffer, b.buffer);
  assert.equal(b.byteOffset, a.byteOffset + 10);
  a.fill(1);
  b.fill(2);
  assert.deepEqual([...a], new Array(10).fill(1), "no overlap");
  const big = arena.alloc(17);
  assert.notEqual(big.buffer, a.buffer, "over a quarter block: its own buffer");
  const c = arena.alloc(16);
  assert.equal(c.buffer, a.buffer, "still the first block");
  const d = arena.alloc(40);
  assert.notEqual(d.buffer, a.buffer, "a block that is full moves on");
  arena.reset();
  assert.equal(arena.alloc(4).buffer, a.buffer, "reset starts at the first block again");
});
