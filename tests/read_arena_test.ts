import assert from "node:assert/strict";
import { MAX_ARENA, MIN_ARENA, ReadArena } from "../lib/read_arena.ts";

/** Reads `n` bytes (at most the window) of value `fill`; returns the chunk. */
function read(arena: ReadArena, n: number, fill = 0): Uint8Array {
  const window = arena.window();
  const got = Math.min(n, window.length);
  window.fill(fill, 0, got);
  return arena.commit(got);
}

Deno.test("ReadArena never overwrites a chunk it handed out", () => {
  const arena = new ReadArena();
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < 3000; i++) chunks.push(read(arena, 1 + ((i * 7919) % 9000), i & 0xff));
  chunks.forEach((chunk, i) => {
    assert.ok(chunk.every((b) => b === (i & 0xff)), `chunk ${i} intact`);
  });
});

Deno.test("ReadArena grows while reads fill their window and goes back to a small arena after", () => {
  const arena = new ReadArena();
  assert.equal(arena.window().buffer.byteLength, MIN_ARENA);
  for (let i = 0; i < 10; i++) read(arena, Infinity); // a bulk load: every read fills its window
  assert.equal(arena.window().buffer.byteLength, MAX_ARENA);
  for (let i = 0; i < 60; i++) read(arena, 100); // then small requests
  // What a connection waiting for its next request holds.
  assert.ok(
    arena.window().buffer.byteLength <= 2 * MIN_ARENA,
    `${arena.window().buffer.byteLength}`,
  );
});

Deno.test("ReadArena fits every request of a steady mix of small and 1 KiB requests in one read", () => {
  const arena = new ReadArena();
  for (let i = 0; i < 20; i++) read(arena, 1120); // warm up
  let split = 0;
  for (let i = 0; i < 1000; i++) {
    const size = i % 10 === 0 ? 1120 : 88; // memaslap's 9:1 get/set with 1 KiB values
    if (read(arena, size).length < size) split++;
  }
  assert.equal(split, 0);
});
