/** Bytes of memcached's item header (`sizeof(item)` on a 64-bit build). */
export const ITEM_HEADER_BYTES = 48;

/** Bytes of the CAS value memcached stores with each item (unless `-C`). */
export const ITEM_CAS_BYTES = 8;

/** The parts of an item that its size depends on. */
export interface ItemShape {
  /** Key length in bytes. */
  keyLength: number;
  /** Value length in bytes, without the `\r\n` memcached stores after it. */
  valueLength: number;
  /** Client flags; nonzero flags take 4 bytes. */
  flags: number;
}

/**
 * The bytes memcached charges for an item (`ITEM_ntotal`): the 48-byte
 * header, the key and its terminating NUL, 4 bytes of client flags when they
 * are nonzero, the value with its `\r\n`, and 8 bytes of CAS. This is what
 * `stats` reports as `bytes` and `stats items` as `mem_requested`, for small
 * and chunked items alike; `-I` limits it.
 *
 * @example Usage
 * ```ts
 * import { itemSize } from "./item_size.ts";
 * import assert from "node:assert/strict";
 *
 * // memcached 1.6.18: `set foo:a 5 0 3` then `stats` → `bytes 71`
 * assert.equal(itemSize({ keyLength: 5, valueLength: 3, flags: 5 }), 71);
 * assert.equal(itemSize({ keyLength: 5, valueLength: 3, flags: 0 }), 67);
 * ```
 */
export function itemSize(item: ItemShape): number {
  return ITEM_HEADER_BYTES + item.keyLength + 1 + (item.flags !== 0 ? 4 : 0) +
    item.valueLength + 2 + ITEM_CAS_BYTES;
}
