/**
 * How a snapshot file can be unusable:
 * - `empty`: zero bytes;
 * - `foreign`: not a snapshot (unknown magic);
 * - `newer`: a format version this server does not read;
 * - `truncated`: shorter than its header says;
 * - `checksum`: a byte changed (header or body checksum mismatch);
 * - `malformed`: structurally wrong despite a good checksum.
 */
export type SnapshotDamage =
  | "empty"
  | "foreign"
  | "newer"
  | "truncated"
  | "checksum"
  | "malformed";

/**
 * A snapshot file that cannot be loaded. The message is one line saying
 * what is wrong with it.
 *
 * @example Usage
 * ```ts
 * import { SnapshotError } from "./snapshot_error.ts";
 * import assert from "node:assert/strict";
 *
 * const err = new SnapshotError("empty", "The file is empty");
 * assert.equal(err.damage, "empty");
 * ```
 */
export class SnapshotError extends Error {
  /** What is wrong with the file. */
  readonly damage: SnapshotDamage;

  constructor(damage: SnapshotDamage, message: string) {
    super(message);
    this.name = "SnapshotError";
    this.damage = damage;
  }
}
