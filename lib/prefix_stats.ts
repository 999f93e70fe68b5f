import { bytesToString } from "./bytes.ts";
import { murmur3 } from "./murmur3.ts";

/** memcached's `PREFIX_HASH_SIZE`: buckets of the prefix table. */
const BUCKETS = 256;
/** Prefixes a worker counts at most (memcached has no limit; its memory grows with each). */
const MAX_PREFIXES = 1 << 17;
/** Bytes of a worker's region before its entries. */
const HEADER_BYTES = 64;
/** Bytes per prefix: when it was first seen, four counts, its length, then its bytes (a key's at most). */
const ENTRY_BYTES = 304;
const PREFIX_AT = 48;
const PREFIX_MAX = 250;

// Int32 places of the shared control words.
/** 1 while commands count (`stats detail on`). */
const ENABLED = 0;
/** Bumped by `stats reset`: regions of an older generation count as empty. */
const GENERATION = 1;
/** Prefixes seen so far over every worker: the order in which they were first seen. */
const SEEN = 2;
const CONTROL_INTS = 16;

// Int32 places of a region's header.
/** Entries written (each whole before it is counted here). */
const COUNT = 0;
/** The generation the region's entries belong to. */
const REGION_GENERATION = 1;

// Float64 places within an entry, and the int32 place of its length.
const FIRST_SEEN = 0;
const GETS = 1;
const HITS = 2;
const SETS = 3;
const DELETES = 4;
const LENGTH = 10;

/** The shared memory of the {@linkcode PrefixStats} of every worker: pass it to each. */
export interface PrefixStatsMemory {
  /** Whether counting is on, the generation, the order of first sightings. */
  control: SharedArrayBuffer;
  /** A region per worker, which only that worker writes. */
  regions: SharedArrayBuffer[];
}

/** Options of a {@linkcode PrefixStats}. */
export interface PrefixStatsOptions {
  /** What ends a key's prefix (`-D`). @default {":"} */
  delimiter?: string;
  /** Whether commands count from the start (`-D` given), for new memory. @default {false} */
  enabled?: boolean;
  /** Shared with other workers, from {@linkcode PrefixStats.allocate}. @default {memory of its own} */
  memory?: PrefixStatsMemory;
  /** Which region is this worker's. @default {0} */
  worker?: number;
}

/** One prefix as the dump shows it, summed over the workers. */
interface Totals {
  prefix: string;
  firstSeen: number;
  gets: number;
  hits: number;
  sets: number;
  deletes: number;
}

/**
 * Per-prefix counts for `stats detail` (memcached's `stats_prefix.c`): a
 * key's prefix is what comes before the first delimiter (`-D`, default `:`);
 * a key without one, or with a NUL byte before it, is not counted. The dump
 * lists prefixes in memcached's order: by bucket of its hash table (murmur3
 * of the prefix, modulo 256), newest first within a bucket. Keys are byte
 * strings (one char per byte).
 *
 * With several workers (`-t N`) they count into one {@linkcode PrefixStatsMemory}:
 * `stats detail on|off` and `stats reset` from any connection hold for all
 * of them, and the dump sums every worker's counts. Each worker writes its
 * counts into a region of its own (no lock, no shared counter per command);
 * a prefix is as new as its first sighting on any worker.
 *
 * @example Usage
 * ```ts
 * import { PrefixStats } from "./prefix_stats.ts";
 * import assert from "node:assert/strict";
 *
 * const detail = new PrefixStats({ delimiter: ":" });
 * const bytes = (key: string) => new TextEncoder().encode(key);
 * detail.recordSet(bytes("user:1"));
 * detail.recordGet(bytes("user:1"), true);
 * detail.recordGet(bytes("plain"), false); // no prefix: not counted
 * assert.equal(detail.dump(), "PREFIX user get 1 hit 1 set 1 del 0\r\nEND\r\n");
 * ```
 */
export class PrefixStats {
  readonly #delimiter: number;
  readonly #control: Int32Array<SharedArrayBuffer>;
  readonly #regions: SharedArrayBuffer[];
  readonly #region: SharedArrayBuffer;
  readonly #i: Int32Array<SharedArrayBuffer>;
  readonly #f: Float64Array<SharedArrayBuffer>;
  readonly #bytes: Uint8Array<SharedArrayBuffer>;
  /** This worker's entries of its region's generation, by prefix. */
  #entries = new Map<string, number>();

  /** Makes the memory for `workers` workers; counting starts on when `enabled`. */
  static allocate(options: { workers: number; enabled?: boolean }): PrefixStatsMemory {
    const control = new SharedArrayBuffer(CONTROL_INTS * 4);
    new Int32Array(control)[ENABLED] = options.enabled ? 1 : 0;
    const regions = Array.from(
      { length: options.workers },
      () =>
        new SharedArrayBuffer(HEADER_BYTES, {
          maxByteLength: HEADER_BYTES + MAX_PREFIXES * ENTRY_BYTES,
        }),
    );
    return { control, regions };
  }

  constructor(options: PrefixStatsOptions = {}) {
    const delimiter = options.delimiter ?? ":";
    if (delimiter.length !== 1) {
      throw new RangeError(`The prefix delimiter must be one character, got "${delimiter}"`);
    }
    this.#delimiter = delimiter.charCodeAt(0);
    const memory = options.memory ??
      PrefixStats.allocate({ workers: 1, enabled: options.enabled });
    const worker = options.worker ?? 0;
    if (worker < 0 || worker >= memory.regions.length) {
      throw new RangeError(`Worker ${worker} has no region in these prefix stats`);
    }
    this.#control = new Int32Array(memory.control);
    this.#regions = memory.regions;
    this.#region = memory.regions[worker];
    this.#i = new Int32Array(this.#region);
    this.#f = new Float64Array(this.#region);
    this.#bytes = new Uint8Array(this.#region);
  }

  /** The delimiter, as `stats settings` shows it (`stat_key_prefix`). */
  get delimiter(): string {
    return String.fromCharCode(this.#delimiter);
  }

  /** Whether commands count (`stats detail on|off`, or `-D` at start), on every worker. */
  get enabled(): boolean {
    return this.#control[ENABLED] === 1;
  }

  set enabled(on: boolean) {
    Atomics.store(this.#control, ENABLED, on ? 1 : 0);
  }

  /** Counts a lookup of `key` (text get/gets/gat, binary get and touch forms). */
  recordGet(key: Uint8Array, hit: boolean): void {
    const at = this.#find(key);
    if (at < 0) return;
    this.#f[at + GETS]++;
    if (hit) this.#f[at + HITS]++;
  }

  /** Counts a storage command on `key`, stored or not. */
  recordSet(key: Uint8Array): void {
    const at = this.#find(key);
    if (at >= 0) this.#f[at + SETS]++;
  }

  /** Counts a delete of `key`, found or not. */
  recordDelete(key: Uint8Array): void {
    const at = this.#find(key);
    if (at >= 0) this.#f[at + DELETES]++;
  }

  /** The `stats detail dump` text over every worker, ending in `END\r\n`. */
  dump(): string {
    const buckets: Totals[][] = [];
    for (const totals of this.#totals()) {
      (buckets[murmur3(totals.prefix) % BUCKETS] ??= []).push(totals);
    }
    let out = "";
    for (const bucket of buckets) {
      if (bucket === undefined) continue;
      bucket.sort((a, b) => b.firstSeen - a.firstSeen);
      for (const e of bucket) {
        out += `PREFIX ${e.prefix} get ${e.gets} hit ${e.hits} set ${e.sets} del ${e.deletes}\r\n`;
      }
    }
    return out + "END\r\n";
  }

  /** Forgets every prefix on every worker (`stats reset`). */
  reset(): void {
    Atomics.add(this.#control, GENERATION, 1);
  }

  /** Each prefix of the current generation, its counts summed over the workers' regions. */
  #totals(): Iterable<Totals> {
    const generation = Atomics.load(this.#control, GENERATION);
    const all = new Map<string, Totals>();
    for (const region of this.#regions) {
      const i = new Int32Array(region);
      if (Atomics.load(i, REGION_GENERATION) !== generation) continue;
      const f = new Float64Array(region);
      const bytes = new Uint8Array(region);
      const count = Atomics.load(i, COUNT);
      for (let n = 0; n < count; n++) {
        const at = (HEADER_BYTES + n * ENTRY_BYTES) / 8;
        const start = HEADER_BYTES + n * ENTRY_BYTES + PREFIX_AT;
        const prefix = bytesToString(bytes, start, start + i[at * 2 + LENGTH]);
        const totals = all.get(prefix);
        if (totals === undefined) {
          all.set(prefix, {
            prefix,
            firstSeen: f[at + FIRST_SEEN],
            gets: f[at + GETS],
            hits: f[at + HITS],
            sets: f[at + SETS],
            deletes: f[at + DELETES],
          });
          continue;
        }
        totals.firstSeen = Math.min(totals.firstSeen, f[at + FIRST_SEEN]);
        totals.gets += f[at + GETS];
        totals.hits += f[at + HITS];
        totals.sets += f[at + SETS];
        totals.deletes += f[at + DELETES];
      }
    }
    return all.values();
  }

  /** The float64 place of `key`'s prefix entry in this worker's region, or -1 when it has none. */
  #find(key: Uint8Array): number {
    let length = 0;
    while (length < key.length) {
      const c = key[length];
      if (c === this.#delimiter) break;
      if (c === 0) return -1;
      length++;
    }
    if (length === key.length) return -1;
    this.#sync();
    const prefix = bytesToString(key, 0, length);
    return this.#entries.get(prefix) ?? this.#add(prefix, key.subarray(0, length));
  }

  /** After a `stats reset` from any worker: this region starts again, empty, in the new generation. */
  #sync(): void {
    const generation = Atomics.load(this.#control, GENERATION);
    if (this.#i[REGION_GENERATION] === generation) return;
    this.#entries.clear();
    Atomics.store(this.#i, COUNT, 0);
    Atomics.store(this.#i, REGION_GENERATION, generation);
  }

  /** Writes a new entry for `prefix`, then counts it in; -1 when the region is full. */
  #add(prefix: string, bytes: Uint8Array): number {
    const n = this.#i[COUNT];
    const start = HEADER_BYTES + n * ENTRY_BYTES;
    const region = this.#region;
    if (start + ENTRY_BYTES > region.maxByteLength) return -1;
    if (start + ENTRY_BYTES > region.byteLength) {
      region.grow(
        Math.min(region.maxByteLength, Math.max(start + ENTRY_BYTES, region.byteLength * 2)),
      );
    }
    const at = start / 8;
    this.#f.fill(0, at, at + PREFIX_AT / 8);
    this.#f[at + FIRST_SEEN] = Atomics.add(this.#control, SEEN, 1);
    this.#i[at * 2 + LENGTH] = bytes.length;
    this.#bytes.set(bytes.subarray(0, PREFIX_MAX), start + PREFIX_AT);
    Atomics.store(this.#i, COUNT, n + 1);
    this.#entries.set(prefix, at);
    return at;
  }
}
