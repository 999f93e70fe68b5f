import type { ItemShape } from "../item_size.ts";
import type { Item } from "../store.ts";

/**
 * What an item's size and slab class depend on: its key, value and flags.
 *
 * @example Usage
 * ```ts
 * import { shapeOf } from "./shape_of.ts";
 * import { Item } from "../store.ts";
 * import assert from "node:assert/strict";
 *
 * const item = new Item({ value: new Uint8Array(3), flags: 5, exptime: 0, cas: 1, time: 0 });
 * assert.deepEqual(shapeOf("key", item), { keyLength: 3, valueLength: 3, flags: 5 });
 * ```
 */
export function shapeOf(key: string, item: Item): ItemShape {
  return { keyLength: key.length, valueLength: item.value.length, flags: item.flags };
}
