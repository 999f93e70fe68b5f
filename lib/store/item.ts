/** An empty value: what an item's `value` holds when its bytes were not asked for. */
const EMPTY = new Uint8Array(0);

/**
 * A stored item as a lookup saw it: a snapshot of its metadata and, when the
 * lookup was given a {@linkcode ByteArena}, a copy of its value.
 *
 * The snapshot never changes after the lookup and never points into the
 * store's shared memory, so it stays valid after the lock is released. Change
 * the stored item through the store (`setExpiry`, `renewCas`, `claimToken`,
 * `setMarks`), passing the snapshot: the store applies the change only while
 * the item still holds this version (`cas`).
 *
 * Times are Unix seconds.
 *
 * @example Usage
 * ```ts
 * import { Item } from "./item.ts";
 * import assert from "node:assert/strict";
 *
 * const item = new Item();
 * assert.equal(item.value.length, 0);
 * assert.equal(item.exptime, 0); // never expires
 * ```
 */
export class Item {
  /** A copy of the value, or empty when the lookup was not asked to copy it. */
  value: Uint8Array = EMPTY;
  /** Length of the stored value, whether or not it was copied. */
  valueLength = 0;
  /** Length of the key (with the value length and flags, what the item's size depends on). */
  keyLength = 0;
  /** Opaque 32-bit client flags. */
  flags = 0;
  /** Absolute expiry in Unix seconds; 0 = never. */
  exptime = 0;
  /** Compare-and-swap identity, unique per stored version. */
  cas = 0;
  /** Unix seconds of the last store or LRU bump (memcached's last access). */
  time = 0;
  /** Whether the item has been fetched (memcached's `ITEM_FETCHED`), this lookup included. */
  fetched = false;
  /** Meta protocol: the key was given in base64 (`b` flag), so it is returned that way. */
  binaryKey = false;
  /** Meta protocol: marked stale by `md <key> I` (or `ms ... I`). */
  stale = false;
  /** Meta protocol: a client already got the win (`W`) flag for recaching this item. */
  tokenSent = false;
  /** Where the store keeps the item: for follow-up calls, checked against `cas`. */
  slot = -1;
}
