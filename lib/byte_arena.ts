/** Options of a {@linkcode ByteArena}. */
export interface ByteArenaOptions {
  /** Bytes of the largest block; larger requests get a buffer of their own. @default {65536} */
  blockSize?: number;
  /** Bytes of the first block (blocks grow ×4 up to `blockSize`). @default {blockSize} */
  firstBlockSize?: number;
}

/**
 * Hands out byte buffers cut one after another from a block, so that
 * copying many small values costs a view each rather than an allocation
 * each. A full block is left to the garbage collector (the buffers cut from
 * it stay valid) and a new one started, so buffers handed out are never
 * overwritten, unless the owner calls `reset()` once nothing reads them.
 *
 * Requests over a quarter of a block get a buffer of their own.
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
  #maxBlock: number;
  #nextBlock: number;
  #block = new Uint8Array(0);
  #fill = 0;

  constructor(options: ByteArenaOptions = {}) {
    this.#maxBlock = options.blockSize ?? 64 * 1024;
    this.#nextBlock = Math.min(this.#maxBlock, options.firstBlockSize ?? this.#maxBlock);
  }

  /** A buffer of `length` bytes (contents unspecified). */
  alloc(length: number): Uint8Array {
    if (length > this.#maxBlock >> 2) return new Uint8Array(length);
    if (this.#fill + length > this.#block.length) {
      this.#block = new Uint8Array(Math.max(this.#nextBlock, length));
      this.#nextBlock = Math.min(this.#maxBlock, this.#nextBlock * 4);
      this.#fill = 0;
    }
    const start = this.#fill;
    this.#fill += length;
    return this.#block.subarray(start, this.#fill);
  }

  /** Cuts the current block from its start again: earlier buffers may be overwritten. */
  reset(): void {
    this.#fill = 0;
  }
}
