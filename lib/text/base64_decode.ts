const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const INVALID = 0x80;
const TABLE = new Uint8Array(256).fill(INVALID);
for (let i = 0; i < ALPHABET.length; i++) TABLE[ALPHABET.charCodeAt(i)] = i;
TABLE[0x3d] = 0; // '='

/**
 * Decodes base64 text into a byte string as memcached's meta protocol decodes
 * binary keys (`b` flag): characters outside the alphabet are skipped, and it
 * fails (`undefined`) when the count of alphabet characters is not a positive
 * multiple of 4 or the padding is invalid. (Encoding is the built-in `btoa`,
 * which gives memcached's padded, unwrapped form for byte strings.)
 *
 * @example Usage
 * ```ts
 * import { base64Decode } from "./base64_decode.ts";
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
