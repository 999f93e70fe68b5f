/**
 * What an optimistic read (one that holds no share of the store lock) checks
 * before it trusts what it read: whether any writer had a turn since it began.
 */
export interface ReadCheck {
  /** True while no writer has had a turn since the read began. */
  valid(): boolean;
}

/**
 * Thrown by an optimistic read of the {@linkcode Store} that cannot finish
 * without a share of the store lock: a writer had a turn meanwhile (what was
 * read may be torn), or the read would have to write (mark an item fetched,
 * bump its last access, mark it dead). Nothing was changed; run the request
 * again under a read share.
 *
 * @example Usage
 * ```ts
 * import { ReadConflict } from "./read_conflict.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(new ReadConflict("a writer had a turn").name, "ReadConflict");
 * ```
 */
export class ReadConflict extends Error {
  /** A writer had a turn since the read began. */
  static readonly torn: ReadConflict = new ReadConflict("a writer had a turn meanwhile");
  /** The read would have to change the item. */
  static readonly writes: ReadConflict = new ReadConflict("the read changes the item");

  constructor(why: string) {
    super(`Optimistic read needs a read share: ${why}`);
    this.name = "ReadConflict";
  }
}
