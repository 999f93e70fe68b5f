import type { RecordOwners } from "./segments.ts";

/** Shared memory of an {@linkcode ItemTable}: pass it to other workers with `postMessage`. */
export interface ItemTableMemory {
  /** Counts, list ends and sizes. */
  control: SharedArrayBuffer;
  /** One 56-byte line per slot (growable). */
  lines: SharedArrayBuffer;
  /** Hash index: bucket → first slot of its chain (growable). */
  buckets: SharedArrayBuffer;
}

/** Options of {@linkcode ItemTable.allocate}. */
export interface ItemTableOptions {
  /** Most items the table may ever hold: address space reserved up front. */
  maxSlots: number;
}

/** What the table needs of the record bytes: comparing a stored key. */
export interface KeyBytes {
  /** Whether the record at `address` starts with `key`. */
  keyEquals(address: number, key: Uint8Array): boolean;
}

const NONE = -1;

// Control: int32 places. What lookups read (sizes, growth) sits on one
// 64-byte line, what every store writes (counts, list ends) on the next.
const CAPACITY = 0;
const MAX_SLOTS = 1;
const MASK = 2;
const MAX_BUCKETS = 3;
const GENERATION = 4;
const COUNT = 16;
const USED = 17;
const FREE = 18;
const HEAD = 19;
const TAIL = 20;
const CONTROL_INTS = 32;

/**
 * Line layout: 14 int32s (56 bytes) per slot; the address and CAS are
 * float64s over two int32 places each. What a lookup reads (hash, chain,
 * key length, address) comes first, within 24 bytes.
 */
const STRIDE = 14;
const F_STRIDE = 7;
const HASH = 0;
const CHAIN = 1;
const KEY_LENGTH = 2;
const VALUE_LENGTH = 3;
const ADDRESS = 2; // float64 place (int32 places 4–5)
const CAS = 3; // float64 place (int32 places 6–7)
const FLAGS = 8; // u32 stored as i32
const BITS = 9; // changed with Atomics: readers set bits under a shared lock
/**
 * The bits of `BITS` from here up count the slot's fillings (modulo
 * `FILLINGS_MASK + 1`); the store's marks live below.
 */
const FILLINGS = 12;
const FILLINGS_MASK = 0x7_ffff;
const EXPTIME = 10; // seconds since the store's base; 0 = never
const TIME = 11; // seconds since the store's base
const PREV = 12; // LRU list
const NEXT = 13; // LRU list, or the free list

const INITIAL_SLOTS = 1024;

/**
 * The item table (memcached's `assoc.c` and the links of `items.c`): one
 * 56-byte line per item holding its metadata, its hash chain link and its
 * LRU links together, a chained hash index, and the LRU list, all in
 * `SharedArrayBuffer`s seen by every worker.
 *
 * Structure (chains, LRU, free list, counts) changes only under the write
 * lock. Under a read share, readers may change the per-item bits (with
 * `Atomics`), the expiry and the last access time: 32-bit fields, which are
 * never torn. CAS and address are float64s written only under the write
 * lock, so no reader sees them change.
 *
 * @example Usage
 * ```ts
 * import { ItemTable } from "./item_table.ts";
 * import assert from "node:assert/strict";
 *
 * const keys = { keyEquals: () => true };
 * const table = new ItemTable(ItemTable.allocate({ maxSlots: 1 << 16 }), keys);
 * const slot = table.allocate();
 * table.setHash(slot, 42);
 * table.link(slot);
 * assert.equal(table.find(new Uint8Array(0), 42), slot);
 * ```
 */
export class ItemTable implements RecordOwners {
  #memory: ItemTableMemory;
  #keys: KeyBytes;
  #c: Int32Array;
  #i = new Int32Array(new SharedArrayBuffer(0));
  #f = new Float64Array(new SharedArrayBuffer(0));
  #b = new Int32Array(new SharedArrayBuffer(0));
  #generation = -1;

  /** Reserves shared memory for a table of at most `maxSlots` items. */
  static allocate(options: ItemTableOptions): ItemTableMemory {
    const maxSlots = Math.max(INITIAL_SLOTS, Math.ceil(options.maxSlots));
    let maxBuckets = INITIAL_SLOTS;
    while (maxBuckets < maxSlots) maxBuckets *= 2;
    const control = new SharedArrayBuffer(CONTROL_INTS * 4);
    const c = new Int32Array(control);
    c[MAX_SLOTS] = maxSlots;
    c[MAX_BUCKETS] = maxBuckets;
    c[CAPACITY] = INITIAL_SLOTS;
    c[MASK] = INITIAL_SLOTS - 1;
    c[FREE] = NONE;
    c[HEAD] = NONE;
    c[TAIL] = NONE;
    const lines = new SharedArrayBuffer(INITIAL_SLOTS * STRIDE * 4, {
      maxByteLength: maxSlots * STRIDE * 4,
    });
    const buckets = new SharedArrayBuffer(INITIAL_SLOTS * 4, { maxByteLength: maxBuckets * 4 });
    new Int32Array(buckets).fill(NONE);
    return { control, lines, buckets };
  }

  constructor(memory: ItemTableMemory, keys: KeyBytes) {
    this.#memory = memory;
    this.#keys = keys;
    this.#c = new Int32Array(memory.control);
    this.sync();
  }

  /** The shared memory, to hand to another worker. */
  get memory(): ItemTableMemory {
    return this.#memory;
  }

  /** Number of linked items. */
  get count(): number {
    return this.#c[COUNT];
  }

  /** The least recently used item, or -1. */
  get head(): number {
    return this.#c[HEAD];
  }

  /** The most recently used item, or -1. */
  get tail(): number {
    return this.#c[TAIL];
  }

  /** Buckets of the hash index. */
  get buckets(): number {
    return this.#c[MASK] + 1;
  }

  /** Whether this thread's view of the buffers is current (no growth since the last `sync`). */
  get synced(): boolean {
    return this.#c[GENERATION] === this.#generation;
  }

  /** Catches up with buffer growth by other threads. */
  sync(): void {
    if (this.synced) return;
    const c = this.#c;
    this.#generation = c[GENERATION];
    this.#i = new Int32Array(this.#memory.lines, 0, c[CAPACITY] * STRIDE);
    this.#f = new Float64Array(this.#memory.lines, 0, c[CAPACITY] * F_STRIDE);
    this.#b = new Int32Array(this.#memory.buckets, 0, c[MASK] + 1);
  }

  // Slots.

  /** A free slot (not linked, no record), or -1 when the table is full. */
  allocate(): number {
    const c = this.#c;
    let slot = c[FREE];
    if (slot !== NONE) {
      c[FREE] = this.#i[slot * STRIDE + NEXT];
    } else {
      if (c[USED] === c[CAPACITY] && !this.#growSlots()) return NONE;
      slot = c[USED]++;
    }
    this.#f[slot * F_STRIDE + ADDRESS] = NONE;
    return slot;
  }

  /** Returns an unlinked slot to the free list. */
  release(slot: number): void {
    this.#f[slot * F_STRIDE + ADDRESS] = NONE;
    this.#i[slot * STRIDE + NEXT] = this.#c[FREE];
    this.#c[FREE] = slot;
  }

  // Index and LRU.

  /** The linked slot holding `key` under `hash`, or -1. */
  find(key: Uint8Array, hash: number): number {
    const line = this.#i;
    const length = key.length;
    let s = this.#b[hash & this.#c[MASK]];
    // Chains hold at most every item; a longer walk is a reader without a
    // share meeting a writer's changes (see `Store.get`'s `check`).
    let steps = this.#c[COUNT];
    for (; s !== NONE && steps-- >= 0; s = line[s * STRIDE + CHAIN]) {
      const at = s * STRIDE;
      if (line[at + HASH] !== hash || line[at + KEY_LENGTH] !== length) continue;
      if (this.#keys.keyEquals(this.#f[s * F_STRIDE + ADDRESS], key)) return s;
    }
    return NONE;
  }

  /** Links a filled slot into its hash chain and at the LRU tail. */
  link(slot: number): void {
    const c = this.#c;
    const at = slot * STRIDE;
    const bucket = this.#i[at + HASH] & c[MASK];
    this.#i[at + CHAIN] = this.#b[bucket];
    this.#b[bucket] = slot;
    this.#append(slot);
    if (++c[COUNT] > c[MASK] + 1) this.#growBuckets();
  }

  /** Unlinks a slot from its chain and the LRU list and frees it. */
  remove(slot: number): void {
    const line = this.#i;
    const bucket = line[slot * STRIDE + HASH] & this.#c[MASK];
    let s = this.#b[bucket];
    if (s === slot) {
      this.#b[bucket] = line[slot * STRIDE + CHAIN];
    } else {
      while (line[s * STRIDE + CHAIN] !== slot) s = line[s * STRIDE + CHAIN];
      line[s * STRIDE + CHAIN] = line[slot * STRIDE + CHAIN];
    }
    this.#detach(slot);
    this.#c[COUNT]--;
    this.release(slot);
  }

  /** The next more recently used item after `slot`, or -1. */
  next(slot: number): number {
    return this.#i[slot * STRIDE + NEXT];
  }

  /** The next less recently used item before `slot`, or -1. */
  prev(slot: number): number {
    return this.#i[slot * STRIDE + PREV];
  }

  /** Moves a linked slot to the LRU tail (most recently used). */
  toTail(slot: number): void {
    if (this.#c[TAIL] === slot) return;
    this.#detach(slot);
    this.#append(slot);
  }

  /** Forgets every item. */
  reset(): void {
    const c = this.#c;
    c[COUNT] = 0;
    c[USED] = 0;
    c[FREE] = NONE;
    c[HEAD] = NONE;
    c[TAIL] = NONE;
    this.#b.fill(NONE);
  }

  // Fields.

  hash(slot: number): number {
    return this.#i[slot * STRIDE + HASH];
  }
  setHash(slot: number, hash: number): void {
    this.#i[slot * STRIDE + HASH] = hash;
  }
  /** Address of the slot's record in the segments, or -1. */
  address(slot: number): number {
    return this.#f[slot * F_STRIDE + ADDRESS];
  }
  setAddress(slot: number, address: number): void {
    this.#f[slot * F_STRIDE + ADDRESS] = address;
  }
  keyLength(slot: number): number {
    return this.#i[slot * STRIDE + KEY_LENGTH];
  }
  valueLength(slot: number): number {
    return this.#i[slot * STRIDE + VALUE_LENGTH];
  }
  setLengths(slot: number, keyLength: number, valueLength: number): void {
    this.#i[slot * STRIDE + KEY_LENGTH] = keyLength;
    this.#i[slot * STRIDE + VALUE_LENGTH] = valueLength;
  }
  flags(slot: number): number {
    return this.#i[slot * STRIDE + FLAGS] >>> 0;
  }
  setFlags(slot: number, flags: number): void {
    this.#i[slot * STRIDE + FLAGS] = flags;
  }
  /** The item's bits (marks, fetched, active, dead): a plain 32-bit read, never torn. */
  bits(slot: number): number {
    return this.#i[slot * STRIDE + BITS];
  }
  /**
   * Replaces the bits of a slot being filled (under the write lock only),
   * counting one more filling in the bits above `FILLINGS`: a
   * reader without a share that changes the bits with
   * {@linkcode ItemTable.exchangeBits} changes them only if the slot still
   * holds the item it read.
   */
  setBits(slot: number, bits: number): void {
    const at = slot * STRIDE + BITS;
    const fillings = ((this.#i[at] >>> FILLINGS) + 1) & FILLINGS_MASK;
    Atomics.store(this.#i, at, (bits & ((1 << FILLINGS) - 1)) | (fillings << FILLINGS));
  }
  /** Sets the bits to `bits` if they are still `seen`; returns the bits before. */
  exchangeBits(slot: number, seen: number, bits: number): number {
    return Atomics.compareExchange(this.#i, slot * STRIDE + BITS, seen, bits);
  }
  /** Sets `bits` atomically; returns the bits before. */
  orBits(slot: number, bits: number): number {
    return Atomics.or(this.#i, slot * STRIDE + BITS, bits);
  }
  /** Clears `bits` atomically; returns the bits before. */
  clearBits(slot: number, bits: number): number {
    return Atomics.and(this.#i, slot * STRIDE + BITS, ~bits);
  }
  /** Expiry in seconds since the store's base; 0 = never. */
  exptime(slot: number): number {
    return this.#i[slot * STRIDE + EXPTIME];
  }
  setExptime(slot: number, exptime: number): void {
    this.#i[slot * STRIDE + EXPTIME] = exptime;
  }
  /** Last store or LRU bump, in seconds since the store's base. */
  time(slot: number): number {
    return this.#i[slot * STRIDE + TIME];
  }
  setTime(slot: number, time: number): void {
    this.#i[slot * STRIDE + TIME] = time;
  }
  cas(slot: number): number {
    return this.#f[slot * F_STRIDE + CAS];
  }
  setCas(slot: number, cas: number): void {
    this.#f[slot * F_STRIDE + CAS] = cas;
  }

  // RecordOwners, for compaction.

  addressOf(owner: number): number {
    return owner < this.#c[USED] ? this.#f[owner * F_STRIDE + ADDRESS] : NONE;
  }
  move(owner: number, to: number): void {
    this.#f[owner * F_STRIDE + ADDRESS] = to;
  }

  // Internals.

  #append(slot: number): void {
    const c = this.#c;
    const line = this.#i;
    const tail = c[TAIL];
    line[slot * STRIDE + PREV] = tail;
    line[slot * STRIDE + NEXT] = NONE;
    if (tail !== NONE) line[tail * STRIDE + NEXT] = slot;
    else c[HEAD] = slot;
    c[TAIL] = slot;
  }

  #detach(slot: number): void {
    const c = this.#c;
    const line = this.#i;
    const prev = line[slot * STRIDE + PREV];
    const next = line[slot * STRIDE + NEXT];
    if (prev !== NONE) line[prev * STRIDE + NEXT] = next;
    else c[HEAD] = next;
    if (next !== NONE) line[next * STRIDE + PREV] = prev;
    else c[TAIL] = prev;
  }

  #growSlots(): boolean {
    const c = this.#c;
    const capacity = Math.min(c[MAX_SLOTS], Math.ceil(c[CAPACITY] * 1.5));
    if (capacity === c[CAPACITY]) return false;
    this.#memory.lines.grow(capacity * STRIDE * 4);
    c[CAPACITY] = capacity;
    c[GENERATION]++;
    this.sync();
    return true;
  }

  /** Doubles the buckets, splitting each chain in place. */
  #growBuckets(): void {
    const c = this.#c;
    const old = c[MASK] + 1;
    if (old * 2 > c[MAX_BUCKETS]) return;
    this.#memory.buckets.grow(old * 2 * 4);
    c[MASK] = old * 2 - 1;
    c[GENERATION]++;
    this.sync();
    const line = this.#i;
    const b = this.#b;
    for (let bucket = 0; bucket < old; bucket++) {
      let low = NONE;
      let high = NONE;
      for (let s = b[bucket]; s !== NONE;) {
        const next = line[s * STRIDE + CHAIN];
        if (line[s * STRIDE + HASH] & old) {
          line[s * STRIDE + CHAIN] = high;
          high = s;
        } else {
          line[s * STRIDE + CHAIN] = low;
          low = s;
        }
        s = next;
      }
      b[bucket] = low;
      b[bucket + old] = high;
    }
  }
}
