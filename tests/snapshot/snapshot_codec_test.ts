/**
 * The snapshot format in memory: SnapshotEncoder → SnapshotDecoder round
 * trips of every field, any chunking, and every kind of damage detected.
 */
import assert from "node:assert/strict";
import { SnapshotDecoder } from "../../lib/snapshot/snapshot_decoder.ts";
import { SnapshotEncoder } from "../../lib/snapshot/snapshot_encoder.ts";
import { SnapshotError } from "../../lib/snapshot/snapshot_error.ts";
import { crc32c } from "../../lib/snapshot/crc32c.ts";
import type { SnapshotItem } from "../../lib/snapshot/snapshot_store.ts";

type Fields = Partial<Omit<SnapshotItem, "key">> & { key: string; value: Uint8Array };

const item = (fields: Fields): SnapshotItem => ({
  flags: 0,
  cas: 1,
  exptime: 0,
  lastAccess: 1_700_000_000,
  fetched: false,
  ...fields,
  key: Uint8Array.from(fields.key, (c) => c.charCodeAt(0)),
});

/** Items covering every field's edges. */
const ITEMS: SnapshotItem[] = [
  item({ key: "a", value: new Uint8Array(0) }),
  item({
    key: "\x00\x80\x9f\xff binary key",
    value: Uint8Array.from({ length: 256 }, (_, i) => i),
    flags: 0xffffffff,
    cas: Number.MAX_SAFE_INTEGER,
    exptime: 4_102_444_800,
    lastAccess: 1_700_000_123,
    fetched: true,
  }),
  item({
    key: "k".repeat(250),
    value: new Uint8Array(5000).fill(7),
    flags: 1,
    cas: 2 ** 32 + 1,
    exptime: 1_700_000_100,
    binaryKey: true,
    stale: true,
    tokenSent: true,
  }),
  item({ key: "x".repeat(0xffff), value: new Uint8Array([1]), stale: true }),
];

function encode(items: SnapshotItem[], chunkSize?: number): Uint8Array {
  const encoder = new SnapshotEncoder({ chunkSize });
  const early: Uint8Array[] = [];
  for (const it of items) {
    encoder.add(it);
    early.push(...encoder.take());
  }
  const { chunks, header } = encoder.finish({ casCounter: 99, writtenAt: 1_700_000_000_123 });
  const parts = [header, ...early, ...chunks];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Decodes `file` pushed in pieces of `step` bytes; returns header and copies of the records. */
function decode(file: Uint8Array, step = file.length, records = true) {
  const got: SnapshotItem[] = [];
  const decoder = new SnapshotDecoder({
    onRecord: records
      ? (it) => got.push({ ...it, key: it.key.slice(), value: it.value.slice() })
      : undefined,
  });
  for (let i = 0; i < file.length; i += step) decoder.push(file.subarray(i, i + step));
  return { header: decoder.end(), items: got };
}

const normal = (it: SnapshotItem) => ({
  ...it,
  binaryKey: it.binaryKey ?? false,
  stale: it.stale ?? false,
  tokenSent: it.tokenSent ?? false,
});

function damage(fn: () => unknown): SnapshotError {
  try {
    fn();
  } catch (err) {
    if (err instanceof SnapshotError) return err;
    throw err;
  }
  assert.fail("no SnapshotError");
}

Deno.test("SnapshotDecoder gets back every field SnapshotEncoder wrote", () => {
  for (const chunkSize of [1 << 20, 64, 37]) {
    const file = encode(ITEMS, chunkSize);
    const { header, items } = decode(file);
    assert.equal(header.casCounter, 99);
    assert.equal(header.writtenAt, 1_700_000_000_123);
    assert.equal(header.itemCount, ITEMS.length);
    assert.equal(header.fileLength, file.length);
    assert.deepEqual(items, ITEMS.map(normal), `chunk size ${chunkSize}`);
  }
});

Deno.test("SnapshotDecoder decodes a file pushed in pieces of any size, and one byte at a time", () => {
  const file = encode(ITEMS.slice(0, 3), 100);
  const expected = ITEMS.slice(0, 3).map(normal);
  for (const step of [1, 2, 3, 7, 35, 36, 37, 63, 64, 65, 1000, 4096]) {
    assert.deepEqual(decode(file, step).items, expected, `step ${step}`);
  }
  for (let cut = 0; cut <= file.length; cut += 11) {
    const decoder = new SnapshotDecoder();
    decoder.push(file.subarray(0, cut));
    decoder.push(file.subarray(cut));
    assert.equal(decoder.end().itemCount, 3, `cut ${cut}`);
  }
});

Deno.test("SnapshotDecoder checks a file without records when given no onRecord", () => {
  const file = encode(ITEMS, 50);
  for (const step of [1, 50, file.length]) {
    assert.equal(decode(file, step, false).header.itemCount, ITEMS.length);
  }
});

Deno.test("An empty snapshot has a 64-byte header and a 16-byte trailer", () => {
  const file = encode([]);
  assert.equal(file.length, 80);
  assert.deepEqual(decode(file).items, []);
  assert.deepEqual([...file.subarray(0, 8)], [0x89, 0x4d, 0x42, 0x53, 0x4e, 0x41, 0x50, 0x0a]);
});

Deno.test("SnapshotDecoder refuses an empty file, a foreign one and every truncation", () => {
  assert.equal(damage(() => decode(new Uint8Array(0))).damage, "empty");
  const foreign = new TextEncoder().encode("VALUE k 0 1\r\nv\r\nEND\r\n".repeat(10));
  assert.equal(damage(() => decode(foreign)).damage, "foreign");
  assert.equal(damage(() => decode(new Uint8Array(100))).damage, "foreign");
  const file = encode(ITEMS.slice(0, 3));
  for (let length = 1; length < file.length; length++) {
    const err = damage(() => decode(file.subarray(0, length), 17));
    assert.equal(err.damage, "truncated", `${length} bytes: ${err.message}`);
  }
});

Deno.test("SnapshotDecoder detects every single flipped bit, anywhere in the file", () => {
  const file = encode(ITEMS.slice(0, 3));
  for (let at = 0; at < file.length; at++) {
    for (const bit of [0x01, 0x80]) {
      const bad = file.slice();
      bad[at] ^= bit;
      const err = damage(() => decode(bad, 1000, false));
      assert.ok(err.message.length > 0, `byte ${at}`);
    }
  }
});

Deno.test("SnapshotDecoder reports a flipped byte in the body as a checksum mismatch", () => {
  const file = encode(ITEMS.slice(0, 3));
  const bad = file.slice();
  bad[Math.floor(file.length / 2)] ^= 0xff;
  const err = damage(() => decode(bad));
  assert.equal(err.damage, "checksum");
  assert.equal(err.message, "Body checksum mismatch");
});

Deno.test("SnapshotDecoder refuses a newer format version, naming both versions", () => {
  const file = encode(ITEMS.slice(0, 1));
  const view = new DataView(file.buffer);
  view.setUint32(8, 2, true);
  view.setUint32(60, crc32c(file.subarray(0, 60)), true); // a genuine version-2 header
  const err = damage(() => decode(file));
  assert.equal(err.damage, "newer");
  assert.equal(
    err.message,
    "Written in snapshot format version 2; this server reads version 1",
  );
});

Deno.test("SnapshotDecoder refuses bytes after the trailer", () => {
  const file = encode(ITEMS.slice(0, 1));
  const longer = new Uint8Array(file.length + 1);
  longer.set(file);
  assert.equal(damage(() => decode(longer)).damage, "malformed");
  assert.equal(damage(() => decode(longer, 1)).damage, "malformed");
});

Deno.test("SnapshotEncoder refuses an empty key and one over 65,535 bytes", () => {
  const encoder = new SnapshotEncoder();
  assert.throws(() => encoder.add(item({ key: "", value: new Uint8Array(0) })), RangeError);
  assert.throws(
    () => encoder.add(item({ key: "k".repeat(0x10000), value: new Uint8Array(0) })),
    /Cannot snapshot a key of 65536 bytes/,
  );
});

Deno.test("SnapshotDecoder refuses records that do not add up, even under good checksums", () => {
  /** Changes the body, then makes both checksums right again (as a buggy writer would). */
  const reseal = (file: Uint8Array, edit: (view: DataView) => void) => {
    const bad = file.slice();
    const view = new DataView(bad.buffer);
    edit(view);
    view.setUint32(48, crc32c(bad.subarray(64, bad.length - 16)), true);
    view.setUint32(60, crc32c(bad.subarray(0, 60)), true);
    return bad;
  };
  const file = encode(ITEMS.slice(0, 2));
  const cases: [string, (view: DataView) => void, RegExp][] = [
    ["empty key", (v) => v.setUint16(64, 0, true), /Malformed record 1 at body byte 0/],
    ["unknown state bit", (v) => v.setUint8(66, 0x10), /Malformed record 1/],
    ["nonzero reserved byte", (v) => v.setUint8(67, 1), /Malformed record 1/],
    ["value past the body", (v) => v.setUint32(68, 1 << 20, true), /runs past the body/],
    ["CAS beyond 2^53", (v) => v.setUint32(80, 0xffffffff, true), /Malformed record 1/],
    ["fewer records than the header says", (v) => v.setUint32(32, 3, true), /holds 2 records/],
    ["more records than the header says", (v) => v.setUint32(32, 1, true), /More records/],
  ];
  for (const [what, edit, message] of cases) {
    const err = damage(() => decode(reseal(file, edit)));
    assert.equal(err.damage, "malformed", what);
    assert.match(err.message, message, what);
  }
});
