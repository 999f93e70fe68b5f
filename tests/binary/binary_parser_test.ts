import assert from "node:assert/strict";
import { BinaryParser } from "../../lib/binary/binary_parser.ts";
import type { BinaryRequest, Request } from "../../lib/messages.ts";
import { binaryRequest, concat, words } from "../_support/raw_client.ts";

/** Several frames with keys, extras and values, including binary bytes and empty parts. */
function sampleFrames(): Uint8Array[] {
  const value = new Uint8Array(300);
  for (let i = 0; i < value.length; i++) value[i] = (i * 7) & 0xff;
  return [
    binaryRequest({ opcode: 0x01, key: "key1", extras: words(0xdeadbeef, 100), value, opaque: 1 }),
    binaryRequest({ opcode: 0x00, key: "k\x80\xff", opaque: 2, cas: 0x1_0000_0002n }),
    binaryRequest({ opcode: 0x0a, opaque: 3 }),
    binaryRequest({ opcode: 0x05, key: "n", extras: words(0, 5, 0, 10, 0xffffffff), opaque: 4 }),
    binaryRequest({ opcode: 0x0e, key: "a", value: "tail", opaque: 5 }),
    binaryRequest({ opcode: 0x1c, key: "t", extras: words(60), opaque: 6 }),
  ];
}

function joined(frames: Uint8Array[]): Uint8Array {
  return frames.reduce((a, b) => concat(a, b), new Uint8Array(0));
}

/** What a request decodes to, minus nothing: every field compared. */
function summary(req: Request): unknown {
  assert.equal(req.kind, "binary");
  const r = req as BinaryRequest;
  return { ...r, value: Array.from(r.value) };
}

function decodeWhole(bytes: Uint8Array): unknown[] {
  const out: Request[] = [];
  new BinaryParser().push(bytes, out);
  return out.map(summary);
}

Deno.test("BinaryParser decodes every field of several frames", () => {
  const frames = sampleFrames();
  const [set, get, noop, incr] = decodeWhole(joined(frames)) as Record<string, unknown>[];
  assert.deepEqual(
    [set.opcode, set.key, set.extras, set.opaque, (set.value as number[]).length],
    [0x01, "key1", { family: "storage", flags: 0xdeadbeef, exptime: 100 }, 1, 300],
  );
  assert.deepEqual([get.key, get.cas, get.keyLength, get.extrasLength], [
    "k\x80\xff",
    0x1_0000_0002,
    3,
    0,
  ]);
  assert.deepEqual([noop.opcode, noop.bodyLength, noop.key], [0x0a, 0, ""]);
  assert.deepEqual(incr.extras, {
    family: "arithmetic",
    delta: 5n,
    initial: 10n,
    exptime: 0xffffffff,
  });
  assert.equal(get.extras, undefined);
});

Deno.test("BinaryParser decodes extras by opcode family, and only at that family's length", () => {
  const extrasOf = (opcode: number, extras: Uint8Array) =>
    (decodeWhole(binaryRequest({ opcode, key: "k", extras }))[0] as BinaryRequest).extras;
  assert.deepEqual(extrasOf(0x13, words(7, 30)), { family: "storage", flags: 7, exptime: 30 });
  assert.deepEqual(extrasOf(0x16, words(1, 2, 3, 4, 5)), {
    family: "arithmetic",
    delta: 0x1_0000_0002n,
    initial: 0x3_0000_0004n,
    exptime: 5,
  });
  assert.deepEqual(extrasOf(0x24, words(90)), { family: "touch", exptime: 90 });
  assert.deepEqual(extrasOf(0x18, words(10)), { family: "flush", delay: 10 });
  assert.equal(extrasOf(0x01, words(7)), undefined, "a SET with 4 bytes of extras");
  assert.equal(extrasOf(0x1c, words(7, 8)), undefined, "a TOUCH with 8 bytes of extras");
  assert.equal(extrasOf(0x00, words(7)), undefined, "a GET carries no extras");
});

Deno.test("BinaryParser gives the same requests for every split point of a multi-frame buffer", () => {
  const bytes = joined(sampleFrames());
  const expected = decodeWhole(bytes);
  assert.equal(expected.length, 6);
  for (let at = 0; at <= bytes.length; at++) {
    const parser = new BinaryParser();
    const out: Request[] = [];
    parser.push(bytes.slice(0, at), out);
    parser.push(bytes.slice(at), out);
    assert.deepEqual(out.map(summary), expected, `split at ${at}`);
    assert.equal(parser.buffered, 0);
  }
});

Deno.test("BinaryParser gives the same requests for every pair of split points", () => {
  const bytes = joined(sampleFrames().slice(1, 5));
  const expected = decodeWhole(bytes);
  for (let a = 0; a <= bytes.length; a++) {
    for (let b = a; b <= bytes.length; b += 3) {
      const parser = new BinaryParser();
      const out: Request[] = [];
      parser.push(bytes.slice(0, a), out);
      parser.push(bytes.slice(a, b), out);
      parser.push(bytes.slice(b), out);
      assert.deepEqual(out.map(summary), expected, `split at ${a} and ${b}`);
    }
  }
});

Deno.test("BinaryParser decodes a buffer fed one byte at a time", () => {
  const bytes = joined(sampleFrames());
  const parser = new BinaryParser();
  const out: Request[] = [];
  const completedAt: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    const before = out.length;
    parser.push(bytes.subarray(i, i + 1), out);
    if (out.length > before) completedAt.push(i + 1);
  }
  assert.deepEqual(out.map(summary), decodeWhole(bytes));
  // each frame completes exactly at its last byte
  let end = 0;
  assert.deepEqual(completedAt, sampleFrames().map((f) => end += f.length));
});

Deno.test("BinaryParser does not keep views of the caller's chunk", () => {
  const bytes = joined(sampleFrames());
  const parser = new BinaryParser();
  const out: Request[] = [];
  const chunk = new Uint8Array(bytes.length);
  const half = 100;
  chunk.set(bytes.subarray(0, half));
  parser.push(chunk.subarray(0, half), out);
  chunk.fill(0xee); // the caller reuses its read buffer
  chunk.set(bytes.subarray(half));
  parser.push(chunk.subarray(0, bytes.length - half), out);
  const values = out.map(summary);
  chunk.fill(0xee);
  assert.deepEqual(values, decodeWhole(bytes));
  assert.deepEqual(out.map(summary), decodeWhole(bytes));
});

Deno.test("BinaryParser closes silently on a wrong magic byte", () => {
  const parser = new BinaryParser();
  const out: Request[] = [];
  const good = binaryRequest({ opcode: 0x0a });
  const bad = binaryRequest({ opcode: 0x0a, magic: 0x81 });
  parser.push(concat(good, concat(bad, good)), out);
  assert.deepEqual(out.map((r) => r.kind), ["binary", "close"]);
  assert.equal((out[1] as { reply?: unknown }).reply, undefined);
  assert.ok(parser.closed);
  parser.push(good, out);
  assert.equal(out.length, 2, "nothing is decoded after a close");
});

Deno.test("BinaryParser answers keylen + extlen > bodylen with Unknown command, then closes", () => {
  const parser = new BinaryParser();
  const out: Request[] = [];
  const frame = binaryRequest({ opcode: 0x01, key: "abc", extras: words(0, 0), opaque: 9 });
  frame[11] = 5; // bodylen 5 < 3 + 8
  parser.push(frame.subarray(0, 24), out);
  assert.equal(out.length, 1);
  const close = out[0];
  assert.equal(close.kind, "close");
  assert.deepEqual(
    close.kind === "close" && close.reply?.kind === "binary" &&
      [close.reply.status, close.reply.opaque, close.reply.value],
    [0x81, 9, "Unknown command"],
  );
});

Deno.test("BinaryParser rejects a body over the limit from its header alone", () => {
  const parser = new BinaryParser({ maxBodyLength: 1000 });
  const out: Request[] = [];
  const header = binaryRequest({ opcode: 0x01, key: "k", extras: words(0, 0), bodyLength: 1001 });
  parser.push(header.subarray(0, 24), out);
  assert.equal(out.length, 1);
  const close = out[0];
  assert.ok(close.kind === "close" && close.reply?.kind === "binary");
  assert.equal(close.reply.status, 3);
  assert.equal(close.reply.value, "Too large.");
  assert.equal(parser.buffered, 0, "nothing of the announced body is buffered");
  // at the limit is fine
  const ok = new BinaryParser({ maxBodyLength: 1000 });
  const okOut: Request[] = [];
  ok.push(
    binaryRequest({ opcode: 0x01, key: "k", extras: words(0, 0), value: "v".repeat(991) }),
    okOut,
  );
  assert.equal(okOut[0].kind, "binary");
});
