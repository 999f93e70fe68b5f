import { ITEM_CAS_BYTES, ITEM_HEADER_BYTES, type ItemShape, itemSize } from "./item_size.ts";

/** Bytes of memcached's `item_chunk` header, in the item header and in each data chunk. */
const CHUNK_HEADER_BYTES = 48;

/** memcached aligns every chunk size to this many bytes (`CHUNK_ALIGN_BYTES`). */
const CHUNK_ALIGN_BYTES = 8;

/** memcached's `MAX_NUMBER_OF_SLAB_CLASSES`: class ids run from 1 to at most 63. */
const MAX_CLASSES = 64;

/** Options of {@linkcode SlabClasses}, named after memcached's flags. */
export interface SlabClassesOptions {
  /** Chunk size growth factor, more than 1 (`-f`). @default {1.25} */
  growthFactor?: number;
  /** Minimum space for key, value and flags in the smallest chunk (`-n`). @default {48} */
  minSpace?: number;
  /** Largest chunk; bigger items are split into chunks (`-o slab_chunk_max`). @default {524288} */
  slabChunkMax?: number;
  /** Bytes of a slab page. @default {1048576} */
  slabPageSize?: number;
  /** Largest item (`-I`): larger sizes belong to no class. @default {1048576} */
  maxItemSize?: number;
}

/**
 * Where an item's memory sits, as memcached allocates it: one chunk of class
 * `first`, or for an item larger than the largest chunk a header chunk of
 * class `first`, `largest` more chunks of the largest class and one last
 * chunk of class `last`.
 */
export interface ItemChunks {
  /** The class listing the item in `stats items` (its LRU). */
  lru: number;
  /** Class of the only chunk, or of the header chunk of a chunked item. */
  first: number;
  /** Chunks of the largest class that hold value bytes. */
  largest: number;
  /** Class of the last value chunk of a chunked item; 0 when there is none. */
  last: number;
}

/**
 * memcached's slab classes (`slabs_init`): the first chunk holds the 48-byte
 * item header plus `-n` bytes, rounded up to 8; each next class is the
 * previous times `-f` (truncated, then rounded up to 8) while it stays under
 * `slab_chunk_max / -f`; the last class is `slab_chunk_max` itself, and there
 * are at most 63. A class holds `page size / chunk size` chunks per page.
 * These are the `chunk_size` and `chunks_per_page` of `stats slabs`.
 *
 * @example Usage
 * ```ts
 * import { SlabClasses } from "./slab_classes.ts";
 * import assert from "node:assert/strict";
 *
 * const classes = new SlabClasses();
 * assert.equal(classes.count, 39);
 * assert.equal(classes.chunkSize(1), 96);
 * assert.equal(classes.chunksPerPage(1), 10922);
 * assert.equal(classes.classFor(160), 4); // a 100-byte value under a 1-byte key
 * ```
 */
export class SlabClasses {
  /** Chunk sizes by class id; index 0 unused. */
  readonly #sizes: number[] = [0];
  readonly #pageSize: number;
  readonly #chunkMax: number;
  readonly #maxItemSize: number;

  constructor(options: SlabClassesOptions = {}) {
    const factor = options.growthFactor ?? 1.25;
    if (!(factor > 1)) throw new RangeError(`Growth factor must be more than 1, got ${factor}`);
    const minSpace = options.minSpace ?? 48;
    if (!(minSpace > 0)) throw new RangeError(`Minimum space must be positive, got ${minSpace}`);
    this.#pageSize = options.slabPageSize ?? 1024 * 1024;
    this.#chunkMax = options.slabChunkMax ?? this.#pageSize / 2;
    this.#maxItemSize = options.maxItemSize ?? 1024 * 1024;
    let size = ITEM_HEADER_BYTES + minSpace;
    let id = 1;
    for (; id < MAX_CLASSES - 1 && size < this.#chunkMax / factor; id++) {
      if (size % CHUNK_ALIGN_BYTES) size += CHUNK_ALIGN_BYTES - (size % CHUNK_ALIGN_BYTES);
      this.#sizes.push(size);
      size = Math.floor(size * factor) >>> 0;
    }
    this.#sizes[id] = this.#chunkMax;
  }

  /** How many classes there are; ids run from 1 to `count`, the largest last. */
  get count(): number {
    return this.#sizes.length - 1;
  }

  /** Bytes of a chunk of class `id`. */
  chunkSize(id: number): number {
    return this.#sizes[id];
  }

  /** Chunks of class `id` in one page. */
  chunksPerPage(id: number): number {
    return Math.floor(this.#pageSize / this.#sizes[id]);
  }

  /** Bytes of a slab page. */
  get pageSize(): number {
    return this.#pageSize;
  }

  /**
   * The class for `size` bytes (memcached's `slabs_clsid`): the smallest whose
   * chunks hold it, the largest class for sizes beyond every chunk, 0 for 0
   * or more than the item size limit.
   */
  classFor(size: number): number {
    if (size === 0 || size > this.#maxItemSize) return 0;
    const sizes = this.#sizes;
    const largest = sizes.length - 1;
    if (size > sizes[largest]) return largest;
    let low = 1;
    let high = largest;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (sizes[mid] < size) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  /**
   * The chunks an item occupies (`do_item_alloc`, `do_item_alloc_chunk`). An
   * item up to `slab_chunk_max` bytes is one chunk; a larger one is a header
   * (item header, key, flags, CAS and a chunk header) in a small class, then
   * value chunks of up to `slab_chunk_max` bytes, each with its own 48-byte
   * chunk header, the last one from the class that fits what remains.
   */
  chunksOf(item: ItemShape): ItemChunks {
    const total = itemSize(item);
    const lru = this.classFor(total);
    if (total <= this.#chunkMax) return { lru, first: lru, largest: 0, last: 0 };
    const header = ITEM_HEADER_BYTES + item.keyLength + 1 + (item.flags !== 0 ? 4 : 0) +
      CHUNK_HEADER_BYTES + ITEM_CAS_BYTES;
    const valueBytes = item.valueLength + 2;
    const perChunk = this.#chunkMax - CHUNK_HEADER_BYTES;
    const largest = Math.max(0, Math.ceil(valueBytes / perChunk) - 1);
    const rest = valueBytes - largest * perChunk;
    return {
      lru,
      first: this.classFor(header),
      largest,
      last: this.classFor(rest + CHUNK_HEADER_BYTES),
    };
  }
}
