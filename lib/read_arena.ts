/** The smallest arena: about what an idle connection's pending read holds. */
export const MIN_ARENA = 1024;

/** The largest arena, and so the largest read. */
export const MAX_ARENA = 64 * 1024;

/**
 * Where a connection's reads go: windows cut one after another from an
 * arena, each read's bytes a view of exactly what was read. No copy and no
 * allocation per read, and no chunk is ever overwritten (a used-up arena is
 * left to the garbage collector and a new one started), so consumers may
 * keep views of chunks.
 *
 * The arena is sized by the traffic: eight times the largest recent read
 * (a peak that decays by 1/32 with every smaller read, so a request a little
 * larger than the last few still fits in one read), between
 * {@linkcode MIN_ARENA} and {@linkcode MAX_ARENA}. Reads that fill their
 * window make the next arena larger; once reads have stayed small for a
 * while, a small arena is started again. A read that may wait long for a
 * connection's next request takes {@linkcode ReadArena.idleWindow}: it holds
 * a small arena, not the 64 KiB a bulk load needed.
 *
 * @example Usage
 * ```ts
 * import { ReadArena } from "./read_arena.ts";
 * import assert from "node:assert/strict";
 *
 * const arena = new ReadArena();
 * const window = arena.window();
 * window.set([1, 2, 3]);
 * const chunk = arena.commit(3);
 * assert.deepEqual([...chunk], [1, 2, 3]);
 * assert.equal(arena.window().byteOffset, 3);
 * ```
 */
export class ReadArena {
  #arena = new Uint8Array(0);
  #pos = 0;
  /** The largest recent read, decaying. */
  #peak = 0;

  /** Where the next read goes: the rest of the arena, or a new arena when little is left. */
  window(): Uint8Array {
    const arena = this.#arena;
    const rest = arena.length - this.#pos;
    const want = arenaSize(this.#peak);
    if (rest === 0 || rest < arena.length / 4 || arena.length > want * 4) {
      this.#arena = new Uint8Array(want);
      this.#pos = 0;
      return this.#arena;
    }
    return this.#pos === 0 ? arena : arena.subarray(this.#pos);
  }

  /**
   * Where a read that may wait long goes: the rest of a small arena, or a
   * new one of {@linkcode MIN_ARENA}. A larger request is read in more reads.
   */
  idleWindow(): Uint8Array {
    const arena = this.#arena;
    const rest = arena.length - this.#pos;
    if (arena.length > 2 * MIN_ARENA || rest < MIN_ARENA / 2) {
      this.#arena = new Uint8Array(MIN_ARENA);
      this.#pos = 0;
      return this.#arena;
    }
    return arena.subarray(this.#pos);
  }

  /** The `n` bytes just read into the last window, as a view that stays intact. */
  commit(n: number): Uint8Array {
    const start = this.#pos;
    this.#pos = start + n;
    const decayed = this.#peak - (this.#peak >> 5);
    this.#peak = n > decayed ? n : decayed;
    return this.#arena.subarray(start, this.#pos);
  }
}

/** Eight times `n`, rounded up to a power of two, within the arena bounds. */
function arenaSize(n: number): number {
  let size = MIN_ARENA;
  while (size < n * 8 && size < MAX_ARENA) size *= 2;
  return size;
}
