import assert from "node:assert/strict";
import { Segments } from "../../lib/store/segments.ts";
import { prng } from "../_support/prng.ts";

const SEGMENT = 16 * 1024;

/** Segments whose owners are a plain array of addresses. */
function make(maxBytes = 64 * SEGMENT) {
  const addresses: number[] = [];
  const segments = new Segments(Segments.allocate({ maxBytes, segmentSize: SEGMENT }), {
    addressOf: (owner) => addresses[owner] ?? -1,
    move: (owner, to) => addresses[owner] = to,
  });
  return { segments, addresses };
}

/** `length` bytes that name their owner and position. */
function pattern(owner: number, length: number): Uint8Array {
  return new Uint8Array(length).map((_, i) => (owner * 31 + i * 7) & 0xff);
}

function readAll(segments: Segments, address: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  segments.read(address, 0, out);
  return out;
}

Deno.test("Segments write and read records of one piece and of many, in parts", () => {
  const { segments } = make();
  const sizes = [0, 1, 100, 3000, SEGMENT - 8, SEGMENT, 5 * SEGMENT + 123];
  const records = sizes.map((length, owner) => {
    const address = segments.reserve(owner, length);
    assert.ok(address >= 0);
    const bytes = pattern(owner, length);
    const cut = Math.floor(length / 3);
    segments.write(address, 0, bytes.subarray(0, cut));
    segments.write(address, cut, bytes.subarray(cut));
    return { address, bytes };
  });
  for (const { address, bytes } of records) {
    assert.deepEqual(readAll(segments, address, bytes.length), bytes);
    if (bytes.length > 10) {
      const middle = new Uint8Array(bytes.length - 10);
      segments.read(address, 5, middle);
      assert.deepEqual(middle, bytes.subarray(5, bytes.length - 5));
    }
  }
  assert.equal(segments.pieces(records[6].address) > 5, true, "a large record spans segments");
  assert.ok(segments.keyEquals(records[3].address, records[3].bytes.subarray(0, 250)));
  assert.ok(!segments.keyEquals(records[3].address, records[2].bytes.subarray(0, 50)));
});

Deno.test("Segments reuse a segment whose records all died, and reset frees everything", () => {
  const { segments } = make();
  const a = segments.reserve(0, 7000);
  const b = segments.reserve(1, 7000);
  segments.reserve(2, 7000); // too large for the room left, too small to split: a new segment
  assert.equal(segments.allocatedBytes, 2 * SEGMENT);
  segments.free(a);
  segments.free(b);
  assert.equal(segments.allocatedBytes, SEGMENT, "the first segment is free again");
  segments.reset();
  assert.equal(segments.allocatedBytes, 0);
  assert.equal(segments.liveBytes, 0);
  assert.ok(segments.reserve(3, 100) >= 0);
});

Deno.test("Segments compaction moves live records, owners follow, and memory stays near live bytes", () => {
  const { segments, addresses } = make(256 * SEGMENT);
  const next = prng(11);
  const lengths: number[] = [];
  let peak = 0;
  for (let step = 0; step < 20_000; step++) {
    const owner = Math.floor(next() * 300);
    if (addresses[owner] !== undefined && addresses[owner] >= 0) {
      segments.free(addresses[owner]);
      addresses[owner] = -1; // before the next reserve, which may compact
    }
    const length = next() < 0.05
      ? SEGMENT + Math.floor(next() * 3 * SEGMENT)
      : Math.floor(next() * 2000);
    const address = segments.reserve(owner, length);
    assert.ok(address >= 0, `reserve at step ${step}`);
    segments.write(address, 0, pattern(owner + step, length));
    addresses[owner] = address;
    lengths[owner] = length + step * 0x1_0000; // remember both
    peak = Math.max(peak, segments.allocatedBytes);
  }
  for (const [owner, address] of addresses.entries()) {
    if (address === undefined || address < 0) continue;
    const length = lengths[owner] % 0x1_0000;
    const step = Math.floor(lengths[owner] / 0x1_0000);
    assert.deepEqual(readAll(segments, address, length), pattern(owner + step, length), `${owner}`);
  }
  assert.ok(
    segments.allocatedBytes <= segments.liveBytes / 0.75 + 6 * SEGMENT,
    `${segments.allocatedBytes} for ${segments.liveBytes} live`,
  );
});

Deno.test("Segments refuse a record when the reserved space is full", () => {
  const { segments } = make(4 * SEGMENT);
  assert.ok(segments.reserve(0, 3 * SEGMENT) >= 0);
  assert.equal(segments.reserve(1, 2 * SEGMENT), -1);
  assert.ok(segments.reserve(2, 1000) >= 0, "small records still fit");
});

Deno.test("Segments.read stops at bytes that are no record (the stale address of a reader without a share)", () => {
  const { segments, addresses } = make();
  addresses[0] = segments.reserve(0, 64);
  // A client's value that looks like a head piece with 2^32 - 1 more pieces, none with bytes.
  const value = new Uint8Array(64);
  const view = new DataView(value.buffer);
  view.setUint32(4, (0x8000_0000 | 0x4000_0000 | 16) >>> 0, true);
  view.setUint32(8, 0xffff_ffff, true);
  segments.write(addresses[0], 0, value);
  const stale = addresses[0] + 8; // the record's bytes, read as if a record began there
  const out = new Uint8Array(100);
  const started = performance.now();
  try {
    segments.read(stale, 0, out);
  } catch (err) {
    assert.ok(err instanceof RangeError, String(err));
  }
  assert.ok(performance.now() - started < 1000, "returns instead of walking 2^32 pieces");
});
