/**
 * Base64 as memcached's meta protocol uses it for binary keys (`b` flag):
 * decoding skips characters outside the alphabet and fails (returns
 * `undefined`) when the count of alphabet characters is not a positive
 * multiple of 4 or the padding is invalid; encoding pads and never wraps.
 * Both work on byte strings (one char per byte).
 *
 * @module
 */

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const INVALID = 0x80;
const TABLE = new Uint8Array(256).fill(INVALID);
for (let i = 0; i < ALPHABET.length; i++) TABLE[ALPHABET.charCodeAt(i)] = i;
TABLE[0x3d] = 0; // '='

/**
 * Decodes base64 text into a byte string; `undefined` when it cannot.
 *
 * @example Usage
 * ```ts
 * import { base64Decode } from "./base64.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(base64Decode("bTE="), "m1");
 * assert.equal(base64Decode("m1"), undefined);
 * ```
 */
export function base64Decode(text: string): string | undefined {
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    if (TABLE[text.charCodeAt(i) & 0xff] !== INVALID) count++;
  }
  if (count === 0 || count % 4 !== 0) return undefined;
  const out: number[] = [];
  const block = [0, 0, 0, 0];
  let n = 0;
  let pad = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i) & 0xff;
    const v = TABLE[c];
    if (v === INVALID) continue;
    if (c === 0x3d) pad++;
    block[n++] = v;
    if (n < 4) continue;
    out.push(
      ((block[0] << 2) | (block[1] >> 4)) & 0xff,
      ((block[1] << 4) | (block[2] >> 2)) & 0xff,
      ((block[2] << 6) | block[3]) & 0xff,
    );
    n = 0;
    if (pad) {
      if (pad > 2) return undefined;
      out.length -= pad;
      break;
    }
  }
  return out.length === 0 ? undefined : String.fromCharCode(...out);
}

/**
 * Encodes a byte string as padded base64 on one line.
 *
 * @example Usage
 * ```ts
 * import { base64Encode } from "./base64.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(base64Encode("m1"), "bTE=");
 * ```
 */
export function base64Encode(bytes: string): string {
  let out = "";
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes.charCodeAt(i) << 16) | (bytes.charCodeAt(i + 1) << 8) |
      bytes.charCodeAt(i + 2);
    out += ALPHABET[n >> 18] + ALPHABET[(n >> 12) & 63] + ALPHABET[(n >> 6) & 63] +
      ALPHABET[n & 63];
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes.charCodeAt(i) << 16;
    out += ALPHABET[n >> 18] + ALPHABET[(n >> 12) & 63] + "==";
  } else if (rest === 2) {
    const n = (bytes.charCodeAt(i) << 16) | (bytes.charCodeAt(i + 1) << 8);
    out += ALPHABET[n >> 18] + ALPHABET[(n >> 12) & 63] + ALPHABET[(n >> 6) & 63] + "=";
  }
  return out;
}
