/** Options of a {@linkcode ByteArena}. */
export interface ByteArenaOptions {
  /** Bytes of the ring at most; larger requests than a quarter of it get a buffer of their own. @default {262144} */
  maxSize?: number;
  /** Bytes of the first ring (it doubles while too small, up to `maxSize`). @default {4096} */
  initialSize?: number;
}

/** A point in a {@linkcode ByteArena}: everything handed out before it. */
export interface ArenaMark {
  /** The ring it points into (a mark of a ring since replaced is ignored). */
  readonly ring: Uint8Array;
  /** Where the next buffer was to be cut. */
  readonly pos: number;
  /** Bytes the ring had advanced by then. */
  readonly total: number;
}

/**
 * Hands out byte buffers cut one after another from a ring, so that copying
 * many small values costs a view each rather than an allocation each, and
 * takes them back in order: `seal()` marks the end of a batch of buffers,
 * and `release(mark)` (in the order the marks were sealed) says nothing
 * reads the buffers up to that mark any more, so their bytes are cut again.
 * A buffer is never handed out twice while it is held: when the ring is
 * full, a ring twice the size replaces it (the old one stays with the
 * buffers cut from it), and beyond `maxSize`, buffers of their own.
 *
 * @example Usage
 * ```ts
 * import { ByteArena } from "./byte_arena.ts";
 * import assert from "node:assert/strict";
 *
 * const arena = new ByteArena();
 * const a = arena.alloc(3);
 * const b = arena.alloc(5);
 * assert.equal(a.buffer, b.buffer); // one ring
 * const mark = arena.seal();
 * arena.release(mark); // a and b may now be cut again
 * ```
 */
export class ByteArena {
  #maxSize: number;
  #firstSize: number;
  /** Made at the first `alloc`: a connection that never reads a value holds none. */
  #ring = new Uint8Array(0);
  /** Where the next buffer is cut. */
  #head = 0;
  /** Where the oldest held buffer starts. */
  #tail = 0;
  /** Nothing is held (head === tail is then empty, not full). */
  #empty = true;
  /** Marks sealed and not yet released for the current ring. */
  #marks = 0;
  /** Bytes the head has advanced, skipped ends of the ring included. */
  #total = 0;

  constructor(options: ByteArenaOptions = {}) {
    this.#maxSize = options.maxSize ?? 256 * 1024;
    this.#firstSize = Math.min(this.#maxSize, options.initialSize ?? 4096);
  }

  /** A buffer of `length` bytes (contents unspecified). */
  alloc(length: number): Uint8Array {
    if (length > this.#maxSize >> 2) return new Uint8Array(length);
    let at = this.#cut(length);
    while (at < 0) {
      if (this.#ring.length >= this.#maxSize) return new Uint8Array(length);
      this.#replace(Math.min(this.#maxSize, Math.max(this.#firstSize, this.#ring.length * 2)));
      at = this.#cut(length);
    }
    return this.#ring.subarray(at, at + length);
  }

  /** Marks the end of the buffers handed out so far. */
  seal(): ArenaMark {
    this.#marks++;
    return { ring: this.#ring, pos: this.#head, total: this.#total };
  }

  /**
   * Takes back every buffer handed out before `mark`. Marks must be released
   * in the order they were sealed (a skipped one is released with the next).
   */
  release(mark: ArenaMark): void {
    if (mark.ring !== this.#ring) return;
    this.#marks--;
    this.#tail = mark.pos;
    this.#empty = mark.total === this.#total;
  }

  /** Offset of `length` free bytes, cut from the ring; -1 when they are not free. */
  #cut(length: number): number {
    const size = this.#ring.length;
    if (this.#empty && this.#marks === 0) {
      // Nothing held and no mark out: start again at the front.
      this.#head = 0;
      this.#tail = 0;
    }
    const head = this.#head;
    const tail = this.#tail;
    let at = -1;
    let skipped = 0;
    if (this.#empty || head > tail) {
      // Free: [head, size) and [0, tail).
      if (size - head >= length) {
        at = head;
      } else if (tail >= length) {
        at = 0;
        skipped = size - head;
      }
    } else if (head < tail && tail - head >= length) {
      at = head; // free: [head, tail)
    }
    if (at < 0) return -1;
    this.#head = at + length === size ? 0 : at + length;
    this.#total += skipped + length;
    this.#empty = false;
    return at;
  }

  /** Starts a new, empty ring of `size` bytes; the old one stays with the buffers cut from it. */
  #replace(size: number): void {
    this.#ring = new Uint8Array(size);
    this.#head = 0;
    this.#tail = 0;
    this.#empty = true;
    this.#marks = 0;
  }
}
