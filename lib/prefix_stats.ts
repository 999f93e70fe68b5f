import { bytesToString } from "./bytes.ts";
import { murmur3 } from "./murmur3.ts";

/** memcached's `PREFIX_HASH_SIZE`: buckets of the prefix table. */
const BUCKETS = 256;

interface PrefixEntry {
  prefix: string;
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
  readonly #entries = new Map<string, PrefixEntry>();
  /** Each bucket's entries, oldest first. */
  #buckets: PrefixEntry[][] = [];
  /** Whether commands count (`stats detail on|off`, or `-D` at start). */
  enabled: boolean;

  constructor(options: { delimiter?: string; enabled?: boolean } = {}) {
    const delimiter = options.delimiter ?? ":";
    if (delimiter.length !== 1) {
      throw new RangeError(`The prefix delimiter must be one character, got "${delimiter}"`);
    }
    this.#delimiter = delimiter.charCodeAt(0);
    this.enabled = options.enabled ?? false;
  }

  /** The delimiter, as `stats settings` shows it (`stat_key_prefix`). */
  get delimiter(): string {
    return String.fromCharCode(this.#delimiter);
  }

  /** Counts a lookup of `key` (text get/gets/gat, binary get and touch forms). */
  recordGet(key: Uint8Array, hit: boolean): void {
    const entry = this.#find(key);
    if (entry === undefined) return;
    entry.gets++;
    if (hit) entry.hits++;
  }

  /** Counts a storage command on `key`, stored or not. */
  recordSet(key: Uint8Array): void {
    const entry = this.#find(key);
    if (entry !== undefined) entry.sets++;
  }

  /** Counts a delete of `key`, found or not. */
  recordDelete(key: Uint8Array): void {
    const entry = this.#find(key);
    if (entry !== undefined) entry.deletes++;
  }

  /** The `stats detail dump` text, ending in `END\r\n`. */
  dump(): string {
    let out = "";
    for (const bucket of this.#buckets) {
      if (bucket === undefined) continue;
      for (let i = bucket.length - 1; i >= 0; i--) {
        const e = bucket[i];
        out += `PREFIX ${e.prefix} get ${e.gets} hit ${e.hits} set ${e.sets} del ${e.deletes}\r\n`;
      }
    }
    return out + "END\r\n";
  }

  /** Forgets every prefix (`stats reset`). */
  reset(): void {
    this.#entries.clear();
    this.#buckets = [];
  }

  #find(key: Uint8Array): PrefixEntry | undefined {
    let length = 0;
    while (length < key.length) {
      const c = key[length];
      if (c === this.#delimiter) break;
      if (c === 0) return undefined;
      length++;
    }
    if (length === key.length) return undefined;
    const prefix = bytesToString(key, 0, length);
    let entry = this.#entries.get(prefix);
    if (entry === undefined) {
      entry = { prefix, gets: 0, hits: 0, sets: 0, deletes: 0 };
      this.#entries.set(prefix, entry);
      (this.#buckets[murmur3(prefix) % BUCKETS] ??= []).push(entry);
    }
    return entry;
  }
}
