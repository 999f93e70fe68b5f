import assert from "node:assert/strict";
import { FrameDecoder } from "../lib/frame_decoder.ts";
import type { Request } from "../lib/messages.ts";
import { binaryRequest, concat, words } from "./_support/raw_client.ts";

async function decode(chunks: Uint8Array[]): Promise<Request[][]> {
  return await Array.fromAsync(ReadableStream.from(chunks).pipeThrough(new FrameDecoder()));
}

const frames = [
  binaryRequest({ opcode: 0x01, key: "alpha", extras: words(1, 0), value: "one", opaque: 1 }),
  binaryRequest({ opcode: 0x0d, key: "beta", opaque: 2 }),
  binaryRequest({ opcode: 0x0d, key: "gamma\xff", opaque: 3 }),
  binaryRequest({ opcode: 0x0a, opaque: 4 }),
];
const all = frames.reduce((a, b) => concat(a, b), new Uint8Array(0));

function opaques(batches: Request[][]): number[] {
  return batches.flat().map((r) => (r.kind === "binary" ? r.opaque : -1));
}

Deno.test("FrameDecoder emits every frame of one chunk as one batch", async () => {
  const batches = await decode([all]);
  assert.equal(batches.length, 1);
  assert.deepEqual(opaques(batches), [1, 2, 3, 4]);
});

Deno.test("FrameDecoder handles a header split across chunks, at every split point", async () => {
  for (let at = 1; at < all.length; at++) {
    const batches = await decode([all.slice(0, at), all.slice(at)]);
    assert.deepEqual(opaques(batches), [1, 2, 3, 4], `split at ${at}`);
    assert.ok(batches.every((b) => b.length > 0), "no empty batches");
  }
});

Deno.test("FrameDecoder decodes a stream fed one byte at a time", async () => {
  const chunks = Array.from(all, (b) => new Uint8Array([b]));
  const batches = await decode(chunks);
  assert.equal(batches.length, 4);
  assert.deepEqual(opaques(batches), [1, 2, 3, 4]);
});

Deno.test("FrameDecoder picks the binary protocol from a first byte of 0x80 only", async () => {
  const [binary] = await decode([binaryRequest({ opcode: 0x0a })]);
  assert.equal(binary[0].kind, "binary");
  const [text] = await decode([new TextEncoder().encode("version\r\n")]);
  assert.equal(text[0].kind, "text");
});

Deno.test("FrameDecoder ends the batch with a close request on a framing error", async () => {
  const bad = binaryRequest({ opcode: 0x0a, magic: 0x00 });
  const batches = await decode([concat(frames[3], bad), frames[3]]);
  assert.deepEqual(batches.flat().map((r) => r.kind), ["binary", "close"]);
});
