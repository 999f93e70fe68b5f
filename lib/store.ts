import { isCSpace, readU32LE, writeU32LE } from "./bytes.ts";
import { type Clock, systemClock } from "./clock.ts";
import { U64_MAX } from "./constants.ts";
import { itemSize } from "./item_size.ts";
import { SlabClasses } from "./slab_classes.ts";
import { SlabStats } from "./slab_stats.ts";

/** Expiry times up to this many seconds are relative; larger ones are Unix times. */
export const REALTIME_MAXDELTA = 60 * 60 * 24 * 30;

/**
 * A fetch moves an item to the LRU tail and renews its last-access time only
 * when that time is more than this many seconds old (memcached's
 * `ITEM_UPDATE_INTERVAL`).
 */
const ITEM_UPDATE_INTERVAL = 60;

/** Size of a slab: the unit in which item memory is allocated. */
const SLAB_SIZE = 1024 * 1024;

/** Records larger than this get a slab of their own, freed with them. */
const LARGE_RECORD = SLAB_SIZE / 4;

/** Bytes of a record's header in its slab: slot (u32) and key + value length (u32). */
const RECORD_HEADER = 8;

/** Slabs are compacted while more than this share of their bytes is garbage. */
const GARBAGE_RATIO = 0.25;

const NONE = -1;

/**
 * Slot metadata: one 64-byte line per slot (a lookup touches one cache line),
 * read as int32s (places below STRIDE) and as float64s (places below F_STRIDE).
 */
const STRIDE = 16;
const F_STRIDE = 8;
const HASH = 0;
const CHAIN = 1;
const SLAB = 2;
const OFFSET = 3;
const KEY_LENGTH = 4;
const VALUE_LENGTH = 5;
const FLAGS = 6; // u32 stored as i32: read with >>> 0
const FETCHED = 7; // with the marks, see FETCHED_BIT
const EXPTIME = 4; // float64 places 4–6 are int32 places 8–13
const CAS = 5;
const TIME = 6;
const PREV = 14; // LRU list
const NEXT = 15; // LRU list, or the free list
/** At FETCHED: meta marks in the low byte, and whether the item was fetched. */
const MARK_BITS = 0xff;
const FETCHED_BIT = 0x100;

/** Slot table capacity of a new or flushed store. */
const INITIAL_SLOTS = 1024;

/** Meta protocol marks kept per item version, as bits. */
const BINARY_KEY = 1;
const STALE = 2;
const TOKEN_SENT = 4;

/** What an {@linkcode Item} needs of its store to read and write its marks. */
export interface ItemOwner {
  /** The marks of `slot` if it still holds version `cas`, else undefined. */
  marks(slot: number, cas: number): number | undefined;
  setMarks(slot: number, cas: number, marks: number): void;
}

/** Reads an item's slot (module-private: for the store only). */
let slotOf: (item: Item) => number;

/** What an {@linkcode Item} is made of. */
export interface ItemInit {
  /** Item data (a view; never mutated). */
  value: Uint8Array;
  /** Opaque 32-bit client flags. */
  flags: number;
  /** Absolute expiry in store seconds; 0 = never. */
  exptime: number;
  /** Compare-and-swap identity. */
  cas: number;
  /** Store seconds of the last store or LRU bump. */
  time: number;
  /** The store holding it, when it is a live item's snapshot (marks then write through). */
  owner?: ItemOwner;
  /** Its slot in `owner`. */
  slot?: number;
  /** Meta marks as of the snapshot. */
  marks?: number;
}

/**
 * A stored item as the store hands it out: a snapshot of its metadata and a
 * read-only view of its bytes. Stored bytes are never overwritten in place
 * (updates write a new copy), so `value` stays valid however long it is held.
 *
 * Each lookup returns a new object: compare versions of an item by `cas`, not
 * by identity. Change an item through the store (`touch`, `setExpiry`,
 * `renewCas`); the meta protocol marks (`binaryKey`, `stale`, `tokenSent`)
 * write through to the stored item while it is still the current version.
 */
export class Item {
  /** Item data. Never mutated: treat it as read-only. */
  value: Uint8Array;
  /** Opaque 32-bit client flags. */
  flags: number;
  /** Absolute expiry in store seconds; 0 = never. */
  exptime: number;
  /** Compare-and-swap identity, unique per stored version. */
  cas: number;
  /** Store seconds of the last store or LRU bump. */
  time: number;
  #owner: ItemOwner | undefined;
  #slot: number;
  #marks: number; // as of the snapshot, or as last set through this object

  static {
    slotOf = (item) => item.#owner ? item.#slot : NONE;
  }

  constructor(init: ItemInit) {
    this.value = init.value;
    this.flags = init.flags;
    this.exptime = init.exptime;
    this.cas = init.cas;
    this.time = init.time;
    this.#owner = init.owner;
    this.#slot = init.slot ?? NONE;
    this.#marks = init.marks ?? 0;
  }

  /** Meta protocol: the key was given in base64 (`b` flag), so it is returned that way. */
  get binaryKey(): boolean {
    return this.#has(BINARY_KEY);
  }
  set binaryKey(on: boolean) {
    this.#mark(BINARY_KEY, on);
  }

  /** Meta protocol: marked stale by `md <key> I` (or `ms ... I`). */
  get stale(): boolean {
    return this.#has(STALE);
  }
  set stale(on: boolean) {
    this.#mark(STALE, on);
  }

  /** Meta protocol: a client already got the win (`W`) flag for recaching this item. */
  get tokenSent(): boolean {
    return this.#has(TOKEN_SENT);
  }
  set tokenSent(on: boolean) {
    this.#mark(TOKEN_SENT, on);
  }

  #has(bit: number): boolean {
    const marks = this.#owner?.marks(this.#slot, this.cas) ?? this.#marks;
    return (marks & bit) !== 0;
  }

  #mark(bit: number, on: boolean): void {
    const marks = this.#owner?.marks(this.#slot, this.cas) ?? this.#marks;
    this.#marks = on ? marks | bit : marks & ~bit;
    this.#owner?.setMarks(this.#slot, this.cas, this.#marks);
  }
}

/** How a storage command ends. */
export type StoreStatus =
  | "stored"
  | "not_stored"
  | "exists"
  | "not_found"
  | "too_large"
  | "no_memory";

/** Which storage command to perform. */
export type StoreMode = "set" | "add" | "replace" | "append" | "prepend" | "cas";

/** How a storage command ends, and the new item when it was stored. */
export interface StoreResult {
  status: StoreStatus;
  item?: Item;
}

/** What {@linkcode Store.store} stores. */
export interface StoreInput {
  mode: StoreMode;
  key: string;
  /** The data; copied, so the caller may reuse it. */
  value: Uint8Array;
  /** Opaque 32-bit client flags. @default {0} */
  flags?: number;
  /** Protocol expiry (see {@linkcode Store.expiry}). @default {0} */
  exptime?: number;
  /**
   * For `"cas"` mode the stored item must have this CAS; in any other mode a
   * non-zero CAS must match too (add, set and replace then act as `"cas"`).
   * @default {0}
   */
  cas?: number;
}

/** What {@linkcode Store.delta} applies. */
export interface DeltaInput {
  key: string;
  op: "incr" | "decr";
  /** Unsigned 64-bit amount. */
  amount: bigint;
  /** When non-zero, the item must have this CAS. @default {0} */
  cas?: number;
  /**
   * Whether something besides the store still holds item version `cas`
   * (memcached's reference count: a reply not yet sent). Such an item is
   * never rewritten in place. @default {() => false}
   */
  heldElsewhere?: (cas: number) => boolean;
}

/** How an incr/decr ends; `value` and `item` are set when `status` is `"ok"`. */
export interface DeltaResult {
  status: "ok" | "not_found" | "non_numeric" | "exists" | "no_memory";
  value?: bigint;
  item?: Item;
}

/** A record about to be linked in (see `Store.#link`). */
interface NewRecord {
  key: string;
  hash: number;
  value: Uint8Array;
  /** Bytes after `value` (append and prepend join two arrays). */
  tail?: Uint8Array;
  flags: number;
  /** Absolute expiry in store seconds. */
  exptime: number;
  /** The fetched bit and meta marks it keeps from the version it replaces. @default {0} */
  carry?: number;
  /**
   * It stands for memcached rewriting the old item in place (an incr or decr
   * whose digits fit): not a new item in `total_items`. @default {false}
   */
  inPlace?: boolean;
}

/** Options of a {@linkcode Store}. */
export interface StoreOptions {
  /** Memory for items, in bytes. @default {64 MiB} */
  memoryLimit?: number;
  /** Largest item, in bytes, header included. @default {1 MiB} */
  maxItemSize?: number;
  /** Evict least recently used items when full; `false` answers "out of memory" instead. @default {true} */
  evict?: boolean;
  /** Time source. @default {systemClock} */
  clock?: Clock;
  /**
   * Per-slab-class counts, told of every item linked, unlinked, evicted and
   * reclaimed. @default {memcached's default classes up to `maxItemSize`}
   */
  slabStats?: SlabStats;
}

/** Counters the store keeps, with memcached's stat names. */
export interface StoreCounters {
  evictions: number;
  expired_unfetched: number;
  evicted_unfetched: number;
  reclaimed: number;
  total_items: number;
}

/**
 * The item store: memcached's expiry, CAS, LRU, size and memory rules over a
 * compact layout.
 *
 * Keys and values live in records packed into 1 MiB slabs (`Uint8Array`s);
 * item metadata lives in typed arrays indexed by slot; a chained hash table
 * of slots (also typed arrays) finds a key. Per item that costs the key, the
 * value and about 70 bytes, with nothing for the garbage collector to trace.
 * Records are written once and never overwritten: an update appends a new
 * record, and slabs whose records are mostly dead are compacted into fresh
 * slabs (old slabs are dropped, never reused), so a value handed out stays
 * valid while a response holds it.
 *
 * Keys are byte strings: one char per byte (0–255), so any key round-trips.
 *
 * @example Usage
 * ```ts
 * import { Store } from "./store.ts";
 * import assert from "node:assert/strict";
 *
 * let now = 1_700_000_000_000;
 * const store = new Store({ clock: () => now });
 * store.store({ mode: "set", key: "k", value: new TextEncoder().encode("v"), exptime: 10 });
 * assert.deepEqual(store.get("k")?.value.length, 1);
 * now += 11_000;
 * assert.deepEqual(store.get("k"), undefined);
 * ```
 */
export class Store {
  #clock: Clock;
  #memoryLimit: number;
  #maxItemSize: number;
  #evict: boolean;
  #slabStats: SlabStats;
  #bytes = 0;
  #cas = 0;
  #flushAt = 0;
  #flushCas = 0;
  #started: number;
  #seed = (Math.random() * 0x1_0000_0000) >>> 0;
  #counters: StoreCounters = {
    evictions: 0,
    expired_unfetched: 0,
    evicted_unfetched: 0,
    reclaimed: 0,
    total_items: 0,
  };

  // Slot table: one entry per item, free slots chained through NEXT.
  #count = 0;
  #capacity = 0;
  #used = 0; // slots ever handed out (high-water mark)
  #freeSlot = NONE;
  /** Per slot, STRIDE int32s: hash, chain, slab, offset, key length, value length, flags. */
  #meta = new Int32Array(0);
  /** The same memory as {@linkcode Store.#meta}, as float64s. */
  #metaF = new Float64Array(0);
  #head = NONE; // least recently used
  #tail = NONE; // most recently used

  // Hash table: bucket → first slot.
  #buckets = new Int32Array(0);
  #mask = 0;

  // Slabs: record memory.
  #slabs: (Uint8Array | undefined)[] = [];
  #slabLive: number[] = [];
  #slabFill: number[] = [];
  #freeSlabs: number[] = [];
  #open = NONE;
  #allocated = 0;
  #live = 0;
  #compacting = false;
  /** The clock as the current operation's lookup read it, in seconds. */
  #tick = 0;
  #owner: ItemOwner = {
    marks: (slot, cas) =>
      this.#current(slot, cas) ? this.#meta[slot * STRIDE + FETCHED] & MARK_BITS : undefined,
    setMarks: (slot, cas, marks) => {
      if (!this.#current(slot, cas)) return;
      const at = slot * STRIDE + FETCHED;
      this.#meta[at] = (this.#meta[at] & ~MARK_BITS) | marks;
    },
  };

  constructor(options: StoreOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#memoryLimit = options.memoryLimit ?? 64 * 1024 * 1024;
    this.#maxItemSize = options.maxItemSize ?? 1024 * 1024;
    this.#evict = options.evict ?? true;
    this.#slabStats = options.slabStats ??
      new SlabStats(new SlabClasses({ maxItemSize: this.#maxItemSize }));
    this.#started = this.now() - 2;
    this.#reset();
  }

  /** Current time in whole seconds since the Unix epoch, from the clock. */
  now(): number {
    return Math.floor(this.#clock() / 1000);
  }

  /** Number of live and not yet reclaimed items. */
  get size(): number {
    return this.#count;
  }

  /** Bytes charged for the items held now. */
  get bytes(): number {
    return this.#bytes;
  }

  /** The memory limit in bytes. */
  get memoryLimit(): number {
    return this.#memoryLimit;
  }

  /** Changes the memory limit, evicting down to it (memcached's `cache_memlimit`). */
  set memoryLimit(bytes: number) {
    this.#memoryLimit = bytes;
    this.#makeRoom(0);
  }

  /** The item size limit in bytes. */
  get maxItemSize(): number {
    return this.#maxItemSize;
  }

  /** Counters with memcached's names. */
  get counters(): Readonly<StoreCounters> {
    return this.#counters;
  }

  /** Per-slab-class counts of the items held. */
  get slabStats(): SlabStats {
    return this.#slabStats;
  }

  /** Sets the counters to zero, as `stats reset` does (items stay). */
  resetCounters(): void {
    for (const name of Object.keys(this.#counters) as (keyof StoreCounters)[]) {
      this.#counters[name] = 0;
    }
  }

  /** Buckets of the hash table (`hash_power_level` is its log2). */
  get hashBuckets(): number {
    return this.#buckets.length;
  }

  /** Absolute time (store seconds) before which flushed items die; 0 when there is none. */
  get flushedBefore(): number {
    return this.#flushAt;
  }

  /** The last CAS value handed out. */
  get lastCas(): number {
    return this.#cas;
  }

  /** Bytes of slab memory allocated for records now (what the process holds for items). */
  get slabBytes(): number {
    return this.#allocated;
  }

  /**
   * Turns a protocol expiry into an absolute store time, as memcached does:
   * 0 never; negative already expired; up to 30 days relative; else Unix time.
   */
  expiry(exptime: number): number {
    if (exptime === 0) return 0;
    if (exptime < 0) return 1;
    if (exptime > REALTIME_MAXDELTA) return exptime <= this.#started ? 1 : exptime;
    return this.now() + exptime;
  }

  /** Bytes an item would be charged, as memcached sizes it. */
  itemSize(item: { key: string; valueLength: number; flags: number }): number {
    return chargedSize(item.key.length, item.valueLength, item.flags);
  }

  /** Looks an item up, expiring it lazily; counts it as fetched and bumps its LRU place. */
  get(key: string): Item | undefined {
    const slot = this.#find(key);
    if (slot === NONE) return undefined;
    this.#meta[slot * STRIDE + FETCHED] |= FETCHED_BIT;
    this.#bump(slot);
    return this.#item(slot);
  }

  /** Looks an item up without counting a fetch or moving it in the LRU. */
  peek(key: string): Item | undefined {
    const slot = this.#find(key);
    return slot === NONE ? undefined : this.#item(slot);
  }

  /** Sets a live item's expiry (a protocol expiry, see {@linkcode Store.expiry}). */
  touch(key: string, exptime: number): Item | undefined {
    const slot = this.#find(key);
    if (slot === NONE) return undefined;
    this.#metaF[slot * F_STRIDE + EXPTIME] = this.expiry(exptime);
    this.#meta[slot * STRIDE + FETCHED] |= FETCHED_BIT;
    this.#bump(slot);
    return this.#item(slot);
  }

  /**
   * Runs a storage command. A value too large for any item is refused, and
   * a too-large `"set"` drops the key's current item (memcached's rule).
   *
   * @returns The outcome and, when stored, the new item.
   */
  store(input: StoreInput): StoreResult {
    const { mode, key, value, flags = 0, exptime = 0, cas = 0 } = input;
    const hash = this.#hashOf(key);
    const old = this.#findHashed(key, hash);
    if (chargedSize(key.length, value.length, flags) > this.#maxItemSize) {
      if (mode === "set" && old !== NONE) this.#unlink(old);
      return { status: "too_large" };
    }
    if (key.length > 0xffff) return { status: "too_large" };
    const appending = mode === "append" || mode === "prepend";
    if (mode === "cas" || (cas !== 0 && !appending)) {
      if (old === NONE) return { status: "not_found" };
      if (this.#metaF[old * F_STRIDE + CAS] !== cas) return { status: "exists" };
    }
    switch (mode) {
      case "add":
        if (old !== NONE) {
          this.#bump(old);
          return { status: "not_stored" };
        }
        break;
      case "replace":
        if (old === NONE) return { status: "not_stored" };
        break;
      case "append":
      case "prepend": {
        if (old === NONE) return { status: "not_stored" };
        if (cas !== 0 && this.#metaF[old * F_STRIDE + CAS] !== cas) return { status: "exists" };
        const oldValue = this.#valueOf(old);
        const flags = this.#meta[old * STRIDE + FLAGS] >>> 0;
        if (chargedSize(key.length, oldValue.length + value.length, flags) > this.#maxItemSize) {
          return { status: "too_large" };
        }
        const [first, tail] = mode === "append" ? [oldValue, value] : [value, oldValue];
        const exptime = this.#metaF[old * F_STRIDE + EXPTIME];
        return this.#link({ key, hash, value: first, tail, flags, exptime }, old);
      }
    }
    return this.#link({ key, hash, value, flags, exptime: this.expiry(exptime) }, old);
  }

  /** Deletes an item; with a non-zero `cas`, only that version. */
  delete(key: string, cas = 0): "deleted" | "not_found" | "exists" {
    const slot = this.#find(key);
    if (slot === NONE) return "not_found";
    if (cas !== 0 && this.#metaF[slot * F_STRIDE + CAS] !== cas) return "exists";
    this.#unlink(slot);
    return "deleted";
  }

  /**
   * Adds `amount` to (`"incr"`) or subtracts it from (`"decr"`) a decimal
   * value, as unsigned 64-bit: incr wraps, decr stops at 0.
   *
   * memcached's one rule for where the result goes: when its digits fit in
   * the old value and nothing else holds the item (`heldElsewhere`), the
   * counter is rewritten in place, padded with spaces to the old length, and
   * the item keeps its meta marks and fetched state; otherwise a fresh item
   * of just the digits replaces it. Either way it gets a new CAS.
   */
  delta(input: DeltaInput): DeltaResult {
    const { key, op, amount, cas = 0, heldElsewhere } = input;
    const hash = this.#hashOf(key);
    const slot = this.#findHashed(key, hash);
    if (slot === NONE) return { status: "not_found" };
    const old = this.#valueOf(slot);
    // memcached rejects an empty value before it compares the CAS.
    if (old.length === 0) return { status: "non_numeric" };
    const itemCas = this.#metaF[slot * F_STRIDE + CAS];
    if (cas !== 0 && itemCas !== cas) return { status: "exists" };
    const current = parseCounter(old);
    if (current === undefined) return { status: "non_numeric" };
    const value = op === "incr"
      ? (current + amount) & U64_MAX
      : (amount > current ? 0n : current - amount);
    const digits = value.toString();
    const inPlace = digits.length <= old.length && !(heldElsewhere?.(itemCas) ?? false);
    const bytes = new Uint8Array(inPlace ? old.length : digits.length);
    bytes.fill(0x20, digits.length);
    for (let i = 0; i < digits.length; i++) bytes[i] = digits.charCodeAt(i);
    const result = this.#link({
      key,
      hash,
      value: bytes,
      flags: this.#meta[slot * STRIDE + FLAGS] >>> 0,
      exptime: this.#metaF[slot * F_STRIDE + EXPTIME],
      carry: inPlace ? this.#meta[slot * STRIDE + FETCHED] & (FETCHED_BIT | MARK_BITS) : 0,
      inPlace,
    }, slot);
    if (result.status !== "stored") return { status: "no_memory" };
    return { status: "ok", value, item: result.item };
  }

  /**
   * Invalidates every item now, or with a positive `delay` (seconds, as an
   * expiry) every item stored before that time once it comes.
   */
  flush(delay = 0): void {
    // memcached: oldest_live = realtime(delay or now) - 1; items last stored or
    // bumped at or before it die once it comes. A flush that takes effect at
    // once spends a CAS id, and items older than that id die too. An absolute
    // time in the past makes oldest_live 0, which flushes nothing.
    const now = this.now();
    this.#flushAt = (delay > 0 ? this.expiry(delay) : now) - 1;
    if (this.#flushAt > now) return;
    this.#flushCas = ++this.#cas;
    if (delay > 0) return;
    this.#reset();
  }

  /** Whether a live item has been fetched since it was stored (memcached's `ITEM_FETCHED`). */
  wasFetched(item: Item): boolean {
    const slot = this.#slotOf(item);
    return slot !== NONE && (this.#meta[slot * STRIDE + FETCHED] & FETCHED_BIT) !== 0;
  }

  /** Sets a live item's absolute expiry in store seconds (0 = never), as meta `T`/`N` flags do. */
  setExpiry(item: Item, exptime: number): void {
    item.exptime = exptime;
    const slot = this.#slotOf(item);
    if (slot !== NONE) this.#metaF[slot * F_STRIDE + EXPTIME] = exptime;
  }

  /** Gives a live item a fresh CAS value from the counter (meta delete's invalidate). */
  renewCas(item: Item): number {
    const slot = this.#slotOf(item);
    item.cas = ++this.#cas;
    if (slot !== NONE) this.#metaF[slot * F_STRIDE + CAS] = item.cas;
    return item.cas;
  }

  /** Removes every expired item; call it now and then. Returns how many went. */
  sweep(limit = Infinity): number {
    let n = 0;
    const now = this.now();
    for (let slot = this.#head; slot !== NONE && n < limit;) {
      const next = this.#meta[slot * STRIDE + NEXT];
      if (this.#dead(slot, now)) {
        this.#reclaim(slot);
        n++;
      }
      slot = next;
    }
    return n;
  }

  /** Iterates the live items, least recently used first (or, with `newestFirst`, last). */
  *entries(newestFirst = false): IterableIterator<[string, Item]> {
    const now = this.now();
    const step = newestFirst ? PREV : NEXT;
    for (let slot = newestFirst ? this.#tail : this.#head; slot !== NONE;) {
      const next = this.#meta[slot * STRIDE + step];
      if (!this.#dead(slot, now)) yield [this.#keyOf(slot), this.#item(slot)];
      slot = next;
    }
  }

  /**
   * The last-access time of the least recently used item of each slab class
   * that holds items, walking the LRU from its old end over at most `limit`
   * items (classes not met by then are left out).
   */
  oldestTimes(limit: number): Map<number, number> {
    const found = new Map<number, number>();
    const stats = this.#slabStats;
    let populated = 0;
    for (let id = 1; id <= stats.classes.count; id++) if (stats.items(id) > 0) populated++;
    let seen = 0;
    for (let slot = this.#head; slot !== NONE && found.size < populated && seen < limit; seen++) {
      const id = stats.classOf(this.#shapeOf(slot));
      if (!found.has(id)) found.set(id, this.#metaF[slot * F_STRIDE + TIME]);
      slot = this.#meta[slot * STRIDE + NEXT];
    }
    return found;
  }

  // --- items -------------------------------------------------------------

  #item(slot: number): Item {
    return new Item({
      value: this.#valueOf(slot),
      flags: this.#meta[slot * STRIDE + FLAGS] >>> 0,
      exptime: this.#metaF[slot * F_STRIDE + EXPTIME],
      cas: this.#metaF[slot * F_STRIDE + CAS],
      time: this.#metaF[slot * F_STRIDE + TIME],
      owner: this.#owner,
      slot,
      marks: this.#meta[slot * STRIDE + FETCHED] & MARK_BITS,
    });
  }

  /** Whether `slot` holds the item version `cas`. */
  #current(slot: number, cas: number): boolean {
    return slot >= 0 && slot < this.#used && this.#meta[slot * STRIDE + SLAB] !== NONE &&
      this.#metaF[slot * F_STRIDE + CAS] === cas;
  }

  /** The slot of a live item this store handed out, if it is still the current version. */
  #slotOf(item: Item): number {
    const slot = slotOf(item);
    return this.#current(slot, item.cas) ? slot : NONE;
  }

  #valueOf(slot: number): Uint8Array {
    const start = this.#meta[slot * STRIDE + OFFSET] + RECORD_HEADER +
      this.#meta[slot * STRIDE + KEY_LENGTH];
    return this.#slabs[this.#meta[slot * STRIDE + SLAB]]!.subarray(
      start,
      start + this.#meta[slot * STRIDE + VALUE_LENGTH],
    );
  }

  #keyOf(slot: number): string {
    const slab = this.#slabs[this.#meta[slot * STRIDE + SLAB]]!;
    const start = this.#meta[slot * STRIDE + OFFSET] + RECORD_HEADER;
    let s = "";
    for (let i = 0; i < this.#meta[slot * STRIDE + KEY_LENGTH]; i++) {
      s += String.fromCharCode(slab[start + i]);
    }
    return s;
  }

  /** The live slot of `key`, expiring it lazily; NONE when absent. */
  #find(key: string): number {
    return this.#findHashed(key, this.#hashOf(key));
  }

  #findHashed(key: string, hash: number): number {
    // Every public operation starts with a lookup: one clock read serves it
    // (a miss reads none; storing then reads it in #link).
    const slot = this.#lookup(key, hash);
    if (slot === NONE) {
      this.#tick = NONE;
      return NONE;
    }
    const now = this.#tick = this.now();
    if (this.#dead(slot, now)) {
      this.#reclaim(slot);
      return NONE;
    }
    return slot;
  }

  #dead(slot: number, now: number): boolean {
    const exptime = this.#metaF[slot * F_STRIDE + EXPTIME];
    if (exptime !== 0 && exptime <= now) return true;
    return this.#flushAt !== 0 && this.#flushAt <= now &&
      (this.#metaF[slot * F_STRIDE + TIME] <= this.#flushAt ||
        this.#metaF[slot * F_STRIDE + CAS] < this.#flushCas);
  }

  #bump(slot: number): void {
    const now = this.#tick;
    if (this.#metaF[slot * F_STRIDE + TIME] >= now - ITEM_UPDATE_INTERVAL) return;
    this.#metaF[slot * F_STRIDE + TIME] = now;
    this.#lruRemove(slot);
    this.#lruAppend(slot);
  }

  /** Stores `item` as a new slot in place of slot `old` (NONE when there is none). */
  #link(item: NewRecord, old: number): StoreResult {
    const { key, hash, value, tail, flags, exptime, carry = 0 } = item;
    const valueLength = value.length + (tail?.length ?? 0);
    const size = chargedSize(key.length, valueLength, flags);
    if (old !== NONE) this.#unlink(old);
    if (!this.#makeRoom(size)) {
      this.#slabStats.outOfMemory({ keyLength: key.length, valueLength, flags });
      return { status: "no_memory" };
    }
    const record = RECORD_HEADER + key.length + valueLength;
    const slot = this.#allocSlot();
    const slabIndex = this.#reserve(record);
    const slab = this.#slabs[slabIndex]!;
    const at = this.#slabFill[slabIndex] - record;
    writeU32LE(slab, at, slot);
    writeU32LE(slab, at + 4, key.length + valueLength);
    let pos = at + RECORD_HEADER;
    for (let i = 0; i < key.length; i++) slab[pos++] = key.charCodeAt(i);
    slab.set(value, pos);
    if (tail) slab.set(tail, pos + value.length);
    this.#meta[slot * STRIDE + SLAB] = slabIndex;
    this.#meta[slot * STRIDE + OFFSET] = at;
    this.#meta[slot * STRIDE + KEY_LENGTH] = key.length;
    this.#meta[slot * STRIDE + VALUE_LENGTH] = valueLength;
    this.#meta[slot * STRIDE + FLAGS] = flags;
    this.#metaF[slot * F_STRIDE + EXPTIME] = exptime;
    this.#metaF[slot * F_STRIDE + CAS] = ++this.#cas;
    this.#metaF[slot * F_STRIDE + TIME] = this.#tick === NONE ? this.now() : this.#tick;
    this.#meta[slot * STRIDE + FETCHED] = carry;
    this.#meta[slot * STRIDE + HASH] = hash;
    const bucket = hash & this.#mask;
    this.#meta[slot * STRIDE + CHAIN] = this.#buckets[bucket];
    this.#buckets[bucket] = slot;
    this.#lruAppend(slot);
    this.#count++;
    this.#bytes += size;
    this.#slabStats.linked({ keyLength: key.length, valueLength, flags });
    if (!item.inPlace) this.#counters.total_items++;
    if (this.#count > this.#buckets.length) this.#rehash(this.#buckets.length * 2);
    return { status: "stored", item: this.#item(slot) };
  }

  #unlink(slot: number): void {
    const shape = this.#shapeOf(slot);
    this.#bytes -= itemSize(shape);
    this.#slabStats.unlinked(shape);
    this.#count--;
    // Out of the hash chain.
    const bucket = this.#meta[slot * STRIDE + HASH] & this.#mask;
    let s = this.#buckets[bucket];
    if (s === slot) {
      this.#buckets[bucket] = this.#meta[slot * STRIDE + CHAIN];
    } else {
      while (this.#meta[s * STRIDE + CHAIN] !== slot) s = this.#meta[s * STRIDE + CHAIN];
      this.#meta[s * STRIDE + CHAIN] = this.#meta[slot * STRIDE + CHAIN];
    }
    this.#lruRemove(slot);
    // Its record becomes garbage.
    const slabIndex = this.#meta[slot * STRIDE + SLAB];
    this.#slabLive[slabIndex] -= RECORD_HEADER + this.#meta[slot * STRIDE + KEY_LENGTH] +
      this.#meta[slot * STRIDE + VALUE_LENGTH];
    this.#live -= RECORD_HEADER + this.#meta[slot * STRIDE + KEY_LENGTH] +
      this.#meta[slot * STRIDE + VALUE_LENGTH];
    if (this.#slabLive[slabIndex] === 0 && slabIndex !== this.#open) this.#dropSlab(slabIndex);
    this.#meta[slot * STRIDE + SLAB] = NONE;
    this.#meta[slot * STRIDE + NEXT] = this.#freeSlot;
    this.#freeSlot = slot;
  }

  #reclaim(slot: number): void {
    const unfetched = !(this.#meta[slot * STRIDE + FETCHED] & FETCHED_BIT);
    if (unfetched) this.#counters.expired_unfetched++;
    this.#counters.reclaimed++;
    this.#slabStats.reclaimed(this.#shapeOf(slot), unfetched);
    this.#unlink(slot);
  }

  /** What an item's size and class depend on. */
  #shapeOf(slot: number): { keyLength: number; valueLength: number; flags: number } {
    return {
      keyLength: this.#meta[slot * STRIDE + KEY_LENGTH],
      valueLength: this.#meta[slot * STRIDE + VALUE_LENGTH],
      flags: this.#meta[slot * STRIDE + FLAGS],
    };
  }

  /** Frees memory for `size` more bytes, oldest first; false when it cannot. */
  #makeRoom(size: number): boolean {
    if (this.#bytes + size <= this.#memoryLimit) return true;
    const now = this.now();
    while (this.#head !== NONE && this.#bytes + size > this.#memoryLimit) {
      const slot = this.#head;
      if (this.#dead(slot, now)) {
        this.#reclaim(slot);
      } else if (this.#evict) {
        this.#counters.evictions++;
        const unfetched = !(this.#meta[slot * STRIDE + FETCHED] & FETCHED_BIT);
        if (unfetched) this.#counters.evicted_unfetched++;
        this.#slabStats.evicted(this.#shapeOf(slot), {
          expires: this.#metaF[slot * F_STRIDE + EXPTIME] !== 0,
          unfetched,
          idle: now - this.#metaF[slot * F_STRIDE + TIME],
        });
        this.#unlink(slot);
      } else {
        return false;
      }
    }
    return this.#bytes + size <= this.#memoryLimit;
  }

  // --- hash table --------------------------------------------------------

  /** FNV-1a over the key's bytes, seeded per store. */
  #hashOf(key: string): number {
    let h = this.#seed ^ 0x811c9dc5;
    for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
    return h;
  }

  /** The slot holding `key` (dead or alive), or NONE. */
  #lookup(key: string, hash: number): number {
    const length = key.length;
    const meta = this.#meta;
    for (let s = this.#buckets[hash & this.#mask]; s !== NONE; s = meta[s * STRIDE + CHAIN]) {
      const at = s * STRIDE;
      if (meta[at + HASH] !== hash || meta[at + KEY_LENGTH] !== length) continue;
      const slab = this.#slabs[meta[at + SLAB]]!;
      const start = meta[at + OFFSET] + RECORD_HEADER;
      let i = 0;
      while (i < length && slab[start + i] === key.charCodeAt(i)) i++;
      if (i === length) return s;
    }
    return NONE;
  }

  #rehash(size: number): void {
    this.#buckets = new Int32Array(size).fill(NONE);
    this.#mask = size - 1;
    for (let s = this.#head; s !== NONE; s = this.#meta[s * STRIDE + NEXT]) {
      const bucket = this.#meta[s * STRIDE + HASH] & this.#mask;
      this.#meta[s * STRIDE + CHAIN] = this.#buckets[bucket];
      this.#buckets[bucket] = s;
    }
  }

  // --- LRU list ----------------------------------------------------------

  #lruAppend(slot: number): void {
    this.#meta[slot * STRIDE + PREV] = this.#tail;
    this.#meta[slot * STRIDE + NEXT] = NONE;
    if (this.#tail !== NONE) this.#meta[this.#tail * STRIDE + NEXT] = slot;
    else this.#head = slot;
    this.#tail = slot;
  }

  #lruRemove(slot: number): void {
    const prev = this.#meta[slot * STRIDE + PREV];
    const next = this.#meta[slot * STRIDE + NEXT];
    if (prev !== NONE) this.#meta[prev * STRIDE + NEXT] = next;
    else this.#head = next;
    if (next !== NONE) this.#meta[next * STRIDE + PREV] = prev;
    else this.#tail = prev;
  }

  // --- slots -------------------------------------------------------------

  #allocSlot(): number {
    if (this.#freeSlot !== NONE) {
      const slot = this.#freeSlot;
      this.#freeSlot = this.#meta[slot * STRIDE + NEXT];
      return slot;
    }
    if (this.#used === this.#capacity) this.#growSlots(Math.ceil(this.#capacity * 1.5));
    return this.#used++;
  }

  #growSlots(capacity: number): void {
    this.#meta = grow(this.#meta, capacity * STRIDE);
    this.#metaF = new Float64Array(this.#meta.buffer);
    this.#capacity = capacity;
  }

  /** Forgets every item and frees their memory. */
  #reset(): void {
    this.#count = 0;
    this.#used = 0;
    this.#capacity = 0;
    this.#freeSlot = NONE;
    this.#head = NONE;
    this.#tail = NONE;
    this.#bytes = 0;
    this.#slabStats.emptied();
    this.#growSlots(INITIAL_SLOTS); // shrinks after a flush
    this.#buckets = new Int32Array(INITIAL_SLOTS).fill(NONE);
    this.#mask = INITIAL_SLOTS - 1;
    this.#slabs = [];
    this.#slabLive = [];
    this.#slabFill = [];
    this.#freeSlabs = [];
    this.#open = NONE;
    this.#allocated = 0;
    this.#live = 0;
  }

  // --- slabs -------------------------------------------------------------

  /**
   * Reserves `length` bytes at the fill point of a slab, counted live;
   * returns the slab index (the record starts at its fill minus `length`).
   */
  #reserve(length: number): number {
    let index: number;
    if (length > LARGE_RECORD) {
      index = this.#newSlab(length);
    } else {
      if (this.#open === NONE || this.#slabFill[this.#open] + length > SLAB_SIZE) {
        this.#openSlab();
        if (!this.#compacting) this.#compact();
        // Compaction fills the open slab: it may have no room left.
        if (this.#slabFill[this.#open] + length > SLAB_SIZE) this.#openSlab();
      }
      index = this.#open;
    }
    this.#slabFill[index] += length;
    this.#slabLive[index] += length;
    this.#live += length;
    return index;
  }

  /** Starts a new open slab; the old one is dropped if nothing in it lives. */
  #openSlab(): void {
    const retired = this.#open;
    this.#open = this.#newSlab(SLAB_SIZE);
    if (retired !== NONE && this.#slabLive[retired] === 0) this.#dropSlab(retired);
  }

  #newSlab(size: number): number {
    const index = this.#freeSlabs.pop() ?? this.#slabs.length;
    this.#slabs[index] = new Uint8Array(size);
    this.#slabLive[index] = 0;
    this.#slabFill[index] = 0;
    this.#allocated += size;
    return index;
  }

  #dropSlab(index: number): void {
    this.#allocated -= this.#slabs[index]!.length;
    this.#slabs[index] = undefined;
    this.#freeSlabs.push(index);
  }

  /**
   * While dead records hold more than GARBAGE_RATIO of the slab memory,
   * moves the live records of the emptiest slabs into the open slab and
   * drops those slabs. At most two slabs per call, to bound the pause.
   */
  #compact(): void {
    this.#compacting = true;
    try {
      for (let round = 0; round < 2; round++) {
        const open = this.#open;
        const spare = open === NONE ? 0 : SLAB_SIZE - this.#slabFill[open];
        const garbage = this.#allocated - this.#live - spare;
        if (garbage <= this.#allocated * GARBAGE_RATIO) return;
        const victim = this.#emptiestSlab();
        if (victim === NONE) return;
        this.#evacuate(victim);
      }
    } finally {
      this.#compacting = false;
    }
  }

  /** The slab (not the open one) with the smallest share of live bytes, if mostly garbage. */
  #emptiestSlab(): number {
    let best = NONE;
    let bestShare = 1 - GARBAGE_RATIO;
    for (let i = 0; i < this.#slabs.length; i++) {
      const slab = this.#slabs[i];
      if (slab === undefined || i === this.#open) continue;
      const share = this.#slabLive[i] / slab.length;
      if (share < bestShare) {
        best = i;
        bestShare = share;
      }
    }
    return best;
  }

  /** Moves the live records of slab `index` to the open slab and drops it. */
  #evacuate(index: number): void {
    const slab = this.#slabs[index]!;
    const fill = this.#slabFill[index];
    for (let pos = 0; pos < fill;) {
      const slot = readU32LE(slab, pos);
      const length = RECORD_HEADER + readU32LE(slab, pos + 4);
      if (
        this.#meta[slot * STRIDE + SLAB] === index && this.#meta[slot * STRIDE + OFFSET] === pos
      ) {
        const to = this.#reserve(length);
        const at = this.#slabFill[to] - length;
        this.#slabs[to]!.set(slab.subarray(pos, pos + length), at);
        this.#meta[slot * STRIDE + SLAB] = to;
        this.#meta[slot * STRIDE + OFFSET] = at;
        this.#slabLive[index] -= length;
        this.#live -= length;
      }
      pos += length;
    }
    this.#dropSlab(index);
  }
}

function grow<T extends Int32Array | Uint32Array | Uint16Array | Uint8Array | Float64Array>(
  array: T,
  capacity: number,
): T {
  const bigger = new (array.constructor as new (n: number) => T)(capacity);
  const kept = array.length <= capacity ? array : array.subarray(0, capacity);
  bigger.set(kept as unknown as ArrayLike<number> & ArrayLike<bigint>);
  return bigger;
}

/** memcached's size of an item (`ITEM_ntotal`). */
function chargedSize(keyLength: number, valueLength: number, flags: number): number {
  return itemSize({ keyLength, valueLength, flags });
}

/** Parses a stored counter like memcached's `safe_strtoull`; undefined when not numeric. */
export function parseCounter(value: Uint8Array): bigint | undefined {
  if (value.length === 0) return undefined;
  let i = 0;
  while (i < value.length && isCSpace(value[i])) i++;
  let negative = false;
  if (value[i] === 0x2b || value[i] === 0x2d) negative = value[i++] === 0x2d;
  const start = i;
  let n = 0n;
  while (i < value.length && value[i] >= 0x30 && value[i] <= 0x39) {
    n = n * 10n + BigInt(value[i] - 0x30);
    i++;
  }
  if (i === start) return undefined; // strtoull converted nothing
  if (i < value.length && !isCSpace(value[i])) return undefined;
  if (n > U64_MAX) return undefined;
  if (negative) {
    n = (U64_MAX + 1n - n) & U64_MAX;
    if (n >= 1n << 63n) return undefined;
  }
  return n;
}
