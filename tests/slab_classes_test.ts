/**
 * Slab classes and item sizes as memcached 1.6.18 computes them: the class
 * table (`chunk_size`, `chunks_per_page`) for several `-f`/`-n`/`-I`/
 * `slab_chunk_max` settings, checked against real memcached's own `-vv`
 * report when it is installed. (tests/stats/stats_slabs_test.ts checks the
 * chunks items occupy, on memcached and on our server.)
 */
import assert from "node:assert/strict";
import { itemSize } from "../lib/item_size.ts";
import { type ItemChunks, SlabClasses, type SlabClassesOptions } from "../lib/slab_classes.ts";
import { freePort, stop } from "./_support/child_server.ts";
import { MEMCACHED, testWithTools } from "./_support/tools.ts";

/** memcached 1.6.18 `-vv` with default settings: chunk size and chunks per page of each class. */
const DEFAULT_TABLE: [number, number][] = [
  [96, 10922],
  [120, 8738],
  [152, 6898],
  [192, 5461],
  [240, 4369],
  [304, 3449],
  [384, 2730],
  [480, 2184],
  [600, 1747],
  [752, 1394],
  [944, 1110],
  [1184, 885],
  [1480, 708],
  [1856, 564],
  [2320, 451],
  [2904, 361],
  [3632, 288],
  [4544, 230],
  [5680, 184],
  [7104, 147],
  [8880, 118],
  [11104, 94],
  [13880, 75],
  [17352, 60],
  [21696, 48],
  [27120, 38],
  [33904, 30],
  [42384, 24],
  [52984, 19],
  [66232, 15],
  [82792, 12],
  [103496, 10],
  [129376, 8],
  [161720, 6],
  [202152, 5],
  [252696, 4],
  [315872, 3],
  [394840, 2],
  [524288, 2],
];

function table(classes: SlabClasses): [number, number][] {
  const out: [number, number][] = [];
  for (let id = 1; id <= classes.count; id++) {
    out.push([classes.chunkSize(id), classes.chunksPerPage(id)]);
  }
  return out;
}

Deno.test("SlabClasses with memcached's defaults match memcached 1.6.18's table", () => {
  assert.deepEqual(table(new SlabClasses()), DEFAULT_TABLE);
});

Deno.test("SlabClasses stops at 63 classes and repeats sizes a tiny factor cannot grow", () => {
  const classes = new SlabClasses({ growthFactor: 1.01 });
  assert.equal(classes.count, 63);
  assert.equal(classes.chunkSize(2), 96);
  assert.equal(classes.chunkSize(63), 524288);
  assert.equal(classes.classFor(96), 1);
  assert.equal(classes.classFor(97), 63);
});

Deno.test("SlabClasses.classFor picks the smallest class that holds a size", () => {
  const classes = new SlabClasses();
  assert.equal(classes.classFor(0), 0);
  assert.equal(classes.classFor(1), 1);
  assert.equal(classes.classFor(96), 1);
  assert.equal(classes.classFor(97), 2);
  assert.equal(classes.classFor(524288), 39);
  assert.equal(classes.classFor(524289), 39);
  assert.equal(classes.classFor(1048576), 39);
  assert.equal(classes.classFor(1048577), 0);
});

Deno.test("SlabClasses.chunksOf splits items over slab_chunk_max as memcached 1.6.18 did", () => {
  // Observed with `stats slabs` used_chunks after one `set k 0 0 N` each.
  const classes = new SlabClasses();
  const chunks = (n: number): ItemChunks =>
    classes.chunksOf({ keyLength: 1, valueLength: n, flags: 0 });
  assert.deepEqual(chunks(100), { lru: 4, first: 4, largest: 0, last: 0 });
  assert.deepEqual(chunks(524228), { lru: 39, first: 39, largest: 0, last: 0 });
  assert.deepEqual(chunks(524230), { lru: 39, first: 2, largest: 0, last: 39 });
  assert.deepEqual(chunks(524300), { lru: 39, first: 2, largest: 1, last: 2 });
  assert.deepEqual(chunks(600000), { lru: 39, first: 2, largest: 1, last: 31 });
  assert.deepEqual(chunks(1048000), { lru: 39, first: 2, largest: 1, last: 39 });
  assert.deepEqual(chunks(1048506), { lru: 39, first: 2, largest: 2, last: 1 });
});

Deno.test("itemSize counts header, key + NUL, nonzero flags, value + CRLF and CAS", () => {
  assert.equal(itemSize({ keyLength: 1, valueLength: 0, flags: 0 }), 60);
  assert.equal(itemSize({ keyLength: 2, valueLength: 0, flags: 5 }), 65);
  assert.equal(itemSize({ keyLength: 1, valueLength: 100, flags: 0 }), 160);
  assert.equal(itemSize({ keyLength: 1, valueLength: 1048506, flags: 0 }), 1048566);
});

/** Flag sets whose class tables are compared with memcached's own `-vv` report. */
const FLAG_SETS: { args: string[]; options: SlabClassesOptions }[] = [
  { args: [], options: {} },
  { args: ["-f", "2"], options: { growthFactor: 2 } },
  { args: ["-f", "1.05"], options: { growthFactor: 1.05 } },
  { args: ["-f", "100"], options: { growthFactor: 100 } },
  { args: ["-n", "5"], options: { minSpace: 5 } },
  { args: ["-n", "100", "-f", "1.5"], options: { minSpace: 100, growthFactor: 1.5 } },
  { args: ["-I", "2m"], options: { maxItemSize: 2 << 20 } },
  {
    args: ["-I", "2m", "-o", "slab_chunk_max=131072"],
    options: { maxItemSize: 2 << 20, slabChunkMax: 131072 },
  },
  {
    args: ["-I", "64k", "-o", "slab_chunk_max=16384"],
    options: { maxItemSize: 64 << 10, slabChunkMax: 16384 },
  },
  {
    args: ["-o", "slab_chunk_max=1048576"],
    options: { slabChunkMax: 1048576 },
  },
];

/** Starts memcached with `-vv` and reads the slab class table it prints, then stops it. */
async function memcachedTable(args: string[]): Promise<[number, number][]> {
  const child = new Deno.Command("memcached", {
    args: [
      "-U",
      "0",
      "-l",
      "127.0.0.1",
      "-p",
      String(freePort()),
      "-t",
      "1",
      ...(Deno.uid() === 0 ? ["-u", "nobody"] : []),
      "-vv",
      ...args,
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const out: [number, number][] = [];
  let text = "";
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  try {
    while (!/server listening/.test(text)) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`memcached ${args.join(" ")} exited: ${text}`);
      text += value;
    }
  } finally {
    await stop(child);
    await reader.cancel();
  }
  for (const m of text.matchAll(/slab class +(\d+): chunk size +(\d+) perslab +(\d+)/g)) {
    assert.equal(Number(m[1]), out.length + 1);
    out.push([Number(m[2]), Number(m[3])]);
  }
  return out;
}

testWithTools("SlabClasses match memcached's -vv class table for -f, -n, -I, slab_chunk_max", [
  MEMCACHED,
], async () => {
  for (const { args, options } of FLAG_SETS) {
    const expected = await memcachedTable(args);
    assert.ok(expected.length > 0, `memcached ${args.join(" ")} printed no classes`);
    assert.deepEqual(table(new SlabClasses(options)), expected, `memcached ${args.join(" ")}`);
  }
});
