import type { ItemShape } from "./item_size.ts";
import { itemSize } from "./item_size.ts";
import type { SlabClasses } from "./slab_classes.ts";

/** Per-class command counters of `stats slabs`, in memcached's order. */
export const SLAB_COMMANDS = [
  "get_hits",
  "cmd_set",
  "delete_hits",
  "incr_hits",
  "decr_hits",
  "cas_hits",
  "cas_badval",
  "touch_hits",
] as const;

/** A per-class command counter. */
export type SlabCommand = (typeof SLAB_COMMANDS)[number];

/** Per-class item events of `stats items`. */
const ITEM_EVENTS = [
  "evicted",
  "evicted_nonzero",
  "evicted_time",
  "outofmemory",
  "reclaimed",
  "expired_unfetched",
  "evicted_unfetched",
] as const;

/** A per-class item event counter (`evicted_time` holds a last value, not a count). */
export type ItemEvent = (typeof ITEM_EVENTS)[number];

const COMMAND_INDEX = Object.fromEntries(SLAB_COMMANDS.map((f, i) => [f, i])) as Record<
  SlabCommand,
  number
>;
const EVENT_INDEX = Object.fromEntries(ITEM_EVENTS.map((f, i) => [f, i])) as Record<
  ItemEvent,
  number
>;

/** memcached's class ids run below this (`MAX_NUMBER_OF_SLAB_CLASSES`). */
const CLASSES = 64;

/** Item state per class: items, bytes requested, chunks in use, pages (high-water). */
const NUMBER = 0;
const MEM_REQUESTED = 1;
const USED_CHUNKS = 2;
const PAGES = 3;
const STATE = 4;

/** Where the item events start, then the command counters (a block per worker, then a baseline). */
const EVENTS_AT = STATE * CLASSES;
const COMMANDS_AT = EVENTS_AT + ITEM_EVENTS.length * CLASSES;
const COMMAND_BLOCK = SLAB_COMMANDS.length * CLASSES;

/** Options of a {@linkcode SlabStats}. */
export interface SlabStatsOptions {
  /** Shared memory from {@linkcode SlabStats.allocate}. @default {memory for one worker} */
  buffer?: SharedArrayBuffer;
  /** Which block of command counters is this worker's. @default {0} */
  worker?: number;
}

/** How an evicted item looked, for the event counters. */
export interface Eviction {
  /** It had an expiry time. */
  expires: boolean;
  /** It was never fetched. */
  unfetched: boolean;
  /** Seconds since its last access. */
  idle: number;
}

/**
 * Everything `stats items` and `stats slabs` count per slab class, in one
 * place: item state (how many items, bytes requested, chunks in use, pages
 * the class has had), item events (evictions, reclaims, out-of-memory) and
 * command hits. The store reports items linked, unlinked, evicted and
 * reclaimed; commands report their hits. All counts live in one
 * `SharedArrayBuffer` of float64s (whole numbers, exact up to 2^53),
 * `[field][class]`, so that the workers of a server with several see one
 * set: item state and events are written by the store under the write lock
 * only; command hits, counted under a read share by many workers at once,
 * go to a block per worker that only that worker writes, and reads sum the
 * blocks (`stats reset` records a baseline that reads subtract, as
 * {@linkcode Stats} does).
 *
 * `total_pages` is derived, as memcached's page allocator cannot be: a class
 * has had as many pages as its chunks in use have ever filled, and keeps
 * them (memcached does not return pages either, short of slab automove).
 *
 * @example Usage
 * ```ts
 * import { SlabClasses } from "./slab_classes.ts";
 * import { SlabStats } from "./slab_stats.ts";
 * import assert from "node:assert/strict";
 *
 * const stats = new SlabStats(new SlabClasses());
 * const item = { keyLength: 5, valueLength: 3, flags: 5 };
 * stats.linked(item);
 * stats.count("get_hits", stats.classOf(item));
 * assert.equal(stats.items(1), 1);
 * assert.equal(stats.memRequested(1), 71);
 * assert.equal(stats.command("get_hits", 1), 1);
 * ```
 */
export class SlabStats {
  /** The class table items are sized with. */
  readonly classes: SlabClasses;
  readonly #counts: Float64Array<SharedArrayBuffer>;
  readonly #workers: number;
  /** This worker's block of command counters. */
  readonly #commandBase: number;
  /** The reset baseline of the command counters (after the workers' blocks). */
  readonly #baseline: number;

  /** Makes the shared memory for the counts of `workers` workers. */
  static allocate(options: { workers: number }): SharedArrayBuffer {
    return new SharedArrayBuffer((COMMANDS_AT + (options.workers + 1) * COMMAND_BLOCK) * 8);
  }

  /**
   * Counts items sized by `classes` in `buffer` (from
   * {@linkcode SlabStats.allocate}) as worker number `worker`; without a
   * buffer, in memory of its own for one worker.
   */
  constructor(classes: SlabClasses, options: SlabStatsOptions = {}) {
    this.classes = classes;
    const buffer = options.buffer ?? SlabStats.allocate({ workers: 1 });
    this.#workers = buffer.byteLength / 8 / COMMAND_BLOCK - COMMANDS_AT / COMMAND_BLOCK - 1;
    const worker = options.worker ?? 0;
    if (!Number.isInteger(this.#workers) || worker < 0 || worker >= this.#workers) {
      throw new RangeError(`Worker ${worker} has no block in these slab counts`);
    }
    this.#counts = new Float64Array(buffer);
    this.#commandBase = COMMANDS_AT + worker * COMMAND_BLOCK;
    this.#baseline = COMMANDS_AT + this.#workers * COMMAND_BLOCK;
  }

  /** The shared memory, to attach another worker. */
  get buffer(): SharedArrayBuffer {
    return this.#counts.buffer;
  }

  /** The class listing an item (`stats items`, per-class command counters). */
  classOf(item: ItemShape): number {
    return this.classes.classFor(itemSize(item));
  }

  /** Counts a command hit (or set) in class `id`. */
  count(field: SlabCommand, id: number): void {
    this.#counts[this.#commandBase + COMMAND_INDEX[field] * CLASSES + id]++;
  }

  /** Counts a command hit (or set) in the class of `item`. */
  countFor(field: SlabCommand, item: ItemShape): void {
    this.count(field, this.classOf(item));
  }

  /** An item was linked: it now takes its chunks. */
  linked(item: ItemShape): void {
    this.#move(item, 1);
  }

  /** An item was unlinked (deleted, replaced, expired or evicted). */
  unlinked(item: ItemShape): void {
    this.#move(item, -1);
  }

  /** An item was evicted to make room (call before {@linkcode SlabStats.unlinked}). */
  evicted(item: ItemShape, how: Eviction): void {
    const id = this.classOf(item);
    this.#event("evicted", id, 1);
    if (how.expires) this.#event("evicted_nonzero", id, 1);
    if (how.unfetched) this.#event("evicted_unfetched", id, 1);
    this.#counts[this.#eventIndex("evicted_time", id)] = how.idle;
  }

  /** An expired item's memory was taken back. */
  reclaimed(item: ItemShape, unfetched: boolean): void {
    const id = this.classOf(item);
    this.#event("reclaimed", id, 1);
    if (unfetched) this.#event("expired_unfetched", id, 1);
  }

  /** An item could not be stored for want of memory. */
  outOfMemory(item: ItemShape): void {
    this.#event("outofmemory", this.classOf(item), 1);
  }

  /** Every item went at once (flush): state drops to nothing, pages stay. */
  emptied(): void {
    this.#counts.fill(0, 0, PAGES * CLASSES);
  }

  /** `stats reset`: events and command counters to zero; item state stays. */
  reset(): void {
    const counts = this.#counts;
    counts.fill(0, EVENTS_AT, COMMANDS_AT);
    for (let n = 0; n < COMMAND_BLOCK; n++) counts[this.#baseline + n] = this.#sum(n);
  }

  /** Items in class `id`. */
  items(id: number): number {
    return this.#counts[NUMBER * CLASSES + id];
  }

  /** Bytes the items of class `id` take (`mem_requested`). */
  memRequested(id: number): number {
    return this.#counts[MEM_REQUESTED * CLASSES + id];
  }

  /** Chunks of class `id` in use (item chunks, and header and value chunks of large items). */
  usedChunks(id: number): number {
    return this.#counts[USED_CHUNKS * CLASSES + id];
  }

  /** Pages class `id` has had (see the class description). */
  totalPages(id: number): number {
    return this.#counts[PAGES * CLASSES + id];
  }

  /** A command counter of class `id`. */
  command(field: SlabCommand, id: number): number {
    const n = COMMAND_INDEX[field] * CLASSES + id;
    return this.#sum(n) - this.#counts[this.#baseline + n];
  }

  /** An item event counter of class `id`. */
  event(field: ItemEvent, id: number): number {
    return this.#counts[this.#eventIndex(field, id)];
  }

  #event(field: ItemEvent, id: number, n: number): void {
    this.#counts[this.#eventIndex(field, id)] += n;
  }

  #eventIndex(field: ItemEvent, id: number): number {
    return EVENTS_AT + EVENT_INDEX[field] * CLASSES + id;
  }

  /** Command counter `n` summed over the workers' blocks. */
  #sum(n: number): number {
    let sum = 0;
    for (let w = 0; w < this.#workers; w++) {
      sum += this.#counts[COMMANDS_AT + w * COMMAND_BLOCK + n];
    }
    return sum;
  }

  #move(item: ItemShape, n: number): void {
    const counts = this.#counts;
    const chunks = this.classes.chunksOf(item);
    counts[NUMBER * CLASSES + chunks.lru] += n;
    counts[MEM_REQUESTED * CLASSES + chunks.lru] += n * itemSize(item);
    this.#chunks(chunks.first, n);
    if (chunks.largest > 0) this.#chunks(this.classes.count, n * chunks.largest);
    if (chunks.last !== 0) this.#chunks(chunks.last, n);
  }

  #chunks(id: number, n: number): void {
    const counts = this.#counts;
    const used = counts[USED_CHUNKS * CLASSES + id] += n;
    if (n > 0) {
      const pages = Math.ceil(used / this.classes.chunksPerPage(id));
      if (pages > counts[PAGES * CLASSES + id]) counts[PAGES * CLASSES + id] = pages;
    }
  }
}
