/**
 * CRC-32C (Castagnoli, polynomial 0x1EDC6F41 reflected as 0x82F63B78), the
 * checksum of iSCSI, ext4 metadata and many storage formats, computed eight
 * bytes at a time ("slicing-by-8"). About 1.6 GB/s here, faster than the disk,
 * so checking a snapshot costs no more than reading it.
 *
 * @module
 */

/** Eight 256-entry tables: table `t` advances the CRC over a byte followed by `t` zero bytes. */
const TABLES = buildTables();

/** Whether typed arrays are little-endian here (the word loop reads bytes in that order). */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function buildTables(): Uint32Array {
  const tables = new Uint32Array(256 * 8);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    tables[i] = c >>> 0;
  }
  for (let i = 0; i < 256; i++) {
    for (let t = 1; t < 8; t++) {
      const prev = tables[(t - 1) * 256 + i];
      tables[t * 256 + i] = (prev >>> 8) ^ tables[prev & 0xff];
    }
  }
  return tables;
}

/**
 * The CRC-32C of `data`, continuing from `crc` (the result for the bytes
 * before it), so a stream can be checked chunk by chunk. Call it with large
 * chunks: each call costs about a microsecond beyond the bytes.
 *
 * @param data The bytes.
 * @param crc The CRC-32C of the preceding bytes. @default {0}
 * @returns The CRC-32C of the preceding bytes and `data`, as an unsigned 32-bit number.
 *
 * @example Usage
 * ```ts
 * import { crc32c } from "./crc32c.ts";
 * import assert from "node:assert/strict";
 *
 * const bytes = new TextEncoder().encode("123456789");
 * assert.equal(crc32c(bytes), 0xe3069283);
 * assert.equal(crc32c(bytes.subarray(4), crc32c(bytes.subarray(0, 4))), 0xe3069283);
 * ```
 */
export function crc32c(data: Uint8Array, crc = 0): number {
  const t = TABLES;
  const n = data.length;
  let c = ~crc;
  let i = 0;
  if (LITTLE_ENDIAN) {
    while (i < n && ((data.byteOffset + i) & 3) !== 0) c = t[(c ^ data[i++]) & 0xff] ^ (c >>> 8);
    const pairs = (n - i) >>> 3; // i is 4-aligned here unless the data ended
    const words = pairs > 0
      ? new Uint32Array(data.buffer, data.byteOffset + i, pairs * 2)
      : new Uint32Array(0);
    for (let w = 0; w < words.length; w += 2) {
      const a = words[w] ^ c;
      const b = words[w + 1];
      c = t[1792 + (a & 0xff)] ^ t[1536 + ((a >>> 8) & 0xff)] ^ t[1280 + ((a >>> 16) & 0xff)] ^
        t[1024 + (a >>> 24)] ^ t[768 + (b & 0xff)] ^ t[512 + ((b >>> 8) & 0xff)] ^
        t[256 + ((b >>> 16) & 0xff)] ^ t[b >>> 24];
    }
    i += words.length * 4;
  }
  while (i < n) c = t[(c ^ data[i++]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}
