/**
 * FrameDecoder's parser on realistic binary traffic: GETK-heavy frames fed as
 * 64 KiB chunks (one read of a pipelining client) and one byte at a time
 * (the worst split).
 *
 * @module
 */
import { BinaryParser } from "../lib/binary/binary_parser.ts";
import type { Request } from "../lib/messages.ts";

/** A binary request frame with a 32-byte key and, for SET, a 100-byte value. */
function frame(opcode: number, i: number, valueLength: number): Uint8Array {
  const key = `key:${String(i).padStart(28, "0")}`;
  const extras = opcode === 0x01 ? 8 : 0;
  const body = extras + key.length + valueLength;
  const out = new Uint8Array(24 + body);
  out[0] = 0x80;
  out[1] = opcode;
  out[3] = key.length;
  out[4] = extras;
  out[11] = body;
  for (let j = 0; j < key.length; j++) out[24 + extras + j] = key.charCodeAt(j);
  return out;
}

/** 64 KiB of back-to-back frames: 9 GETKQ for each SET, like a read-mostly client. */
function traffic(bytes: number): Uint8Array {
  const frames: Uint8Array[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const f = i % 10 === 9 ? frame(0x01, i, 100) : frame(0x0d, i, 0);
    frames.push(f);
    size += f.length;
  }
  const out = new Uint8Array(size);
  let pos = 0;
  for (const f of frames) {
    out.set(f, pos);
    pos += f.length;
  }
  return out;
}

const data = traffic(64 * 1024);

Deno.bench("BinaryParser, 64 KiB chunks", { group: "decoder", baseline: true }, () => {
  const parser = new BinaryParser();
  const out: Request[] = [];
  parser.push(data, out);
});

const small = data.subarray(0, 4096);
Deno.bench("BinaryParser, 4 KiB one byte at a time", { group: "decoder" }, () => {
  const parser = new BinaryParser();
  const out: Request[] = [];
  for (let i = 0; i < small.length; i++) parser.push(small.subarray(i, i + 1), out);
});

const single = frame(0x00, 1, 0);
Deno.bench("BinaryParser, one GET frame per chunk", { group: "decoder" }, () => {
  const parser = new BinaryParser();
  const out: Request[] = [];
  parser.push(single, out);
});
