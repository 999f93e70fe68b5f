/**
 * Byte helpers shared by the codecs and the store: byte strings (one char
 * per byte, 0–255, so keys and protocol words round-trip every byte, unlike
 * `TextDecoder("latin1")`, which is windows-1252), 32-bit words in either
 * byte order, and C's `isspace`.
 *
 * @module
 */

/** A zero-length array, shared wherever "no bytes" is meant. */
export const EMPTY: Uint8Array = new Uint8Array(0);

/** Scratch for {@linkcode bytesToString}. */
const codes: number[] = [];

/**
 * Reads `buf[start..end)` as a byte string.
 *
 * @example Usage
 * ```ts
 * import { bytesToString } from "./bytes.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(bytesToString(new Uint8Array([0x61, 0x80, 0xff]), 0, 3), "a\x80\xff");
 * ```
 */
export function bytesToString(buf: Uint8Array, start: number, end: number): string {
  const n = end - start;
  if (n <= 0) return "";
  if (n < 16) {
    let s = "";
    for (let i = start; i < end; i++) s += String.fromCharCode(buf[i]);
    return s;
  }
  if (n <= 256) {
    // Keys: a reused array of codes is faster than a typed-array `apply`.
    codes.length = n;
    for (let i = 0; i < n; i++) codes[i] = buf[start + i];
    return String.fromCharCode.apply(null, codes);
  }
  let s = "";
  for (let i = start; i < end; i += 4096) {
    s += String.fromCharCode.apply(
      null,
      buf.subarray(i, Math.min(end, i + 4096)) as unknown as number[],
    );
  }
  return s;
}

/**
 * Writes byte string `s` into `buf` at `offset`; returns the offset after it.
 *
 * @example Usage
 * ```ts
 * import { writeString } from "./bytes.ts";
 * import assert from "node:assert/strict";
 *
 * const buf = new Uint8Array(3);
 * assert.equal(writeString(buf, 1, "\xffa"), 3);
 * assert.deepEqual(buf, new Uint8Array([0, 0xff, 0x61]));
 * ```
 */
export function writeString(buf: Uint8Array, offset: number, s: string): number {
  for (let i = 0; i < s.length; i++) buf[offset++] = s.charCodeAt(i);
  return offset;
}

/**
 * C's `isspace` in the "C" locale: space, `\t`, `\n`, `\v`, `\f`, `\r`.
 *
 * @example Usage
 * ```ts
 * import { isCSpace } from "./bytes.ts";
 * import assert from "node:assert/strict";
 *
 * assert.ok(isCSpace(0x0b) && !isCSpace(0x30));
 * ```
 */
export function isCSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

/**
 * Reads a big-endian (network order) unsigned 32-bit word: the binary protocol's.
 *
 * @example Usage
 * ```ts
 * import { readU32BE } from "./bytes.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(readU32BE(new Uint8Array([0xff, 0, 0, 1]), 0), 0xff000001);
 * ```
 */
export function readU32BE(data: Uint8Array, pos: number): number {
  return ((data[pos] << 24) | (data[pos + 1] << 16) | (data[pos + 2] << 8) | data[pos + 3]) >>> 0;
}

/**
 * Writes an unsigned 32-bit word big-endian (network order).
 *
 * @example Usage
 * ```ts
 * import { writeU32BE } from "./bytes.ts";
 * import assert from "node:assert/strict";
 *
 * const out = new Uint8Array(4);
 * writeU32BE(out, 0, 0x01020304);
 * assert.deepEqual(out, new Uint8Array([1, 2, 3, 4]));
 * ```
 */
export function writeU32BE(out: Uint8Array, pos: number, n: number): void {
  out[pos] = n >>> 24;
  out[pos + 1] = (n >>> 16) & 0xff;
  out[pos + 2] = (n >>> 8) & 0xff;
  out[pos + 3] = n & 0xff;
}

/**
 * Reads a little-endian unsigned 32-bit word: the store's record headers.
 *
 * @example Usage
 * ```ts
 * import { readU32LE } from "./bytes.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(readU32LE(new Uint8Array([1, 0, 0, 0xff]), 0), 0xff000001);
 * ```
 */
export function readU32LE(data: Uint8Array, pos: number): number {
  return (data[pos] | (data[pos + 1] << 8) | (data[pos + 2] << 16) | (data[pos + 3] << 24)) >>> 0;
}

/**
 * Writes an unsigned 32-bit word little-endian.
 *
 * @example Usage
 * ```ts
 * import { writeU32LE } from "./bytes.ts";
 * import assert from "node:assert/strict";
 *
 * const out = new Uint8Array(4);
 * writeU32LE(out, 0, 0x01020304);
 * assert.deepEqual(out, new Uint8Array([4, 3, 2, 1]));
 * ```
 */
export function writeU32LE(out: Uint8Array, pos: number, n: number): void {
  out[pos] = n & 0xff;
  out[pos + 1] = (n >>> 8) & 0xff;
  out[pos + 2] = (n >>> 16) & 0xff;
  out[pos + 3] = n >>> 24;
}
