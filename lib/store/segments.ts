/** Shared memory of {@linkcode Segments}: pass it to other workers with `postMessage`. */
export interface SegmentsMemory {
  /** The bytes: segments one after another, grown as segments are first used. */
  data: SharedArrayBuffer;
  /** Segment table: state, fill and live bytes per segment, free list. */
  table: SharedArrayBuffer;
}

/** Options of {@linkcode Segments.allocate}. */
export interface SegmentsOptions {
  /** Most bytes the segments may ever take: address space reserved up front. */
  maxBytes: number;
  /** Bytes per segment. @default {1048576} */
  segmentSize?: number;
}

/** Who owns each record: the item table, seen through what compaction needs of it. */
export interface RecordOwners {
  /** The address of `owner`'s record, or -1 when it has none. */
  addressOf(owner: number): number;
  /** Compaction moved `owner`'s record to `to`. */
  move(owner: number, to: number): void;
}

const NONE = -1;

/** Bytes of a piece header: owner (u32) and payload length with the flags below (u32). */
const HEADER = 8;
/** In a piece header: the first piece of a record. */
const HEAD = 0x8000_0000;
/** In a head piece header: the record has more pieces (a count and their addresses follow). */
const MULTI = 0x4000_0000;
const LENGTH = 0x3fff_ffff;
/** Bytes of a piece address in a head's table (two u32s: low, high). */
const ADDRESS = 8;

/** Segments are compacted while more than this share of their bytes is garbage. */
const GARBAGE_RATIO = 0.25;
/** Segments evacuated at most per segment's worth of bytes written, to bound the pause. */
const EVACUATIONS = 4;

// Table: int32 places. Lookups read only the sizes and GENERATION (first
// 64-byte line); writers change the rest (second line, and the per-segment
// arrays after it).
const SEGMENT_SIZE = 0;
const MAX_SEGMENTS = 1;
const GENERATION = 2;
const OPEN = 16;
const CREATED = 17;
const FREE_COUNT = 18;
/** Bytes reserved since compaction last ran. */
const WRITTEN = 19;
const LIVE_TOTAL = 10; // float64 place (int32 places 20–21)
const PER_SEGMENT = 32; // int32 place where fill, live and the free stack start

/**
 * The bytes of keys and values: a segment allocator over one growable
 * `SharedArrayBuffer`, seen by every worker (memcached's `slabs.c` room; its
 * slab classes are another thing).
 *
 * A record (a key and its value, for one owner) is written at the fill
 * point of the open segment, as one piece, or, when large, as a head piece
 * followed by continuation pieces that each fill a fresh segment. The head
 * piece holds the first bytes (the key always) and the addresses of the
 * other pieces. Freed records leave garbage; a segment whose records all
 * died is reused at once, and after each segment's worth of bytes written,
 * while more than a quarter of the segment bytes is garbage, the live
 * pieces of the emptiest segments are moved into the open one
 * ({@linkcode RecordOwners.move}). So memory stays near 4/3 of the live
 * bytes plus a segment.
 *
 * Addresses are byte offsets into the data buffer. Records move only inside
 * {@linkcode Segments.reserve}: never hold an address across it. Call
 * {@linkcode Segments.sync} before use whenever another thread may have
 * grown the buffer (the store does at the start of every operation).
 * Everything here runs under the store lock: writes alone, reads shared.
 *
 * @example Usage
 * ```ts
 * import { Segments } from "./segments.ts";
 * import assert from "node:assert/strict";
 *
 * const addresses: number[] = [];
 * const segments = new Segments(Segments.allocate({ maxBytes: 1 << 22 }), {
 *   addressOf: (owner) => addresses[owner] ?? -1,
 *   move: (owner, to) => addresses[owner] = to,
 * });
 * const key = new TextEncoder().encode("key");
 * addresses[0] = segments.reserve(0, 3 + 5);
 * segments.write(addresses[0], 0, key);
 * segments.write(addresses[0], 3, new TextEncoder().encode("value"));
 * assert.ok(segments.keyEquals(addresses[0], key));
 * const out = new Uint8Array(5);
 * segments.read(addresses[0], 3, out);
 * assert.equal(new TextDecoder().decode(out), "value");
 * ```
 */
export class Segments {
  #memory: SegmentsMemory;
  #owners: RecordOwners;
  #t: Int32Array;
  #tf: Float64Array;
  #data = new Uint8Array(new SharedArrayBuffer(0));
  #generation = -1;
  #size: number;
  #max: number;
  #minHead: number;
  #compacting = false;

  /**
   * Reserves shared memory for segments. Only pages that get written become
   * resident.
   */
  static allocate(options: SegmentsOptions): SegmentsMemory {
    const size = options.segmentSize ?? 1024 * 1024;
    if (size < 1024 || size > LENGTH) {
      throw new RangeError(`Segment size must be between 1 KiB and 1 GiB, got ${size}`);
    }
    const max = Math.max(1, Math.ceil(options.maxBytes / size));
    const table = new SharedArrayBuffer((PER_SEGMENT + 3 * max) * 4);
    const t = new Int32Array(table);
    t[SEGMENT_SIZE] = size;
    t[MAX_SEGMENTS] = max;
    t[OPEN] = NONE;
    const data = new SharedArrayBuffer(0, { maxByteLength: max * size });
    return { data, table };
  }

  constructor(memory: SegmentsMemory, owners: RecordOwners) {
    this.#memory = memory;
    this.#owners = owners;
    this.#t = new Int32Array(memory.table);
    this.#tf = new Float64Array(memory.table, 0, PER_SEGMENT / 2);
    this.#size = this.#t[SEGMENT_SIZE];
    this.#max = this.#t[MAX_SEGMENTS];
    this.#minHead = Math.min(4096, this.#size >> 2);
    this.sync();
  }

  /** The shared memory, to hand to another worker. */
  get memory(): SegmentsMemory {
    return this.#memory;
  }

  /** Bytes per segment. */
  get segmentSize(): number {
    return this.#size;
  }

  /** Bytes of the segments in use (open or holding records). */
  get allocatedBytes(): number {
    return (this.#t[CREATED] - this.#t[FREE_COUNT]) * this.#size;
  }

  /** Bytes of the records not yet freed, piece headers included. */
  get liveBytes(): number {
    return this.#tf[LIVE_TOTAL];
  }

  /** Bytes of address space reserved. */
  get maxBytes(): number {
    return this.#max * this.#size;
  }

  /** Bytes a record of `length` takes when written as one piece. */
  static recordBytes(length: number): number {
    return HEADER + length;
  }

  /** Whether this thread's view of the buffers is current (no growth since the last `sync`). */
  get synced(): boolean {
    return this.#t[GENERATION] === this.#generation;
  }

  /** Catches up with buffer growth by other threads. */
  sync(): void {
    if (this.synced) return;
    this.#generation = this.#t[GENERATION];
    this.#data = new Uint8Array(this.#memory.data, 0, this.#memory.data.byteLength);
  }

  /**
   * Reserves a record of `length` bytes for `owner`; its first
   * min(length, segment size / 4, 4096) bytes are contiguous (room for any
   * key). May move other records first (compaction).
   *
   * @returns The record's address, or -1 when no segment is left.
   */
  reserve(owner: number, length: number): number {
    const t = this.#t;
    if (t[WRITTEN] >= this.#size) this.#compact(Math.floor(t[WRITTEN] / this.#size));
    t[WRITTEN] += HEADER + length;
    if (HEADER + length <= this.#room()) return this.#place(owner, length);
    if (length <= this.#minHead) {
      return this.#openSegment() ? this.#place(owner, length) : NONE;
    }
    let pieces = this.#continuations(this.#room(), length);
    if (pieces < 0) {
      if (!this.#openSegment()) return NONE;
      if (HEADER + length <= this.#room()) return this.#place(owner, length);
      pieces = this.#continuations(this.#room(), length);
    }
    if (t[FREE_COUNT] + this.#max - t[CREATED] < pieces) return NONE;
    return this.#placeMulti(owner, length, pieces);
  }

  /** Copies `bytes` into the record at `address`, from its byte `at`. */
  write(address: number, at: number, bytes: Uint8Array): void {
    const data = this.#data;
    if (!isMulti(data, address)) {
      data.set(bytes, address + HEADER + at);
      return;
    }
    let done = 0;
    this.#spans(address, at, bytes.length, (start, length) => {
      data.set(bytes.subarray(done, done + length), start);
      done += length;
    });
  }

  /** Copies `out.length` bytes of the record at `address`, from its byte `at`, into `out`. */
  read(address: number, at: number, out: Uint8Array): void {
    const data = this.#data;
    if (!isMulti(data, address)) {
      const start = address + HEADER + at;
      out.set(data.subarray(start, start + out.length));
      return;
    }
    let done = 0;
    this.#spans(address, at, out.length, (start, length) => {
      out.set(data.subarray(start, start + length), done);
      done += length;
    });
  }

  /** Whether the record at `address` starts with the bytes of `key`. */
  keyEquals(address: number, key: Uint8Array): boolean {
    const data = this.#data;
    const start = this.#headStart(address);
    const length = key.length;
    for (let i = 0; i < length; i++) {
      if (data[start + i] !== key[i]) return false;
    }
    return true;
  }

  /** A view of the record's first `length` bytes (at most its contiguous head). */
  headView(address: number, length: number): Uint8Array {
    const start = this.#headStart(address);
    return this.#data.subarray(start, start + length);
  }

  /** Number of pieces the record at `address` is written in. */
  pieces(address: number): number {
    const flags = readU32(this.#data, address + 4);
    return flags & MULTI ? 1 + readU32(this.#data, address + HEADER) : 1;
  }

  /**
   * Frees the record at `address`; a segment left with no live record is
   * reused. The owner must stop pointing at it before the next `reserve`.
   */
  free(address: number): void {
    const data = this.#data;
    const flags = readU32(data, address + 4);
    if (flags & MULTI) {
      const count = readU32(data, address + HEADER);
      for (let i = 0; i < count; i++) {
        const piece = readAddress(data, address + HEADER + 4 + i * ADDRESS);
        this.#release(piece, HEADER + (readU32(data, piece + 4) & LENGTH));
      }
    }
    this.#release(address, HEADER + (flags & LENGTH));
  }

  /** Frees every record at once. */
  reset(): void {
    const t = this.#t;
    const created = t[CREATED];
    t[OPEN] = NONE;
    t[FREE_COUNT] = created;
    t[WRITTEN] = 0;
    for (let s = 0; s < created; s++) {
      t[this.#fillAt(s)] = NONE;
      t[this.#liveAt(s)] = 0;
      t[this.#freeAt(s)] = s;
    }
    this.#tf[LIVE_TOTAL] = 0;
  }

  // Placing records.

  #room(): number {
    const open = this.#t[OPEN];
    return open === NONE ? 0 : this.#size - this.#t[this.#fillAt(open)];
  }

  /**
   * The number of continuation pieces a record of `length` needs when its
   * head takes `room` bytes of the open segment, or -1 when the head would
   * hold less than its minimum there.
   */
  #continuations(room: number, length: number): number {
    const perPiece = this.#size - HEADER;
    for (let k = 1;; k++) {
      const head = room - HEADER - 4 - k * ADDRESS;
      if (head < this.#minHead) return NONE;
      if (Math.ceil((length - head) / perPiece) <= k) return k;
    }
  }

  /** Cuts `bytes` from the open segment; returns where. */
  #cut(bytes: number): number {
    const t = this.#t;
    const open = t[OPEN];
    const at = open * this.#size + t[this.#fillAt(open)];
    t[this.#fillAt(open)] += bytes;
    t[this.#liveAt(open)] += bytes;
    this.#tf[LIVE_TOTAL] += bytes;
    return at;
  }

  #place(owner: number, length: number): number {
    const at = this.#cut(HEADER + length);
    writeU32(this.#data, at, owner);
    writeU32(this.#data, at + 4, (length | HEAD) >>> 0);
    return at;
  }

  #placeMulti(owner: number, length: number, pieces: number): number {
    const perPiece = this.#size - HEADER;
    const headBytes = this.#room() - HEADER;
    const headLength = headBytes - 4 - pieces * ADDRESS;
    const at = this.#cut(HEADER + headBytes);
    const data = this.#data;
    writeU32(data, at, owner);
    writeU32(data, at + 4, (headBytes | HEAD | MULTI) >>> 0);
    writeU32(data, at + HEADER, pieces);
    let rest = length - headLength;
    for (let i = 0; i < pieces; i++) {
      this.#openSegment(); // counted free before placing: cannot fail
      const payload = Math.min(rest, perPiece);
      const piece = this.#cut(HEADER + payload);
      const d = this.#data; // the buffer may have grown
      writeU32(d, piece, owner);
      writeU32(d, piece + 4, payload);
      writeAddress(d, at + HEADER + 4 + i * ADDRESS, piece);
      rest -= payload;
    }
    return at;
  }

  /** Where the record's bytes start in its head piece. */
  #headStart(address: number): number {
    if (!isMulti(this.#data, address)) return address + HEADER;
    return address + HEADER + 4 + readU32(this.#data, address + HEADER) * ADDRESS;
  }

  /** Calls `each(start, length)` for the data spans covering [at, at + length) of a record. */
  #spans(
    address: number,
    at: number,
    length: number,
    each: (start: number, length: number) => void,
  ): void {
    const data = this.#data;
    const count = readU32(data, address + HEADER);
    const headStart = address + HEADER + 4 + count * ADDRESS;
    let start = headStart;
    let span = (readU32(data, address + 4) & LENGTH) - 4 - count * ADDRESS;
    for (let i = 0; length > 0; i++) {
      // Never so in a record; a reader without a share may meet bytes that
      // are no record (see `Store.get`'s `check`): stop rather than loop.
      if (span <= 0) break;
      if (at < span) {
        const take = Math.min(span - at, length);
        each(start + at, take);
        length -= take;
        at = 0;
      } else {
        at -= span;
      }
      if (i === count) break;
      const piece = readAddress(data, address + HEADER + 4 + i * ADDRESS);
      start = piece + HEADER;
      span = readU32(data, piece + 4) & LENGTH;
    }
  }

  // Segments.

  #fillAt(segment: number): number {
    return PER_SEGMENT + segment;
  }

  #liveAt(segment: number): number {
    return PER_SEGMENT + this.#max + segment;
  }

  #freeAt(index: number): number {
    return PER_SEGMENT + 2 * this.#max + index;
  }

  /** Opens a fresh segment for writing; false when none is left, even after compacting. */
  #openSegment(): boolean {
    const t = this.#t;
    let segment: number;
    if (t[FREE_COUNT] === 0 && t[CREATED] === this.#max && !this.#compacting) {
      this.#compact(1); // may free a segment
    }
    if (t[FREE_COUNT] > 0) {
      segment = t[this.#freeAt(--t[FREE_COUNT])];
    } else if (t[CREATED] < this.#max) {
      segment = t[CREATED]++;
      this.#grow((segment + 1) * this.#size);
    } else {
      return false;
    }
    const retired = t[OPEN];
    t[this.#fillAt(segment)] = 0;
    t[this.#liveAt(segment)] = 0;
    t[OPEN] = segment;
    if (retired !== NONE && t[this.#liveAt(retired)] === 0) this.#recycle(retired);
    return true;
  }

  /** Grows the data buffer to at least `bytes`, ahead by an eighth (pages stay untouched). */
  #grow(bytes: number): void {
    const data = this.#memory.data;
    if (data.byteLength >= bytes) return;
    const ahead = Math.ceil(data.byteLength / 8 / this.#size) * this.#size;
    data.grow(Math.min(data.maxByteLength, Math.max(bytes, data.byteLength + ahead)));
    this.#t[GENERATION]++;
    this.sync();
  }

  #release(piece: number, bytes: number): void {
    const t = this.#t;
    const segment = Math.floor(piece / this.#size);
    t[this.#liveAt(segment)] -= bytes;
    this.#tf[LIVE_TOTAL] -= bytes;
    if (t[this.#liveAt(segment)] === 0 && segment !== t[OPEN]) this.#recycle(segment);
  }

  #recycle(segment: number): void {
    const t = this.#t;
    t[this.#fillAt(segment)] = NONE;
    t[this.#freeAt(t[FREE_COUNT]++)] = segment;
  }

  // Compaction.

  /**
   * While garbage is more than GARBAGE_RATIO of the segment bytes, moves the
   * live pieces of the emptiest segments into the open one: at most
   * EVACUATIONS segments per segment's worth of bytes written since the last
   * time (`segments`).
   */
  #compact(segments: number): void {
    this.#t[WRITTEN] = 0;
    this.#compacting = true;
    try {
      for (let round = 0; round < EVACUATIONS * segments; round++) {
        const allocated = this.allocatedBytes;
        const garbage = allocated - this.liveBytes - this.#room();
        if (garbage <= allocated * GARBAGE_RATIO) return;
        const victim = this.#emptiest();
        if (victim === NONE || !this.#evacuate(victim)) return;
      }
    } finally {
      this.#compacting = false;
    }
  }

  /** The segment (not the open one) with the smallest share of live bytes, if mostly garbage. */
  #emptiest(): number {
    const t = this.#t;
    let best = NONE;
    let bestLive = this.#size * (1 - GARBAGE_RATIO);
    for (let s = 0; s < t[CREATED]; s++) {
      if (t[this.#fillAt(s)] === NONE || s === t[OPEN]) continue;
      if (t[this.#liveAt(s)] < bestLive) {
        best = s;
        bestLive = t[this.#liveAt(s)];
      }
    }
    return best;
  }

  /** Moves the live pieces of `segment` to the open segment; false if space ran out. */
  #evacuate(segment: number): boolean {
    const t = this.#t;
    const base = segment * this.#size;
    const fill = t[this.#fillAt(segment)];
    for (let pos = 0; pos < fill;) {
      const from = base + pos;
      const bytes = HEADER + (readU32(this.#data, from + 4) & LENGTH);
      pos += bytes;
      const ref = this.#referrer(from);
      if (ref === NONE) continue;
      if (bytes > this.#room() && !this.#openSegment()) return false;
      const to = this.#cut(bytes);
      this.#data.copyWithin(to, from, from + bytes);
      t[this.#liveAt(segment)] -= bytes;
      this.#tf[LIVE_TOTAL] -= bytes;
      if (ref === HEAD) this.#owners.move(readU32(this.#data, to), to);
      else writeAddress(this.#data, ref, to);
    }
    this.#recycle(segment);
    return true;
  }

  /**
   * Who points at the piece at `at`: HEAD when it is the live head of its
   * owner's record, the place of its address in a live head's table when it
   * is a live continuation, NONE when it is garbage.
   */
  #referrer(at: number): number {
    const data = this.#data;
    const head = this.#owners.addressOf(readU32(data, at));
    if (head === at) return HEAD;
    if (head === NONE || !(readU32(data, head + 4) & MULTI)) return NONE;
    const count = readU32(data, head + HEADER);
    for (let i = 0; i < count; i++) {
      const place = head + HEADER + 4 + i * ADDRESS;
      if (readAddress(data, place) === at) return place;
    }
    return NONE;
  }
}

/** Whether the record at `address` has more pieces (MULTI is in its header's last byte). */
function isMulti(data: Uint8Array, address: number): boolean {
  return (data[address + 7] & (MULTI >>> 24)) !== 0;
}

function writeU32(out: Uint8Array, pos: number, n: number): void {
  out[pos] = n & 0xff;
  out[pos + 1] = (n >>> 8) & 0xff;
  out[pos + 2] = (n >>> 16) & 0xff;
  out[pos + 3] = n >>> 24;
}

function readU32(data: Uint8Array, pos: number): number {
  return (data[pos] | (data[pos + 1] << 8) | (data[pos + 2] << 16) | (data[pos + 3] << 24)) >>> 0;
}

function writeAddress(out: Uint8Array, pos: number, address: number): void {
  writeU32(out, pos, address >>> 0);
  writeU32(out, pos + 4, Math.floor(address / 0x1_0000_0000));
}

function readAddress(data: Uint8Array, pos: number): number {
  return readU32(data, pos) + readU32(data, pos + 4) * 0x1_0000_0000;
}
