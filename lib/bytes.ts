/**
 * Byte-string helpers: one char per byte (0–255), so keys and protocol words
 * round-trip every byte, unlike `TextDecoder("latin1")` (windows-1252).
 *
 * @module
 */

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

/** Writes byte string `s` into `buf` at `offset`; returns the offset after it. */
export function writeString(buf: Uint8Array, offset: number, s: string): number {
  for (let i = 0; i < s.length; i++) buf[offset++] = s.charCodeAt(i);
  return offset;
}

/** A byte string as a new array. */
export function stringToBytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  writeString(out, 0, s);
  return out;
}
