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
  for (let i = 0; i < 200; i++) read(arena, 100); // then small requests
  const size = arena.window().buffer.byteLength;
  assert.ok(size <= 2 * MIN_ARENA, `${size}`);
});

Deno.test("ReadArena's window for a read that may wait long holds a small arena", () => {
  const arena = new ReadArena();
  for (let i = 0; i < 10; i++) read(arena, Infinity);
  assert.equal(arena.idleWindow().buffer.byteLength, MIN_ARENA);
  const chunk = arena.commit(10);
  assert.equal(chunk.buffer.byteLength, MIN_ARENA);
  assert.equal(arena.idleWindow().buffer, chunk.buffer, "a small arena with room is used on");
});

Deno.test("ReadArena fits nearly every request of a 9:1 mix of small and 1 KiB requests in one read", () => {
  const arena = new ReadArena();
  for (let i = 0; i < 20; i++) read(arena, 1120); // warm up
  let split = 0;
  let seed = 7;
  for (let i = 0; i < 10_000; i++) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    const size = seed % 10 === 0 ? 1120 : 88; // memaslap's 9:1 get/set with 1 KiB values
    if (read(arena, size).length < size) split++;
  }
  assert.ok(split <= 10, `${split} of 10,000 requests needed two reads`);
});
