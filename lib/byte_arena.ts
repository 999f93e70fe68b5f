/** Options of a {@linkcode ByteArena}. */
export interface ByteArenaOptions {
  /** Bytes per block; larger requests get a buffer of their own. @default {65536} */
  blockSize?: number;
}

/**
 * Hands out byte buffers cut from large blocks, so that copying many small
 * values costs a view each rather than an allocation each. After `reset()`
 * the blocks are cut again from the start: reset only once nothing reads the
 * buffers handed out before.
 *
 * Requests over a quarter of a block get a buffer of their own (not reused).
 *
 * @example Usage
 * ```ts
 * import { ByteArena } from "./byte_arena.ts";
 * import assert from "node:assert/strict";
 *
 * const arena = new ByteArena();
 * const a = arena.alloc(3);
 * const b = arena.alloc(5);
 * assert.equal(a.buffer, b.buffer); // one block
 * arena.reset(); // a and b may now be overwritten
 * ```
 */
export class ByteArena {
  #blockSize: number;
  #blocks: Uint8Array[] = [];
  #block = -1;
  #fill = 0;

  constructor(options: ByteArenaOptions = {}) {
    this.#blockSize = options.blockSize ?? 64 * 1024;
  }

  /** A buffer of `length` bytes (contents unspecified). */
  alloc(length: number): Uint8Array {
    if (length > this.#blockSize >> 2) return new Uint8Array(length);
    if (this.#block < 0 || this.#fill + length > this.#blockSize) this.#nextBlock();
    const start = this.#fill;
    this.#fill += length;
    return this.#blocks[this.#block].subarray(start, this.#fill);
  }

  /** Starts cutting from the first block again. */
  reset(): void {
    this.#block = -1;
    this.#fill = 0;
  }

  #nextBlock(): void {
    this.#block++;
    this.#fill = 0;
    if (this.#block === this.#blocks.length) this.#blocks.push(new Uint8Array(this.#blockSize));
  }
}
