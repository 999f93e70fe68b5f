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
 * `Float64Array` (whole numbers, exact up to 2^53), `[field][class]`, so the
 * layout can move into shared memory as it is.
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
  readonly #counts: Float64Array;
  readonly #commandBase: number;
  readonly #eventBase: number;

  constructor(classes: SlabClasses) {
    this.classes = classes;
    this.#eventBase = STATE * CLASSES;
    this.#commandBase = this.#eventBase + ITEM_EVENTS.length * CLASSES;
    this.#counts = new Float64Array(this.#commandBase + SLAB_COMMANDS.length * CLASSES);
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
    this.#counts.fill(0, this.#eventBase);
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
    return this.#counts[this.#commandBase + COMMAND_INDEX[field] * CLASSES + id];
  }

  /** An item event counter of class `id`. */
  event(field: ItemEvent, id: number): number {
    return this.#counts[this.#eventIndex(field, id)];
  }

  #event(field: ItemEvent, id: number, n: number): void {
    this.#counts[this.#eventIndex(field, id)] += n;
  }

  #eventIndex(field: ItemEvent, id: number): number {
    return this.#eventBase + EVENT_INDEX[field] * CLASSES + id;
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
