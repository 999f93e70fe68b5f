import assert from "node:assert/strict";
import { crc32c } from "../../lib/snapshot/crc32c.ts";

/** Bit-at-a-time CRC-32C, the definition the table-driven one must match. */
function reference(data: Uint8Array): number {
  let c = ~0;
  for (const byte of data) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return ~c >>> 0;
}

Deno.test("crc32c matches the RFC 3720 (iSCSI) test vectors", () => {
  assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
  assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e);
  assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i)), 0x113fdb5c);
  assert.equal(crc32c(new TextEncoder().encode("123456789")), 0xe3069283);
  assert.equal(crc32c(new Uint8Array(0)), 0);
});

Deno.test("crc32c of any length at any alignment equals the bitwise definition", () => {
  const data = Uint8Array.from({ length: 300 }, (_, i) => (i * 151 + 7) & 0xff);
  for (let start = 0; start < 8; start++) {
    for (let end = start; end <= data.length; end += 13) {
      const piece = data.subarray(start, end);
      assert.equal(crc32c(piece), reference(piece), `bytes ${start}..${end}`);
    }
  }
});

Deno.test("crc32c continues across chunks split at every point", () => {
  const data = Uint8Array.from({ length: 100 }, (_, i) => (i * 37) ^ 0x5a);
  const whole = crc32c(data);
  for (let cut = 0; cut <= data.length; cut++) {
    assert.equal(crc32c(data.subarray(cut), crc32c(data.subarray(0, cut))), whole, `cut ${cut}`);
  }
});
