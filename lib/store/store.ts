import { type ItemShape, itemSize } from "../item_size.ts";
import { SlabClasses, type SlabClassesOptions } from "../slab_classes.ts";
import { SlabStats } from "../slab_stats.ts";
import { hashKey } from "./hash_key.ts";
import { Item } from "./item.ts";
import { ItemTable, type ItemTableMemory } from "./item_table.ts";
import { parseCounter } from "./parse_counter.ts";
import { type ReadCheck, ReadConflict } from "./read_conflict.ts";
import { Segments, type SegmentsMemory } from "./segments.ts";
import type { SnapshotItem } from "../snapshot/snapshot_store.ts";

/** Expiry times up to this many seconds are relative; larger ones are Unix times. */
export const REALTIME_MAXDELTA = 60 * 60 * 24 * 30;

/** Longest key, in bytes (memcached's `KEY_MAX_LENGTH`). */
export const KEY_MAX_LENGTH = 250;

/**
 * A fetch renews an item's last access (and moves it up the LRU) only when
 * that is more than this many seconds old (memcached's `ITEM_UPDATE_INTERVAL`).
 */
const ITEM_UPDATE_INTERVAL = 60;

/** Bits of an item: meta marks in the low byte, then lifecycle bits. */
const BINARY_KEY = 1;
const STALE = 2;
const TOKEN_SENT = 4;
/** Fetched since stored (memcached's `ITEM_FETCHED`). */
const FETCHED = 0x100;
/** Accessed since it last moved in the LRU: eviction moves it to the tail instead. */
const ACTIVE = 0x200;
/** Found dead by a reader: gone for lookups; the next writer unlinks it. */
const DEAD = 0x400;

const NONE = -1;
const U64 = (1n << 64n) - 1n;
const EMPTY = new Uint8Array(0);

// Control: float64 places, written under the write lock only. Fields every
// lookup reads sit on their own 64-byte line, apart from those every store
// writes, so that readers on other cores do not miss on them after each set.
const BASE = 0; // read-mostly line: Unix seconds of store second 0
const FLUSH_AT = 1; // store seconds; 0 = no flush pending
const FLUSH_CAS = 2;
const MEMORY_LIMIT = 3;
const MAX_MEMORY_LIMIT = 4;
const CAS_COUNTER = 8; // written line
const BYTES = 9;
const EVICTIONS = 10;
const EXPIRED_UNFETCHED = 11;
const EVICTED_UNFETCHED = 12;
const RECLAIMED = 13;
const TOTAL_ITEMS = 14;
const CONTROL_FLOATS = 16;
// Control: int32 places, after the float64s.
const SEED = 2 * CONTROL_FLOATS;
const MAX_ITEM_SIZE = SEED + 1;
const EVICT = SEED + 2;
const SWEEP_CURSOR = SEED + 16; // on a line of its own
const CONTROL_INTS = 32;

/** Why a lookup found nothing: no such key, or (told once, to the first who finds it) it died. */
export type Miss = "miss" | "expired" | "flushed";

/** Which storage command to perform. */
export type StoreMode = "set" | "add" | "replace" | "append" | "prepend" | "cas";

/** How a storage command ends; `item` (metadata only) when stored. */
export type SetResult =
  | { status: "stored"; item: Item }
  | { status: "not_stored" | "exists" | "not_found" | "too_large" | "no_memory" };

/** How an incr/decr ends; the new `value` and `item` (metadata only) when `ok`. */
export type DeltaResult =
  | { status: "ok"; value: bigint; item: Item }
  | { status: "not_found" | "non_numeric" | "exists" | "no_memory" };

/** Counters the store keeps, with memcached's stat names. */
export interface StoreCounters {
  evictions: number;
  expired_unfetched: number;
  evicted_unfetched: number;
  reclaimed: number;
  total_items: number;
}

/** Where a lookup copies values: anything that hands out byte buffers. */
export interface ValueSink {
  /** A buffer of `length` bytes the store may fill. */
  alloc(length: number): Uint8Array;
}

/** Options of {@linkcode Store.create}. */
export interface StoreOptions {
  /** Unix seconds now: the store's time starts here. */
  now: number;
  /** Memory for items, in bytes, as memcached counts it. @default {64 MiB} */
  memoryLimit?: number;
  /** The largest memory limit the store can be raised to later. @default {2 × memoryLimit} */
  maxMemoryLimit?: number;
  /** Largest item, in bytes, header included. @default {1 MiB} */
  maxItemSize?: number;
  /** Evict least recently used items when full; `false` answers "no memory" instead. @default {true} */
  evict?: boolean;
  /** Bytes per segment of key and value memory. @default {1 MiB} */
  segmentSize?: number;
  /** Hash seed. @default {random} */
  seed?: number;
  /** The slab classes `stats items` and `stats slabs` size items by. @default {memcached's, up to `maxItemSize`} */
  classes?: SlabClassesOptions;
  /** Workers that will attach (each counts command hits per slab class in a block of its own). @default {1} */
  workers?: number;
}

/** The shared memory of a {@linkcode Store}: pass it to a worker, then `new Store(memory)`. */
export interface StoreMemory {
  control: SharedArrayBuffer;
  table: ItemTableMemory;
  segments: SegmentsMemory;
  /** Per-slab-class counts ({@linkcode SlabStats}). */
  slabs: SharedArrayBuffer;
  /** The slab classes they are counted by. */
  classes: SlabClassesOptions;
}

/** Options of attaching to a store's memory. */
export interface AttachOptions {
  /** Which worker attaches (its block of per-class command counters). @default {0} */
  worker?: number;
}

/** Options of a lookup. */
export interface GetOptions {
  /** Unix seconds now. */
  now: number;
  /** Copy the value into a buffer from here; without it, `value` stays empty. */
  into?: ValueSink;
  /** Look only: do not mark the item fetched or bump its last access. @default {false} */
  peek?: boolean;
  /**
   * Read optimistically, holding no share of the store lock: the read
   * changes nothing and, unless `check` still holds once the value is
   * copied, throws {@linkcode ReadConflict} (as it does when the read would
   * have to change the item). @default {a share is held}
   */
  check?: ReadCheck;
}

/** Options of {@linkcode Store.touch}. */
export interface TouchOptions {
  /** Unix seconds now. */
  now: number;
  /** The new expiry, as the protocol gives it (see {@linkcode Store.expiry}). */
  exptime: number;
  /** Copy the value into a buffer from here (for get-and-touch). */
  into?: ValueSink;
}

/** Options of {@linkcode Store.set}. */
export interface SetOptions {
  /** Unix seconds now. */
  now: number;
  /** The command. @default {"set"} */
  mode?: StoreMode;
  /** Client flags (ignored by append and prepend). @default {0} */
  flags?: number;
  /** Expiry as the protocol gives it (ignored by append and prepend). @default {0} */
  exptime?: number;
  /** The item must have this CAS (required by `"cas"`, optional for the others). @default {0} */
  cas?: number;
}

/** Options of {@linkcode Store.delete}. */
export interface DeleteOptions {
  /** Unix seconds now. */
  now: number;
  /** Delete only this version. @default {0 (any)} */
  cas?: number;
}

/** Options of {@linkcode Store.delta}. */
export interface DeltaOptions {
  /** Unix seconds now. */
  now: number;
  /** Add or subtract. */
  op: "incr" | "decr";
  /** Unsigned 64-bit amount. */
  amount: bigint;
  /** Change only this version. @default {0 (any)} */
  cas?: number;
  /**
   * Whether something besides the store still holds item version `cas`
   * (memcached's reference count: a reply not yet sent). When nothing does
   * and the new digits fit, the counter is rewritten in place, padded with
   * spaces to the old length, keeping the item's marks and fetched state;
   * otherwise a new item of just the digits replaces it.
   * @default {() => false}
   */
  heldElsewhere?: (cas: number) => boolean;
}

/** A fully specified item, for {@linkcode Store.insert} (restoring a snapshot). */
export interface InsertOptions {
  /** Unix seconds now. */
  now: number;
  key: Uint8Array;
  value: Uint8Array;
  flags?: number;
  /** Absolute expiry in Unix seconds; 0 = never. */
  exptime?: number;
  /** Its CAS; the store's counter moves past it. A held copy of the key with a CAS as high or higher stays. */
  cas: number;
  /** Unix seconds of its last access. @default {now} */
  time?: number;
  fetched?: boolean;
  binaryKey?: boolean;
  stale?: boolean;
  tokenSent?: boolean;
}

/** Meta protocol marks to set (true) or clear (false); absent ones stay. */
export interface Marks {
  binaryKey?: boolean;
  stale?: boolean;
  tokenSent?: boolean;
}

/** Options of {@linkcode Store.entries}. */
export interface EntriesOptions {
  /** Unix seconds now: dead items are skipped. */
  now: number;
  /** Copy keys and values into buffers from here. */
  into: ValueSink;
  /** Most recently used first. @default {false} */
  newestFirst?: boolean;
  /** Copy only the keys: items come without their values. @default {false} */
  keysOnly?: boolean;
}

/** Options of {@linkcode Store.flush}. */
export interface FlushOptions {
  /** Unix seconds now. */
  now: number;
  /** Seconds (or a Unix time, as an expiry) until the flush takes effect. @default {0} */
  delay?: number;
}

/** Options of {@linkcode Store.sweep}. */
export interface SweepOptions {
  /** Unix seconds now. */
  now: number;
  /** Items to visit, continuing where the last sweep stopped. @default {all} */
  limit?: number;
}

/**
 * The item store: memcached's rules for items (`do_store_item`,
 * `do_add_delta`, expiry, flush, CAS, LRU eviction and memory limit) over an
 * {@linkcode ItemTable} and {@linkcode Segments} in shared memory, so that
 * every worker that attaches to its {@linkcode StoreMemory} sees one store.
 *
 * Keys are bytes, hashed and compared as bytes; the store copies what it is
 * given and never keeps the caller's buffers. Lookups copy values out into a
 * caller's {@linkcode ValueSink} while the caller holds the lock, so nothing
 * handed out points into shared memory. Time is passed in (`now`, Unix
 * seconds) on every call.
 *
 * Locking is the caller's: `get`, `touch`, `entries`, `claimToken`,
 * `setExpiry` and the counters need a read share (they change only per-item
 * bits, expiry and last access, never structure); everything else needs the
 * write lock. An item that a reader finds dead is marked so and unlinked by
 * the next writer that meets it (a lookup, eviction, or
 * {@linkcode Store.sweep}); until then it is counted in `size` and `bytes`,
 * as memcached counts items its crawler has not reached.
 *
 * @example Usage
 * ```ts
 * import { Store } from "./store.ts";
 * import { ByteArena } from "../byte_arena.ts";
 * import assert from "node:assert/strict";
 *
 * const now = 1_700_000_000;
 * const store = Store.create({ now, memoryLimit: 1 << 20 });
 * const key = new TextEncoder().encode("k");
 * store.set(key, new TextEncoder().encode("v"), { now, exptime: 10 });
 * const item = store.get(key, { now, into: new ByteArena() });
 * assert.ok(typeof item !== "string");
 * assert.equal(new TextDecoder().decode(item.value), "v");
 * assert.equal(store.get(key, { now: now + 10 }), "expired");
 * ```
 */
export class Store {
  #memory: StoreMemory;
  #f: Float64Array;
  #i: Int32Array;
  #table: ItemTable;
  #segments: Segments;
  #base: number;
  #seed: number;
  #scratch = new Uint8Array(256);
  #slabs: SlabStats;
  /** Evict even under `-M` (a restore is no client). */
  #forceEvict = false;

  /** Creates a store in fresh shared memory. */
  static create(options: StoreOptions): Store {
    const limit = options.memoryLimit ?? 64 * 1024 * 1024;
    const maxLimit = Math.max(limit, options.maxMemoryLimit ?? 2 * limit);
    const segmentSize = options.segmentSize ?? 1024 * 1024;
    const control = new SharedArrayBuffer(CONTROL_FLOATS * 8 + CONTROL_INTS * 4);
    const f = new Float64Array(control, 0, CONTROL_FLOATS);
    const i = new Int32Array(control);
    f[MEMORY_LIMIT] = limit;
    f[MAX_MEMORY_LIMIT] = maxLimit;
    f[BASE] = options.now - 2;
    i[SEED] = options.seed ?? (Math.random() * 0x1_0000_0000) | 0;
    i[MAX_ITEM_SIZE] = options.maxItemSize ?? 1024 * 1024;
    i[EVICT] = options.evict === false ? 0 : 1;
    i[SWEEP_CURSOR] = NONE;
    // Records take at most their charged size; compaction keeps segments
    // within 4/3 of the live bytes, plus the open segment and slack.
    const segments = Segments.allocate({
      maxBytes: Math.ceil(maxLimit * 4 / 3) + 8 * segmentSize,
      segmentSize,
    });
    const table = ItemTable.allocate({
      maxSlots: maxLimit / itemSize({ keyLength: 1, valueLength: 0, flags: 0 }),
    });
    const classes = { maxItemSize: i[MAX_ITEM_SIZE], ...options.classes };
    const slabs = SlabStats.allocate({ workers: options.workers ?? 1 });
    return new Store({ control, table, segments, slabs, classes });
  }

  /** Attaches to a store's shared memory (in any worker). */
  constructor(memory: StoreMemory, options: AttachOptions = {}) {
    this.#memory = memory;
    this.#f = new Float64Array(memory.control, 0, CONTROL_FLOATS);
    this.#i = new Int32Array(memory.control);
    const segments: Segments = new Segments(memory.segments, {
      addressOf: (owner) => this.#table.addressOf(owner),
      move: (owner, to) => this.#table.move(owner, to),
    });
    this.#segments = segments;
    this.#table = new ItemTable(memory.table, segments);
    this.#base = this.#f[BASE];
    this.#seed = this.#i[SEED];
    this.#slabs = new SlabStats(new SlabClasses(memory.classes), {
      buffer: memory.slabs,
      worker: options.worker,
    });
  }

  /** Per-slab-class counts of the items held, and of command hits (counted by the commands). */
  get slabStats(): SlabStats {
    return this.#slabs;
  }

  /** Buckets of the hash index (`hash_power_level` is its log2). */
  get hashBuckets(): number {
    this.#table.sync();
    return this.#table.buckets;
  }

  /** Unix seconds at or before which items stored or bumped are flushed; 0 when no flush was asked. */
  get flushedBefore(): number {
    const at = this.#f[FLUSH_AT];
    return at === 0 ? 0 : this.#base + at;
  }

  /** The shared memory, to hand to another worker. */
  get memory(): StoreMemory {
    return this.#memory;
  }

  /** Number of items held (those found dead but not yet unlinked included). */
  get size(): number {
    return this.#table.count;
  }

  /** Bytes charged for the items held, as memcached counts them. */
  get bytes(): number {
    return this.#f[BYTES];
  }

  /** The memory limit in bytes. */
  get memoryLimit(): number {
    return this.#f[MEMORY_LIMIT];
  }

  /**
   * Changes the memory limit, evicting down to it (memcached's
   * `cache_memlimit`; write lock). Capped at the `maxMemoryLimit` the store
   * was created with.
   */
  setMemoryLimit(bytes: number, now: number): void {
    this.#sync();
    this.#f[MEMORY_LIMIT] = Math.min(bytes, this.#f[MAX_MEMORY_LIMIT]);
    this.#makeRoom(0, this.#rel(now));
  }

  /** The item size limit in bytes. */
  get maxItemSize(): number {
    return this.#i[MAX_ITEM_SIZE];
  }

  /** Whether the store evicts when full (else it answers "no memory"). */
  get evicts(): boolean {
    return this.#i[EVICT] === 1;
  }

  /** Counters with memcached's names. */
  get counters(): StoreCounters {
    const f = this.#f;
    return {
      evictions: f[EVICTIONS],
      expired_unfetched: f[EXPIRED_UNFETCHED],
      evicted_unfetched: f[EVICTED_UNFETCHED],
      reclaimed: f[RECLAIMED],
      total_items: f[TOTAL_ITEMS],
    };
  }

  /** Sets the counters to zero, as `stats reset` does (items stay). */
  resetCounters(): void {
    this.#f.fill(0, EVICTIONS, TOTAL_ITEMS + 1);
  }

  /** The last CAS value handed out. */
  get lastCas(): number {
    return this.#f[CAS_COUNTER];
  }

  /** Moves the CAS counter to at least `cas` (write lock). */
  advanceCas(cas: number): void {
    if (cas > this.#f[CAS_COUNTER]) this.#f[CAS_COUNTER] = cas;
  }

  /** Bytes of segment memory in use for keys and values. */
  get segmentBytes(): number {
    return this.#segments.allocatedBytes;
  }

  /**
   * Turns a protocol expiry into an absolute Unix time, as memcached does:
   * 0 never; negative already expired; up to 30 days relative; else a Unix
   * time (at or before the store started: already expired).
   */
  expiry(exptime: number, now: number): number {
    if (exptime === 0) return 0;
    if (exptime < 0) return 1;
    if (exptime > REALTIME_MAXDELTA) return exptime <= this.#base ? 1 : exptime;
    return now + exptime;
  }

  /** Bytes an item would be charged, as memcached sizes it. */
  itemSize(item: ItemShape): number {
    return itemSize(item);
  }

  // Reads: a read share is enough.

  /**
   * Looks an item up: unless `peek`, marks it fetched and bumps its last
   * access (at most once a minute). With `into`, copies its value.
   */
  get(key: Uint8Array, options: GetOptions): Item | Miss {
    if (options.check) return this.#getOptimistic(key, options.check, options);
    this.#sync();
    const t = this.#rel(options.now);
    const slot = this.#table.find(key, hashKey(key, this.#seed));
    if (slot === NONE) return "miss";
    const dead = this.#death(slot, t);
    if (dead !== undefined) return this.#markDead(slot, dead);
    if (!options.peek) this.#fetched(slot, t);
    return this.#item(slot, options.into);
  }

  /**
   * `get` holding no share: returns only what `check` still vouches for
   * once the value is copied. A writer changing the store meanwhile may
   * make it read anything (a chain that runs into another bucket, a length
   * of another item, an offset past a buffer): each read is of a bounded
   * length and the chain walk is bounded, and an error thrown meanwhile
   * means a conflict when `check` fails. Its one write, the fetched bit of
   * an item fetched for the first time, is made only if the item's bits
   * (with the count of the slot's fillings) are still those it read, and
   * counts only if still no writer had a turn. Buffers grown by another
   * thread are caught up with under a share.
   */
  #getOptimistic(key: Uint8Array, check: ReadCheck, options: GetOptions): Item | Miss {
    let found: Item | Miss;
    let bits = 0;
    // Growth is caught up with under a share: a view made from fields read
    // without one could be of the wrong size and outlive this read.
    if (!this.#table.synced || !this.#segments.synced) throw ReadConflict.writes;
    try {
      const t = this.#rel(options.now);
      const slot = this.#table.find(key, hashKey(key, this.#seed));
      if (slot !== NONE) bits = this.#table.bits(slot);
      found = slot === NONE ? "miss" : this.#peekLive(slot, t, options.peek ?? false, options.into);
    } catch (err) {
      if (err === ReadConflict.writes) throw err;
      if (!check.valid()) throw ReadConflict.torn;
      throw err;
    }
    if (!check.valid()) throw ReadConflict.torn;
    if (typeof found !== "string" && !options.peek && !(bits & FETCHED)) {
      const table = this.#table;
      if (table.exchangeBits(found.slot, bits, bits | FETCHED) !== bits) throw ReadConflict.writes;
      // A writer that came after the check may have counted the item
      // unfetched (evicting or reclaiming it): then this get, too, comes after.
      if (!check.valid()) throw ReadConflict.torn;
      found.fetched = true;
    }
    return found;
  }

  /** A found slot read without changing it; throws when the read would have to change more than its fetched bit. */
  #peekLive(slot: number, t: number, peek: boolean, into?: ValueSink): Item | Miss {
    const dead = this.#death(slot, t);
    if (dead === "miss") return dead;
    if (dead !== undefined) throw ReadConflict.writes;
    if (!peek && this.#table.time(slot) < t - ITEM_UPDATE_INTERVAL) throw ReadConflict.writes;
    return this.#item(slot, into);
  }

  /** Sets a live item's expiry (memcached's touch): marks it fetched and bumps it. */
  touch(key: Uint8Array, options: TouchOptions): Item | Miss {
    this.#sync();
    const t = this.#rel(options.now);
    const slot = this.#table.find(key, hashKey(key, this.#seed));
    if (slot === NONE) return "miss";
    const dead = this.#death(slot, t);
    if (dead !== undefined) return this.#markDead(slot, dead);
    this.#table.setExptime(slot, this.#relExptime(this.expiry(options.exptime, options.now)));
    this.#fetched(slot, t);
    return this.#item(slot, options.into);
  }

  /**
   * Sets the absolute expiry (Unix seconds, 0 = never) of the item version
   * `item` holds, if it is still stored; updates `item` too.
   */
  setExpiry(item: Item, exptime: number): void {
    this.#sync();
    item.exptime = exptime;
    const slot = this.#current(item);
    if (slot !== NONE) this.#table.setExptime(slot, this.#relExptime(exptime));
  }

  /**
   * Claims the meta protocol's win token of the item version `item` holds:
   * true for exactly one caller, which should send `W`.
   */
  claimToken(item: Item): boolean {
    this.#sync();
    const slot = this.#current(item);
    if (slot === NONE) return false;
    const won = (this.#table.orBits(slot, TOKEN_SENT) & TOKEN_SENT) === 0;
    if (won) item.tokenSent = true;
    return won;
  }

  /**
   * The live items, least recently used first (or last), each with its key
   * and value copied into `into`. Hold a read share while iterating.
   */
  *entries(options: EntriesOptions): Generator<[Uint8Array, Item]> {
    this.#sync();
    const table = this.#table;
    const t = this.#rel(options.now);
    const newest = options.newestFirst ?? false;
    for (
      let slot = newest ? table.tail : table.head;
      slot !== NONE;
      slot = newest ? table.prev(slot) : table.next(slot)
    ) {
      if (this.#death(slot, t) !== undefined) continue;
      const key = options.into.alloc(table.keyLength(slot));
      this.#segments.read(table.address(slot), 0, key);
      yield [key, this.#item(slot, options.keysOnly ? undefined : options.into)];
    }
  }

  /**
   * The last access (Unix seconds) of the least recently used item of each
   * slab class that holds items, walking the LRU from its old end over at
   * most `limit` items (classes not met by then are left out).
   */
  oldestTimes(limit: number): Map<number, number> {
    this.#sync();
    const table = this.#table;
    const slabs = this.#slabs;
    const found = new Map<number, number>();
    let populated = 0;
    for (let id = 1; id <= slabs.classes.count; id++) if (slabs.items(id) > 0) populated++;
    let seen = 0;
    for (
      let slot = table.head;
      slot !== NONE && found.size < populated && seen < limit;
      slot = table.next(slot), seen++
    ) {
      const id = slabs.classOf(this.#shapeOf(slot));
      if (!found.has(id)) found.set(id, this.#base + table.time(slot));
    }
    return found;
  }

  /**
   * The slots of the items held, least recently used first: a copy, for a
   * walk that lets the lock go between steps ({@linkcode Store.readSlot}).
   */
  lruSlots(): Int32Array {
    this.#sync();
    const table = this.#table;
    const slots = new Int32Array(table.count);
    let n = 0;
    for (let s = table.head; s !== NONE && n < slots.length; s = table.next(s)) slots[n++] = s;
    return slots.subarray(0, n);
  }

  /**
   * Fills `out` with the item living in `slot` at `now` (Unix seconds), if
   * any: one step of a walk over {@linkcode Store.lruSlots} (since then the
   * slot may hold another item, or none). Reads only; keys and values are
   * copied into buffers `out` keeps until the next call.
   */
  readSlot(slot: number, now: number, out: SnapshotItem): boolean {
    this.#sync();
    const table = this.#table;
    if (table.addressOf(slot) === NONE || this.#death(slot, this.#rel(now)) !== undefined) {
      return false;
    }
    const keyLength = table.keyLength(slot);
    const valueLength = table.valueLength(slot);
    const record = this.#scratchBytes(keyLength + valueLength);
    this.#segments.read(table.address(slot), 0, record);
    out.key = record.subarray(0, keyLength);
    out.value = record.subarray(keyLength);
    const item = this.#item(slot);
    out.flags = item.flags;
    out.cas = item.cas;
    out.exptime = item.exptime;
    out.lastAccess = item.time;
    out.fetched = item.fetched;
    out.binaryKey = item.binaryKey;
    out.stale = item.stale;
    out.tokenSent = item.tokenSent;
    return true;
  }

  // Writes: the write lock is needed.

  /** Runs a storage command (memcached's `do_store_item`); the value is copied. */
  set(key: Uint8Array, value: Uint8Array, options: SetOptions): SetResult {
    this.#sync();
    const now = options.now;
    const t = this.#rel(now);
    const mode = options.mode ?? "set";
    const flags = options.flags ?? 0;
    const cas = options.cas ?? 0;
    const hash = hashKey(key, this.#seed);
    const old = this.#find(key, hash, t);
    if (
      key.length > KEY_MAX_LENGTH ||
      charge(key.length, value.length, flags) > this.maxItemSize
    ) {
      if (mode === "set" && old !== NONE) this.#unlink(old);
      return { status: "too_large" };
    }
    const table = this.#table;
    const appending = mode === "append" || mode === "prepend";
    if (mode === "cas" || (cas !== 0 && !appending)) {
      if (old === NONE) return { status: "not_found" };
      if (table.cas(old) !== cas) return { status: "exists" };
    }
    switch (mode) {
      case "add":
        if (old !== NONE) {
          this.#bump(old, t);
          return { status: "not_stored" };
        }
        break;
      case "replace":
        if (old === NONE) return { status: "not_stored" };
        break;
      case "append":
      case "prepend": {
        if (old === NONE) return { status: "not_stored" };
        if (cas !== 0 && table.cas(old) !== cas) return { status: "exists" };
        const oldFlags = table.flags(old);
        const length = table.valueLength(old) + value.length;
        if (charge(key.length, length, oldFlags) > this.maxItemSize) {
          return { status: "too_large" };
        }
        const oldValue = this.#scratchValue(old);
        const [first, second] = mode === "append" ? [oldValue, value] : [value, oldValue];
        return this.#link(key, hash, {
          first,
          second,
          flags: oldFlags,
          exptime: table.exptime(old),
          old,
          t,
        });
      }
    }
    const exptime = this.#relExptime(this.expiry(options.exptime ?? 0, now));
    return this.#link(key, hash, { first: value, flags, exptime, old, t });
  }

  /** Deletes an item; with a non-zero `cas`, only that version. */
  delete(key: Uint8Array, options: DeleteOptions): "deleted" | "not_found" | "exists" {
    this.#sync();
    const slot = this.#find(key, hashKey(key, this.#seed), this.#rel(options.now));
    if (slot === NONE) return "not_found";
    const cas = options.cas ?? 0;
    if (cas !== 0 && this.#table.cas(slot) !== cas) return "exists";
    this.#unlink(slot);
    return "deleted";
  }

  /**
   * Adds `amount` to (incr) or subtracts it from (decr) a decimal value, as
   * unsigned 64-bit: incr wraps, decr stops at 0 (memcached's `do_add_delta`).
   */
  delta(key: Uint8Array, options: DeltaOptions): DeltaResult {
    this.#sync();
    const table = this.#table;
    const t = this.#rel(options.now);
    const hash = hashKey(key, this.#seed);
    const slot = this.#find(key, hash, t);
    if (slot === NONE) return { status: "not_found" };
    const length = table.valueLength(slot);
    // memcached rejects an empty value before it compares the CAS.
    if (length === 0) return { status: "non_numeric" };
    const cas = options.cas ?? 0;
    if (cas !== 0 && table.cas(slot) !== cas) return { status: "exists" };
    const current = parseCounter(this.#scratchValue(slot));
    if (current === undefined) return { status: "non_numeric" };
    const amount = options.amount;
    const value = options.op === "incr"
      ? (current + amount) & U64
      : (amount > current ? 0n : current - amount);
    const digits = value.toString();
    const held = options.heldElsewhere?.(table.cas(slot)) ?? false;
    if (!held && digits.length <= length) {
      const bytes = this.#scratchBytes(length).fill(0x20, digits.length);
      for (let i = 0; i < digits.length; i++) bytes[i] = digits.charCodeAt(i);
      this.#segments.write(table.address(slot), key.length, bytes);
      table.setCas(slot, this.#nextCas());
      this.#bump(slot, t);
      return { status: "ok", value, item: this.#item(slot) };
    }
    const bytes = new Uint8Array(digits.length);
    for (let i = 0; i < digits.length; i++) bytes[i] = digits.charCodeAt(i);
    const result = this.#link(key, hash, {
      first: bytes,
      flags: table.flags(slot),
      exptime: table.exptime(slot),
      old: slot,
      t,
    });
    if (result.status !== "stored") return { status: "no_memory" };
    return { status: "ok", value, item: result.item };
  }

  /**
   * Invalidates every item now, or with a positive `delay` (seconds, as an
   * expiry) every item stored or bumped before that time once it comes
   * (memcached's `flush_all` and its `oldest_live`).
   */
  flush(options: FlushOptions): void {
    this.#sync();
    // memcached: oldest_live = realtime(delay or now) - 1; items last stored or
    // bumped at or before it die once it comes. A flush that takes effect at
    // once spends a CAS id, and items older than that id die too. An absolute
    // time in the past makes oldest_live 0, which flushes nothing.
    const now = options.now;
    const delay = options.delay ?? 0;
    const t = this.#rel(now);
    const at = delay > 0 ? this.#relExptime(this.expiry(delay, now)) - 1 : t - 1;
    this.#f[FLUSH_AT] = Math.max(at, 0);
    if (at > t) return;
    this.#f[FLUSH_CAS] = this.#nextCas();
    if (delay > 0) return;
    this.#reset();
  }

  /** Forgets every item at once, with no flush left behind (a restore that failed halfway). */
  clear(): void {
    this.#sync();
    this.#reset();
  }

  /**
   * Unlinks dead items (expired, flushed, or found dead by readers),
   * visiting at most `limit` items from where the last sweep stopped
   * (memcached's LRU crawler). Returns how many it reclaimed.
   */
  sweep(options: SweepOptions): number {
    this.#sync();
    const table = this.#table;
    const t = this.#rel(options.now);
    const limit = options.limit ?? Infinity;
    let slot = this.#i[SWEEP_CURSOR];
    if (slot === NONE) slot = table.head;
    let reclaimed = 0;
    for (let visited = 0; slot !== NONE && visited < limit; visited++) {
      const next = table.next(slot);
      if (this.#death(slot, t) !== undefined) {
        this.#reclaim(slot);
        reclaimed++;
      }
      slot = next;
    }
    this.#i[SWEEP_CURSOR] = slot;
    return reclaimed;
  }

  /** Gives the item version `item` holds a new CAS (meta delete's invalidate); updates `item`. */
  renewCas(item: Item): number {
    this.#sync();
    const slot = this.#current(item);
    const cas = this.#nextCas();
    item.cas = cas;
    if (slot !== NONE) this.#table.setCas(slot, cas);
    return cas;
  }

  /** Sets or clears meta marks of the item version `item` holds; updates `item`. */
  setMarks(item: Item, marks: Marks): void {
    this.#sync();
    let on = 0;
    let off = 0;
    if (marks.binaryKey !== undefined) {
      item.binaryKey = marks.binaryKey;
      if (marks.binaryKey) on |= BINARY_KEY;
      else off |= BINARY_KEY;
    }
    if (marks.stale !== undefined) {
      item.stale = marks.stale;
      if (marks.stale) on |= STALE;
      else off |= STALE;
    }
    if (marks.tokenSent !== undefined) {
      item.tokenSent = marks.tokenSent;
      if (marks.tokenSent) on |= TOKEN_SENT;
      else off |= TOKEN_SENT;
    }
    const slot = this.#current(item);
    if (slot === NONE) return;
    if (on) this.#table.orBits(slot, on);
    if (off) this.#table.clearBits(slot, off);
  }

  /**
   * Stores a fully specified item (restoring a snapshot): its CAS, times,
   * marks and fetched state as given, as the most recently used. It
   * replaces an item of the same key with a lower CAS ("exists" when the
   * one held is as new or newer). Room is made by evicting even under `-M`
   * (a restore is no client), and it is not counted in `total_items`.
   */
  insert(options: InsertOptions): "stored" | "exists" | "too_large" | "no_memory" {
    this.#sync();
    const { key, value, now } = options;
    const flags = options.flags ?? 0;
    const t = this.#rel(now);
    const hash = hashKey(key, this.#seed);
    const old = this.#find(key, hash, t);
    if (
      key.length > KEY_MAX_LENGTH ||
      charge(key.length, value.length, flags) > this.maxItemSize
    ) {
      return "too_large";
    }
    if (old !== NONE && this.#table.cas(old) >= options.cas) return "exists";
    const bits = (options.fetched ? FETCHED : 0) | (options.binaryKey ? BINARY_KEY : 0) |
      (options.stale ? STALE : 0) | (options.tokenSent ? TOKEN_SENT : 0);
    this.#forceEvict = true;
    let result: SetResult;
    try {
      result = this.#link(key, hash, {
        first: value,
        flags,
        exptime: this.#relExptime(options.exptime ?? 0),
        old,
        t,
        time: this.#rel(options.time ?? now),
        cas: options.cas,
        bits,
        uncounted: true,
      });
    } finally {
      this.#forceEvict = false;
    }
    this.advanceCas(options.cas);
    return result.status === "stored" ? "stored" : "no_memory";
  }

  // Internals.

  #sync(): void {
    this.#table.sync();
    this.#segments.sync();
  }

  /** Unix seconds as store seconds. */
  #rel(now: number): number {
    return now - this.#base;
  }

  /** An absolute expiry as store seconds: 0 stays never; the past becomes 1 (expired). */
  #relExptime(exptime: number): number {
    if (exptime === 0) return 0;
    return Math.min(Math.max(exptime - this.#base, 1), 0x7fff_ffff);
  }

  #nextCas(): number {
    return ++this.#f[CAS_COUNTER];
  }

  /** Why a linked item is dead at store time `t`, or undefined when it lives. */
  #death(slot: number, t: number): "expired" | "flushed" | "miss" | undefined {
    const table = this.#table;
    if (table.bits(slot) & DEAD) return "miss";
    const exptime = table.exptime(slot);
    if (exptime !== 0 && exptime <= t) return "expired";
    const flushAt = this.#f[FLUSH_AT];
    if (
      flushAt !== 0 && flushAt <= t &&
      (table.time(slot) <= flushAt || table.cas(slot) < this.#f[FLUSH_CAS])
    ) {
      return "flushed";
    }
    return undefined;
  }

  /** Marks a dead item so; the first to do so learns why it died, later ones see a miss. */
  #markDead(slot: number, why: Miss): Miss {
    if (why === "miss") return why;
    return this.#table.orBits(slot, DEAD) & DEAD ? "miss" : why;
  }

  /** A writer's lookup: the live slot of `key`, unlinking it if dead; -1 when absent. */
  #find(key: Uint8Array, hash: number, t: number): number {
    const slot = this.#table.find(key, hash);
    if (slot === NONE || this.#death(slot, t) === undefined) return slot;
    this.#reclaim(slot);
    return NONE;
  }

  /**
   * Marks an item fetched and bumps it. The bit is set only when missing:
   * readers on other cores keep the item's line shared instead of taking it
   * for a write on every hit.
   */
  #fetched(slot: number, t: number): void {
    if (!(this.#table.bits(slot) & FETCHED)) this.#table.orBits(slot, FETCHED);
    this.#bump(slot, t);
  }

  /** Notes an access: at most once a minute, a new last access time and a later LRU move. */
  #bump(slot: number, t: number): void {
    const table = this.#table;
    if (table.time(slot) >= t - ITEM_UPDATE_INTERVAL) return;
    table.setTime(slot, t);
    table.orBits(slot, ACTIVE);
  }

  /** The snapshot of a live slot, its value copied into `into` when given. */
  #item(slot: number, into?: ValueSink): Item {
    const table = this.#table;
    const item = new Item();
    const length = table.valueLength(slot);
    item.valueLength = length;
    item.keyLength = table.keyLength(slot);
    if (into) {
      const value = into.alloc(length);
      if (length > 0) this.#segments.read(table.address(slot), table.keyLength(slot), value);
      item.value = value;
    }
    item.flags = table.flags(slot);
    const exptime = table.exptime(slot);
    item.exptime = exptime === 0 ? 0 : this.#base + exptime;
    item.cas = table.cas(slot);
    item.time = this.#base + table.time(slot);
    const bits = table.bits(slot);
    item.fetched = (bits & FETCHED) !== 0;
    item.binaryKey = (bits & BINARY_KEY) !== 0;
    item.stale = (bits & STALE) !== 0;
    item.tokenSent = (bits & TOKEN_SENT) !== 0;
    item.slot = slot;
    return item;
  }

  /** The slot of the version `item` holds, if still stored and alive; else -1. */
  #current(item: Item): number {
    const slot = item.slot;
    const table = this.#table;
    if (slot < 0 || table.addressOf(slot) === NONE || table.cas(slot) !== item.cas) return NONE;
    return table.bits(slot) & DEAD ? NONE : slot;
  }

  #scratchBytes(length: number): Uint8Array {
    if (this.#scratch.length < length) this.#scratch = new Uint8Array(length);
    return this.#scratch.subarray(0, length);
  }

  /** A slot's value copied out of shared memory (valid until the next scratch use). */
  #scratchValue(slot: number): Uint8Array {
    const table = this.#table;
    const length = table.valueLength(slot);
    if (length === 0) return EMPTY;
    const out = this.#scratchBytes(length);
    this.#segments.read(table.address(slot), table.keyLength(slot), out);
    return out;
  }

  /** Writes a new item for `key`, replacing `old`; evicts for room. */
  #link(
    key: Uint8Array,
    hash: number,
    spec: {
      first: Uint8Array;
      second?: Uint8Array;
      flags: number;
      exptime: number;
      old: number;
      /** Store seconds now. */
      t: number;
      /** Last access, when not now. */
      time?: number;
      cas?: number;
      bits?: number;
      /** Not a client's store: not counted in `total_items`. */
      uncounted?: boolean;
    },
  ): SetResult {
    const { first, second, flags, t } = spec;
    const table = this.#table;
    const valueLength = first.length + (second?.length ?? 0);
    const shape = { keyLength: key.length, valueLength, flags };
    const size = itemSize(shape);
    if (spec.old !== NONE) this.#unlink(spec.old);
    const slot = this.#makeRoom(size, t) ? this.#allocate(t) : NONE;
    const address = slot === NONE ? NONE : this.#reserve(slot, key.length + valueLength, t);
    if (address === NONE) {
      if (slot !== NONE) table.release(slot);
      this.#slabs.outOfMemory(shape);
      return { status: "no_memory" };
    }
    const segments = this.#segments;
    segments.write(address, 0, key);
    if (first.length > 0) segments.write(address, key.length, first);
    if (second && second.length > 0) segments.write(address, key.length + first.length, second);
    table.setHash(slot, hash);
    table.setAddress(slot, address);
    table.setLengths(slot, key.length, valueLength);
    table.setFlags(slot, flags);
    table.setBits(slot, spec.bits ?? 0);
    table.setExptime(slot, spec.exptime);
    table.setTime(slot, spec.time ?? t);
    table.setCas(slot, spec.cas ?? this.#nextCas());
    table.link(slot);
    this.#f[BYTES] += size;
    this.#slabs.linked(shape);
    if (!spec.uncounted) this.#f[TOTAL_ITEMS]++;
    return { status: "stored", item: this.#item(slot) };
  }

  /** A free slot, evicting when the table is full; -1 when nothing is left to evict. */
  #allocate(t: number): number {
    for (;;) {
      const slot = this.#table.allocate();
      if (slot !== NONE || !this.#evictOne(t)) return slot;
    }
  }

  /** Record memory, evicting when the segments are full; -1 when nothing is left to evict. */
  #reserve(slot: number, length: number, t: number): number {
    for (;;) {
      const address = this.#segments.reserve(slot, length);
      if (address !== NONE || !this.#evictOne(t)) return address;
    }
  }

  /** Frees memory for `size` more bytes, oldest first; false when it cannot. */
  #makeRoom(size: number, t: number): boolean {
    const limit = this.#f[MEMORY_LIMIT];
    while (this.#f[BYTES] + size > limit) {
      if (!this.#evictOne(t)) return false;
    }
    return true;
  }

  /**
   * Removes the least recently used item (reclaiming dead ones first, giving
   * active ones a second chance at the tail); false when it may not or
   * nothing is left.
   */
  #evictOne(t: number): boolean {
    const table = this.#table;
    for (;;) {
      const slot = table.head;
      if (slot === NONE) return false;
      if (this.#death(slot, t) !== undefined) {
        this.#reclaim(slot);
        return true;
      }
      if (table.bits(slot) & ACTIVE) {
        table.clearBits(slot, ACTIVE);
        table.toTail(slot);
        continue;
      }
      if (!this.evicts && !this.#forceEvict) return false;
      const unfetched = !(table.bits(slot) & FETCHED);
      this.#f[EVICTIONS]++;
      if (unfetched) this.#f[EVICTED_UNFETCHED]++;
      this.#slabs.evicted(this.#shapeOf(slot), {
        expires: table.exptime(slot) !== 0,
        unfetched,
        idle: t - table.time(slot),
      });
      this.#unlink(slot);
      return true;
    }
  }

  #reclaim(slot: number): void {
    const unfetched = !(this.#table.bits(slot) & FETCHED);
    if (unfetched) this.#f[EXPIRED_UNFETCHED]++;
    this.#f[RECLAIMED]++;
    this.#slabs.reclaimed(this.#shapeOf(slot), unfetched);
    this.#unlink(slot);
  }

  /** What a slot's size and slab class depend on. */
  #shapeOf(slot: number): ItemShape {
    const table = this.#table;
    return {
      keyLength: table.keyLength(slot),
      valueLength: table.valueLength(slot),
      flags: table.flags(slot),
    };
  }

  /** Removes an item and frees its record. */
  #unlink(slot: number): void {
    const table = this.#table;
    const shape = this.#shapeOf(slot);
    this.#f[BYTES] -= itemSize(shape);
    this.#slabs.unlinked(shape);
    if (this.#i[SWEEP_CURSOR] === slot) this.#i[SWEEP_CURSOR] = table.next(slot);
    this.#segments.free(table.address(slot));
    table.remove(slot);
  }

  /** Forgets every item and frees their memory (an immediate flush). */
  #reset(): void {
    this.#table.reset();
    this.#segments.reset();
    this.#slabs.emptied();
    this.#f[BYTES] = 0;
    this.#i[SWEEP_CURSOR] = NONE;
  }
}

/** Bytes memcached charges an item ({@linkcode itemSize}). */
function charge(keyLength: number, valueLength: number, flags: number): number {
  return itemSize({ keyLength, valueLength, flags });
}
