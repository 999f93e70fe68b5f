/**
 * Limits memcached fixes, shared by every protocol and the command layer.
 *
 * @example Usage
 * ```ts
 * import { KEY_MAX_LENGTH } from "./constants.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(KEY_MAX_LENGTH, 250);
 * ```
 *
 * @module
 */

/** memcached's `KEY_MAX_LENGTH`: the longest key, in bytes. */
export const KEY_MAX_LENGTH = 250;

/** C's `INT_MAX`: a text data block's announced length must stay below it (minus 2). */
export const INT_MAX = 0x7fffffff;

/** The largest unsigned 64-bit value: counters wrap past it. */
export const U64_MAX: bigint = (1n << 64n) - 1n;
