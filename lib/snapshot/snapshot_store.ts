/**
 * What a snapshot needs of the item store, kept narrow so that any store
 * layout plugs in through a small adapter.
 *
 * @module
 */

/**
 * One item as a snapshot holds it. Times are Unix seconds, independent of
 * the store's own clock origin. The byte arrays may be views into the
 * store's or the reader's memory: valid only during the call they are
 * handed to; copy what you keep.
 */
export interface SnapshotItem {
  /** The key's bytes (1 to 65,535). */
  key: Uint8Array;
  /** The value's bytes. */
  value: Uint8Array;
  /** Opaque 32-bit client flags. */
  flags: number;
  /** The item's CAS value (an integer up to 2^53). */
  cas: number;
  /** Absolute expiry, Unix seconds; 0 = never. */
  exptime: number;
  /** Last store or LRU bump, Unix seconds (memcached's item time). */
  lastAccess: number;
  /** Whether the item was fetched since it was stored. */
  fetched: boolean;
  /** Meta protocol: the key was given in base64 and is returned that way. @default {false} */
  binaryKey?: boolean;
  /** Meta protocol: marked stale (`md <key> I`). @default {false} */
  stale?: boolean;
  /** Meta protocol: a client already got the win flag for recaching it. @default {false} */
  tokenSent?: boolean;
}

/**
 * A resumable walk over a store's live items. The caller holds a read share
 * of the store lock during each {@linkcode SnapshotWalk.next} call and may
 * release it between calls (the store may change meanwhile: the walk must
 * survive that, and may then skip an item stored since it began or report
 * one item twice; a restore keeps the copy with the higher CAS).
 */
export interface SnapshotWalk {
  /**
   * Hands live items to `emit`, least recently used first, until `emit`
   * returns false or none is left.
   *
   * @returns Whether items may be left (false once the walk is over).
   */
  next(emit: (item: SnapshotItem) => boolean): boolean;
}

/**
 * The store as a snapshot sees it: walk the live items with every field,
 * insert a fully specified item, read and set the CAS counter.
 *
 * @example A store over a Map (insertion order = LRU order)
 * ```ts
 * import type { SnapshotItem, SnapshotStore } from "./snapshot_store.ts";
 *
 * class MapStore implements SnapshotStore {
 *   items = new Map<string, SnapshotItem>();
 *   casCounter = 0;
 *   walk() {
 *     const it = this.items.values();
 *     return {
 *       next(emit: (item: SnapshotItem) => boolean): boolean {
 *         for (let r = it.next(); !r.done; r = it.next()) if (!emit(r.value)) return true;
 *         return false;
 *       },
 *     };
 *   }
 *   insert(item: SnapshotItem): boolean {
 *     const key = String.fromCharCode(...item.key);
 *     this.items.delete(key);
 *     this.items.set(key, { ...item, key: item.key.slice(), value: item.value.slice() });
 *     return true;
 *   }
 *   clear(): void {
 *     this.items.clear();
 *   }
 * }
 * new MapStore();
 * ```
 */
export interface SnapshotStore {
  /** Starts a walk over the live items (call with a read share held). */
  walk(): SnapshotWalk;
  /**
   * Stores `item` as given: same CAS, expiry, last access and fetched
   * state, placed as the most recently used. When memory is short it evicts
   * the least recently used items (even under `-M`: a restore is not a
   * client), so inserting oldest first keeps the most recently used that
   * fit. A key already present is replaced only by a higher CAS.
   *
   * @returns Whether the item is held (false: larger than the item size limit, or an older copy).
   */
  insert(item: SnapshotItem): boolean;
  /** Removes every item (a restore that fails halfway leaves nothing behind). */
  clear(): void;
  /** The last CAS value handed out; a restore raises it to the snapshot's. */
  casCounter: number;
}

/**
 * A {@linkcode SnapshotItem} with no bytes and every field zero, to be filled in place.
 *
 * @example Usage
 * ```ts
 * import { emptySnapshotItem } from "./snapshot_store.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(emptySnapshotItem().value.length, 0);
 * ```
 */
export function emptySnapshotItem(): SnapshotItem {
  return {
    key: new Uint8Array(0),
    value: new Uint8Array(0),
    flags: 0,
    cas: 0,
    exptime: 0,
    lastAccess: 0,
    fetched: false,
  };
}
