import assert from "node:assert/strict";
import { ByteArena } from "../lib/byte_arena.ts";

Deno.test("ByteArena cuts buffers from blocks, never overwrites them, and reuses a block only after reset", () => {
  const arena = new ByteArena({ blockSize: 64, firstBlockSize: 16 });
  const a = arena.alloc(10);
  const b = arena.alloc(6);
  assert.equal(a.buffer, b.buffer);
  assert.equal(b.byteOffset, a.byteOffset + 10);
  a.fill(1);
  b.fill(2);
  const big = arena.alloc(17);
  assert.notEqual(big.buffer, a.buffer, "over a quarter block: its own buffer");
  const c = arena.alloc(4);
  assert.notEqual(c.buffer, a.buffer, "a full block is left, a larger one started");
  assert.equal(c.buffer.byteLength, 64, "blocks grow ×4 up to the block size");
  c.fill(3);
  assert.deepEqual([...a, ...b], [...new Array(10).fill(1), ...new Array(6).fill(2)], "intact");
  arena.reset();
  assert.equal(arena.alloc(4).buffer, c.buffer, "reset cuts the current block again");
});
