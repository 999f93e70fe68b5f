import { type Clock, systemClock } from "./clock.ts";

/** Expiry times up to this many seconds are relative; larger ones are Unix times. */
export const REALTIME_MAXDELTA = 60 * 60 * 24 * 30;

/** Bytes memcached charges per item beyond key and value (item header, CAS, terminators). */
const ITEM_OVERHEAD = 48 + 8 + 1 + 2;

/** An item is moved to the LRU tail at most once per this many seconds (memcached's rule). */
const LRU_BUMP_INTERVAL = 60;

/** A stored item. Treat it as read-only outside the store. */
export class Item {
  /** Item data. Never mutated after storing: updates make a new array. */
  value: Uint8Array;
  /** Opaque 32-bit client flags. */
  flags: number;
  /** Absolute expiry in store seconds; 0 = never. */
  exptime: number;
  /** Compare-and-swap identity, unique per stored version. */
  cas: number;
  /** Store seconds of the last store or LRU bump. */
  time: number;
  /** Meta protocol: the key was given in base64 (`b` flag), so it is returned that way. */
  binaryKey = false;
  /** Meta protocol: marked stale by `md <key> I` (or `ms ... I`). */
  stale = false;
  /** Meta protocol: a client already got the win (`W`) flag for recaching this item. */
  tokenSent = false;

  constructor(value: Uint8Array, flags: number, exptime: number, cas: number, time: number) {
    this.value = value;
    this.flags = flags;
    this.exptime = exptime;
    this.cas = cas;
    this.time = time;
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

/** How an incr/decr ends; `value` and `cas` are set when `status` is `"ok"`. */
export interface DeltaResult {
  status: "ok" | "not_found" | "non_numeric" | "exists" | "no_memory";
  value?: bigint;
  cas?: number;
  item?: Item;
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
}

/** Counters the store keeps, with memcached's stat names. */
export interface StoreCounters {
  evictions: number;
  expired_unfetched: number;
  evicted_unfetched: number;
  reclaimed: number;
  total_items: number;
}

const U64 = (1n << 64n) - 1n;

/**
 * The item store: a `Map` from byte-string key to {@linkcode Item}, kept in
 * LRU order, with memcached's expiry, CAS, size and memory rules.
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
 * store.store("set", "k", new TextEncoder().encode("v"), 0, 10);
 * assert.deepEqual(store.get("k")?.value.length, 1);
 * now += 11_000;
 * assert.deepEqual(store.get("k"), undefined);
 * ```
 */
export class Store {
  #items = new Map<string, Item>();
  #clock: Clock;
  #memoryLimit: number;
  #maxItemSize: number;
  #evict: boolean;
  #bytes = 0;
  #cas = 0;
  #flushAt = 0;
  #flushCas = 0;
  #started: number;
  #counters: StoreCounters = {
    evictions: 0,
    expired_unfetched: 0,
    evicted_unfetched: 0,
    reclaimed: 0,
    total_items: 0,
  };
  #fetched = new WeakSet<Item>();

  constructor(options: StoreOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#memoryLimit = options.memoryLimit ?? 64 * 1024 * 1024;
    this.#maxItemSize = options.maxItemSize ?? 1024 * 1024;
    this.#evict = options.evict ?? true;
    this.#started = this.now() - 2;
  }

  /** Current time in whole seconds since the Unix epoch, from the clock. */
  now(): number {
    return Math.floor(this.#clock() / 1000);
  }

  /** Number of live and not yet reclaimed items. */
  get size(): number {
    return this.#items.size;
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

  /** The last CAS value handed out. */
  get lastCas(): number {
    return this.#cas;
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
  itemSize(key: string, valueLength: number, flags: number): number {
    return ITEM_OVERHEAD + key.length + valueLength + (flags !== 0 ? 4 : 0);
  }

  /** Looks an item up, expiring it lazily; counts it as fetched and bumps its LRU place. */
  get(key: string): Item | undefined {
    const item = this.#live(key);
    if (!item) return undefined;
    this.#fetched.add(item);
    this.#bump(key, item);
    return item;
  }

  /** Looks an item up without counting a fetch or moving it in the LRU. */
  peek(key: string): Item | undefined {
    return this.#live(key);
  }

  /** Sets a live item's expiry (a protocol expiry, see {@linkcode Store.expiry}). */
  touch(key: string, exptime: number): Item | undefined {
    const item = this.#live(key);
    if (!item) return undefined;
    item.exptime = this.expiry(exptime);
    this.#fetched.add(item);
    this.#bump(key, item);
    return item;
  }

  /**
   * Runs a storage command.
   *
   * @param cas For `"cas"` mode (and any mode, when non-zero) the stored item must have this CAS.
   * @returns The outcome and, when stored, the new item.
   */
  store(
    mode: StoreMode,
    key: string,
    value: Uint8Array,
    flags: number,
    exptime: number,
    cas = 0,
  ): { status: StoreStatus; item?: Item } {
    const old = this.#live(key);
    if (this.itemSize(key, value.length, flags) > this.#maxItemSize) {
      if (mode === "set" && old) this.#unlink(key, old);
      return { status: "too_large" };
    }
    const appending = mode === "append" || mode === "prepend";
    if (mode === "cas" || (cas !== 0 && !appending)) {
      if (!old) return { status: "not_found" };
      if (old.cas !== cas) return { status: "exists" };
    }
    switch (mode) {
      case "add":
        if (old) {
          this.#bump(key, old);
          return { status: "not_stored" };
        }
        break;
      case "replace":
        if (!old) return { status: "not_stored" };
        break;
      case "append":
      case "prepend": {
        if (!old) return { status: "not_stored" };
        if (cas !== 0 && old.cas !== cas) return { status: "exists" };
        const joined = new Uint8Array(old.value.length + value.length);
        joined.set(mode === "append" ? old.value : value, 0);
        joined.set(
          mode === "append" ? value : old.value,
          mode === "append" ? old.value.length : value.length,
        );
        if (this.itemSize(key, joined.length, old.flags) > this.#maxItemSize) {
          return { status: "too_large" };
        }
        return this.#link(key, joined, old.flags, old.exptime, old);
      }
    }
    return this.#link(key, value, flags, this.expiry(exptime), old);
  }

  /** Deletes an item; with a non-zero `cas`, only that version. */
  delete(key: string, cas = 0): "deleted" | "not_found" | "exists" {
    const item = this.#live(key);
    if (!item) return "not_found";
    if (cas !== 0 && item.cas !== cas) return "exists";
    this.#unlink(key, item);
    return "deleted";
  }

  /**
   * Adds `delta` to (or with `incr` false, subtracts it from) a decimal value,
   * as unsigned 64-bit: incr wraps, decr stops at 0.
   *
   * @param inPlace Rewrite the value in place, as memcached does when nothing
   * else references the item: a shorter result is padded with spaces to the
   * old length. `false` stores just the digits (memcached's copy path, taken
   * while an unsent response still holds the item).
   */
  delta(key: string, incr: boolean, delta: bigint, cas = 0, inPlace = true): DeltaResult {
    const item = this.#live(key);
    if (!item) return { status: "not_found" };
    // memcached rejects an empty value before it compares the CAS.
    if (item.value.length === 0) return { status: "non_numeric" };
    if (cas !== 0 && item.cas !== cas) return { status: "exists" };
    const current = parseCounter(item.value);
    if (current === undefined) return { status: "non_numeric" };
    const value = incr ? (current + delta) & U64 : (delta > current ? 0n : current - delta);
    const digits = value.toString();
    this.#fetched.add(item);
    let bytes: Uint8Array;
    if (inPlace && digits.length < item.value.length) {
      // memcached rewrites in place, padding the old length with spaces.
      bytes = new Uint8Array(item.value.length).fill(0x20);
    } else {
      bytes = new Uint8Array(digits.length);
    }
    for (let i = 0; i < digits.length; i++) bytes[i] = digits.charCodeAt(i);
    const result = this.#link(key, bytes, item.flags, item.exptime, item);
    if (result.status !== "stored") return { status: "no_memory" };
    return { status: "ok", value, cas: result.item!.cas, item: result.item };
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
    this.#items.clear();
    this.#bytes = 0;
  }

  /** Removes every expired item; call it now and then. Returns how many went. */
  sweep(limit = Infinity): number {
    let n = 0;
    const now = this.now();
    for (const [key, item] of this.#items) {
      if (n >= limit) break;
      if (this.#dead(item, now)) {
        this.#reclaim(key, item);
        n++;
      }
    }
    return n;
  }

  /** Iterates the live items, oldest first. */
  *entries(): IterableIterator<[string, Item]> {
    const now = this.now();
    for (const entry of this.#items) {
      if (!this.#dead(entry[1], now)) yield entry;
    }
  }

  /** Whether a live item has been fetched since it was stored (memcached's `ITEM_FETCHED`). */
  wasFetched(item: Item): boolean {
    return this.#fetched.has(item);
  }

  /** Sets a live item's absolute expiry in store seconds (0 = never), as meta `T`/`N` flags do. */
  setExpiry(item: Item, exptime: number): void {
    item.exptime = exptime;
  }

  /** Gives a live item a fresh CAS value from the counter (meta delete's invalidate). */
  renewCas(item: Item): number {
    item.cas = ++this.#cas;
    return item.cas;
  }

  #live(key: string): Item | undefined {
    const item = this.#items.get(key);
    if (item === undefined) return undefined;
    if (this.#dead(item, this.now())) {
      this.#reclaim(key, item);
      return undefined;
    }
    return item;
  }

  #dead(item: Item, now: number): boolean {
    if (item.exptime !== 0 && item.exptime <= now) return true;
    return this.#flushAt !== 0 && this.#flushAt <= now &&
      (item.time <= this.#flushAt || item.cas < this.#flushCas);
  }

  #bump(key: string, item: Item): void {
    const now = this.now();
    if (item.time + LRU_BUMP_INTERVAL > now) return;
    item.time = now;
    this.#items.delete(key);
    this.#items.set(key, item);
  }

  #link(
    key: string,
    value: Uint8Array,
    flags: number,
    exptime: number,
    old: Item | undefined,
  ): { status: StoreStatus; item?: Item } {
    const size = this.itemSize(key, value.length, flags);
    if (old) this.#unlink(key, old);
    if (!this.#makeRoom(size)) return { status: "no_memory" };
    const item = new Item(value, flags, exptime, ++this.#cas, this.now());
    this.#items.set(key, item);
    this.#bytes += size;
    this.#counters.total_items++;
    return { status: "stored", item };
  }

  #unlink(key: string, item: Item): void {
    this.#items.delete(key);
    this.#bytes -= this.itemSize(key, item.value.length, item.flags);
  }

  #reclaim(key: string, item: Item): void {
    if (!this.#fetched.has(item)) this.#counters.expired_unfetched++;
    this.#counters.reclaimed++;
    this.#unlink(key, item);
  }

  /** Frees memory for `size` more bytes, oldest first; false when it cannot. */
  #makeRoom(size: number): boolean {
    if (this.#bytes + size <= this.#memoryLimit) return true;
    const now = this.now();
    for (const [key, item] of this.#items) {
      if (this.#bytes + size <= this.#memoryLimit) break;
      if (this.#dead(item, now)) {
        this.#reclaim(key, item);
      } else if (this.#evict) {
        this.#counters.evictions++;
        if (!this.#fetched.has(item)) this.#counters.evicted_unfetched++;
        this.#unlink(key, item);
      } else {
        return false;
      }
    }
    return this.#bytes + size <= this.#memoryLimit;
  }
}

/** Parses a stored counter like memcached's `safe_strtoull`; undefined when not numeric. */
export function parseCounter(value: Uint8Array): bigint | undefined {
  if (value.length === 0) return undefined;
  let i = 0;
  while (i < value.length && isSpace(value[i])) i++;
  let negative = false;
  if (value[i] === 0x2b || value[i] === 0x2d) negative = value[i++] === 0x2d;
  const start = i;
  let n = 0n;
  while (i < value.length && value[i] >= 0x30 && value[i] <= 0x39) {
    n = n * 10n + BigInt(value[i] - 0x30);
    i++;
  }
  if (i === start) return undefined; // strtoull converted nothing
  if (i < value.length && !isSpace(value[i])) return undefined;
  if (n > U64) return undefined;
  if (negative) {
    n = (U64 + 1n - n) & U64;
    if (n >= 1n << 63n) return undefined;
  }
  return n;
}

function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}
