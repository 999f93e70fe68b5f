import assert from "node:assert/strict";
import type { Request, TextRequest } from "../../lib/messages.ts";
import { TextParser } from "../../lib/text/text_parser.ts";
import { latin1 } from "../_support/raw_client.ts";

/** A comparable view of decoded requests: keys put back in their places among the words. */
function view(out: Request[]): unknown[] {
  return out.map((r) =>
    r.kind === "text"
      ? {
        words: withKeys(r),
        block: r.block,
        data: r.data === undefined ? undefined : String.fromCharCode(...r.data),
      }
      : { kind: r.kind }
  );
}

function withKeys(r: TextRequest): string[] {
  let k = 0;
  return r.words.map((w) => w === "" ? String.fromCharCode(...r.keys[k++]) : w);
}

const STREAM = "set a 0 0 5\r\nhello\r\n" +
  "get a b\n" +
  "ms k 3 T0 F5\r\nx\ry\r\n" +
  "append a 0 0 2 noreply\r\nxyz\r\n" + // a block not ending in \r\n
  "set big 0 0 40\r\n" + "z".repeat(40) + "\r\n" + // too large for maxItemSize 16
  "set n 0 0 -1\r\nversion\r\n" + // negative length: no block, next line is a command
  "incr a 18446744073709551615\r\n" +
  "\r\n" +
  "mg a v\r" + "\n" +
  "cas a 0 0 0 7\r\n\r\n";

function decodeWhole(bytes: Uint8Array): unknown[] {
  const out: Request[] = [];
  new TextParser({ maxItemSize: 16 }).push(bytes, out);
  return view(out);
}

Deno.test("TextParser decodes lines, data blocks, bad chunks and swallowed blocks", () => {
  const got = decodeWhole(latin1(STREAM));
  assert.deepEqual(got, [
    { words: ["set", "a", "0", "0", "5"], block: "ok", data: "hello" },
    { words: ["get", "a", "b"], block: undefined, data: undefined },
    { words: ["ms", "k", "3", "T0", "F5"], block: "ok", data: "x\ry" },
    { words: ["append", "a", "0", "0", "2", "noreply"], block: "bad_chunk", data: "xy" },
    { words: [], block: undefined, data: undefined }, // the "\n" left after "xyz\r"
    { words: ["set", "big", "0", "0", "40"], block: "too_large", data: undefined },
    { words: ["set", "n", "0", "0", "-1"], block: undefined, data: undefined },
    { words: ["version"], block: undefined, data: undefined },
    { words: ["incr", "a", "18446744073709551615"], block: undefined, data: undefined },
    { words: ["\r"], block: undefined, data: undefined }, // memcached keeps a lone "\r"
    { words: ["mg", "a", "v"], block: undefined, data: undefined },
    { words: ["cas", "a", "0", "0", "0", "7"], block: "ok", data: "" },
  ]);
});

Deno.test("TextParser gives the same requests for every split point of the stream", () => {
  const bytes = latin1(STREAM);
  const whole = decodeWhole(bytes);
  for (let i = 0; i <= bytes.length; i++) {
    const parser = new TextParser({ maxItemSize: 16 });
    const out: Request[] = [];
    parser.push(bytes.slice(0, i), out);
    parser.push(bytes.slice(i), out);
    assert.deepEqual(view(out), whole, `split at ${i}`);
    assert.equal(parser.buffered, 0);
  }
});

Deno.test("TextParser gives the same requests fed one byte at a time", () => {
  const bytes = latin1(STREAM);
  const parser = new TextParser({ maxItemSize: 16 });
  const out: Request[] = [];
  for (let i = 0; i < bytes.length; i++) parser.push(bytes.slice(i, i + 1), out);
  assert.deepEqual(view(out), decodeWhole(bytes));
});

Deno.test("TextParser emits every request a chunk completes in one call", () => {
  const parser = new TextParser();
  const first: Request[] = [];
  parser.push(latin1("get a\r\nget b\r\nset c 0 0 1\r\n"), first);
  assert.equal(first.length, 2);
  assert.equal(parser.buffered, 0);
  const second: Request[] = [];
  parser.push(latin1("x\r\nget d\r\nget"), second);
  assert.deepEqual(view(second).length, 2);
  assert.equal(parser.buffered, 3);
});

Deno.test("TextParser copies data blocks out of the chunk; keys are views of it", () => {
  const parser = new TextParser();
  const out: Request[] = [];
  const chunk = latin1("set a 0 0 3\r\nabc\r\n");
  parser.push(chunk, out);
  const req = out[0] as TextRequest;
  assert.equal(req.keys[0].buffer, chunk.buffer, "the key is a view, not a string or a copy");
  chunk.fill(0x21);
  assert.deepEqual(view(out)[0], { words: ["set", "!", "0", "0", "3"], block: "ok", data: "abc" });
});

Deno.test("TextParser keeps keys as bytes for the commands that take keys, and only there", () => {
  const parser = new TextParser();
  const out: Request[] = [];
  parser.push(latin1("get a b\r\ngat 10 c\r\ndelete d 0\r\nmg e v\r\nstats f\r\nversion\r\n"), out);
  const texts = out as TextRequest[];
  assert.deepEqual(texts.map((r) => r.words), [
    ["get", "", ""],
    ["gat", "10", ""],
    ["delete", "", "0"],
    ["mg", "", "v"],
    ["stats", "f"],
    ["version"],
  ]);
  assert.deepEqual(texts.map((r) => r.keys.map((k) => String.fromCharCode(...k))), [
    ["a", "b"],
    ["c"],
    ["d"],
    ["e"],
    [],
    [],
  ]);
});

Deno.test("TextParser closes on an unterminated line over 2048 bytes unless it is a get", () => {
  const parser = new TextParser();
  const out: Request[] = [];
  parser.push(latin1("version " + "x".repeat(2048)), out);
  assert.deepEqual(out, [{ kind: "close" }]);
  assert.ok(parser.closed);
  const more: Request[] = [];
  parser.push(latin1("version\r\n"), more);
  assert.deepEqual(more, []);

  const get = new TextParser();
  const keys: Request[] = [];
  const line = "get " + "k ".repeat(3000);
  get.push(latin1(line), keys);
  assert.equal(keys.length, 0);
  get.push(latin1("\r\n"), keys);
  assert.equal(keys.length, 1);
  assert.equal((keys[0] as TextRequest).words.length, 3001);
});

Deno.test("TextParser bounds a get line that never ends", () => {
  const parser = new TextParser({ maxGetLine: 4096 });
  const out: Request[] = [];
  parser.push(latin1("gets " + "k ".repeat(1000)), out);
  assert.equal(out.length, 0);
  parser.push(latin1("k ".repeat(1100)), out);
  assert.deepEqual(out, [{ kind: "close" }]);
});

Deno.test("TextParser swallows a huge data block without buffering it", () => {
  const parser = new TextParser({ maxItemSize: 1024 });
  const out: Request[] = [];
  parser.push(latin1("set a 0 0 2147483645\r\n"), out);
  for (let i = 0; i < 100; i++) parser.push(new Uint8Array(65536), out);
  assert.equal(parser.buffered, 0);
  assert.equal(out.length, 0);
});

Deno.test("TextParser reads lines as C strings: a NUL ends the line", () => {
  const parser = new TextParser();
  const out: Request[] = [];
  parser.push(latin1("get a\x00b c\r\n"), out);
  assert.deepEqual(view(out), [{ words: ["get", "a"], block: undefined, data: undefined }]);
});
