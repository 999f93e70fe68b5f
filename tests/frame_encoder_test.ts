import assert from "node:assert/strict";
import { encodeBatch, FrameEncoder, MAX_CHUNK } from "../lib/frame_encoder.ts";
import type { BinaryResponse, Response } from "../lib/messages.ts";

const binary = (fields: Partial<BinaryResponse>): BinaryResponse => ({
  kind: "binary",
  opcode: 0,
  status: 0,
  opaque: 0,
  cas: 0,
  key: "",
  value: "",
  ...fields,
});

Deno.test("FrameEncoder writes a binary response header and body byte for byte", () => {
  const { bytes, close } = encodeBatch([
    binary({
      opcode: 0x0c,
      status: 0,
      opaque: 0xa1b2c3d4,
      cas: 0x1_0000_0002,
      flags: 0xdeadbeef,
      key: "k\xff",
      value: new Uint8Array([1, 2, 3]),
    }),
  ]);
  assert.equal(close, false);
  assert.deepEqual(Array.from(bytes), [
    0x81,
    0x0c,
    0x00,
    0x02,
    0x04,
    0x00,
    0x00,
    0x00, // magic, opcode, keylen, extlen, type, status
    0x00,
    0x00,
    0x00,
    0x09, // body length: 4 + 2 + 3
    0xa1,
    0xb2,
    0xc3,
    0xd4, // opaque
    0x00,
    0x00,
    0x00,
    0x01,
    0x00,
    0x00,
    0x00,
    0x02, // cas
    0xde,
    0xad,
    0xbe,
    0xef, // flags
    0x6b,
    0xff, // key
    1,
    2,
    3, // value
  ]);
});

Deno.test("FrameEncoder writes error texts and status codes", () => {
  const { bytes } = encodeBatch([binary({ opcode: 0x04, status: 0x81, value: "Unknown command" })]);
  assert.equal(bytes.length, 24 + 15);
  assert.deepEqual([bytes[6], bytes[7], bytes[11], bytes[4]], [0x00, 0x81, 15, 0]);
  assert.equal(new TextDecoder().decode(bytes.subarray(24)), "Unknown command");
});

Deno.test("FrameEncoder puts a whole batch in one chunk, in order", async () => {
  const batch: Response[] = [
    binary({ opaque: 1 }),
    { kind: "text", parts: ["VALUE k 0 1\r\n", new Uint8Array([0x76]), "\r\nEND\r\n"] },
    binary({ opaque: 2, value: "x" }),
  ];
  const chunks = await Array.fromAsync(
    ReadableStream.from([batch]).pipeThrough(new FrameEncoder()),
  );
  assert.equal(chunks.length, 1);
  const bytes = chunks[0];
  assert.equal(bytes.length, 24 + 21 + 25);
  assert.equal(bytes[15], 1);
  assert.equal(new TextDecoder().decode(bytes.subarray(24, 45)), "VALUE k 0 1\r\nv\r\nEND\r\n");
  assert.equal(bytes[45 + 15], 2);
});

Deno.test("FrameEncoder sends what precedes a close, then ends the stream", async () => {
  const chunks = await Array.fromAsync(
    ReadableStream.from<Response[]>([
      [binary({ opaque: 1 }), { kind: "close" }, binary({ opaque: 2 })],
      [binary({ opaque: 3 })],
    ]).pipeThrough(new FrameEncoder()),
  );
  assert.equal(chunks.length, 1);
  assert.equal(chunks[0].length, 24);
  assert.equal(chunks[0][15], 1);
});

Deno.test("FrameEncoder writes 64-bit CAS values above 2^32 exactly", () => {
  const cas = 2 ** 53 - 1;
  const { bytes } = encodeBatch([binary({ cas })]);
  assert.equal(new DataView(bytes.buffer).getBigUint64(16), BigInt(cas));
});

Deno.test("FrameEncoder sends a batch larger than MAX_CHUNK in pieces that join to the same bytes", async () => {
  const value = new Uint8Array(300_000).map((_, i) => i & 0xff);
  const batch: Response[] = [
    { kind: "text", parts: ["VALUE a 0 300000\r\n", value, "\r\n", "VALUE b 0 300000\r\n"] },
    { kind: "binary", opcode: 0, status: 0, opaque: 9, cas: 5, flags: 1, key: "k", value },
    { kind: "text", parts: [value, "\r\n", "x".repeat(500_000), "END\r\n"] },
    { kind: "binary", opcode: 0, status: 0, opaque: 10, cas: 6, key: "", value: "text body" },
    { kind: "close" },
  ];
  const expected = encodeBatch(batch).bytes;
  assert.ok(expected.length > MAX_CHUNK);
  const chunks = await Array.fromAsync(
    ReadableStream.from([batch]).pipeThrough(new FrameEncoder()),
  );
  assert.ok(chunks.length > 1);
  assert.ok(chunks.every((c) => c.length <= MAX_CHUNK));
  const joined = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let pos = 0;
  for (const c of chunks) {
    joined.set(c, pos);
    pos += c.length;
  }
  assert.deepEqual(joined, expected);
});
