/**
 * `stats slabs`, `stats items` and `bytes` after items of many sizes, under
 * several `-f`/`-n`/`-I`/`slab_chunk_max` settings: every class's chunk size
 * and chunks per page, the chunks items take (a large item's header and
 * value chunks too), the bytes each class's items request and their total,
 * as lib/slab_classes.ts and lib/item_size.ts predict them. The same
 * predictions hold for memcached 1.6.18 and for our server.
 */
import assert from "node:assert/strict";
import { itemSize } from "../../lib/item_size.ts";
import { SlabClasses, type SlabClassesOptions } from "../../lib/slab_classes.ts";
import { RawClient } from "../_support/raw_client.ts";
import { statMap, textStats } from "../_support/stats.ts";
import { testEachTarget } from "./_targets.ts";

/** Value sizes around every boundary the chunk rules have. */
const VALUE_SIZES = [
  0,
  1,
  38,
  39,
  100,
  1000,
  5000,
  100000,
  131000,
  131100,
  300000,
  524000,
  524228,
  524230,
  524300,
  600000,
  1048000,
  1048480,
  1048506,
  1048511,
  1048516,
];

/** Flags and the class table options they stand for. */
const SETTINGS: { args: string[]; options: SlabClassesOptions }[] = [
  { args: [], options: {} },
  { args: ["-f", "2", "-n", "100"], options: { growthFactor: 2, minSpace: 100 } },
  {
    args: ["-I", "2m", "-o", "slab_chunk_max=131072"],
    options: { maxItemSize: 2 << 20, slabChunkMax: 131072 },
  },
];

/** Per class: chunk size and per page, chunks in use, bytes requested; and the totals. */
interface Usage {
  classes: Map<number, [number, number]>;
  usedChunks: Map<number, number>;
  memRequested: Map<number, number>;
  bytes: number;
  items: number;
}

function emptyUsage(): Usage {
  return { classes: new Map(), usedChunks: new Map(), memRequested: new Map(), bytes: 0, items: 0 };
}

function predict(classes: SlabClasses, items: { key: string; n: number; flags: number }[]): Usage {
  const usage = emptyUsage();
  const add = (map: Map<number, number>, id: number, n: number) => {
    if (id === 0 || n === 0) return;
    map.set(id, (map.get(id) ?? 0) + n);
    usage.classes.set(id, [classes.chunkSize(id), classes.chunksPerPage(id)]);
  };
  for (const { key, n, flags } of items) {
    const shape = { keyLength: key.length, valueLength: n, flags };
    const chunks = classes.chunksOf(shape);
    add(usage.usedChunks, chunks.first, 1);
    add(usage.usedChunks, classes.count, chunks.largest);
    add(usage.usedChunks, chunks.last, 1);
    add(usage.memRequested, chunks.lru, itemSize(shape));
    usage.bytes += itemSize(shape);
    usage.items++;
  }
  return usage;
}

async function observe(client: RawClient): Promise<Usage> {
  const usage = emptyUsage();
  const slabs = statMap(await textStats(client, "stats slabs"));
  for (const [name, value] of slabs) {
    const m = /^(\d+):used_chunks$/.exec(name);
    if (!m || value === "0") continue;
    const id = Number(m[1]);
    usage.usedChunks.set(id, Number(value));
    usage.classes.set(id, [
      Number(slabs.get(`${id}:chunk_size`)),
      Number(slabs.get(`${id}:chunks_per_page`)),
    ]);
  }
  for (const [name, value] of await textStats(client, "stats items")) {
    const m = /^items:(\d+):mem_requested$/.exec(name);
    if (m && value !== "0") usage.memRequested.set(Number(m[1]), Number(value));
  }
  const general = statMap(await textStats(client));
  usage.bytes = Number(general.get("bytes"));
  usage.items = Number(general.get("curr_items"));
  return usage;
}

testEachTarget("stats slabs and items account items of every size as memcached", async (target) => {
  for (const { args, options } of SETTINGS) {
    await using server = await target.start(["-m", "128", ...args]);
    await using client = await RawClient.connect(server.port);
    const classes = new SlabClasses(options);
    const settings = statMap(await textStats(client, "stats settings"));
    assert.deepEqual(
      ["growth_factor", "chunk_size", "item_size_max", "slab_chunk_max"].map((n) =>
        settings.get(n)
      ),
      [
        (options.growthFactor ?? 1.25).toFixed(2),
        String(options.minSpace ?? 48),
        String(options.maxItemSize ?? 1 << 20),
        String(options.slabChunkMax ?? 1 << 19),
      ],
      `stats settings under ${args.join(" ")}`,
    );
    const items: { key: string; n: number; flags: number }[] = [];
    for (const [i, n] of VALUE_SIZES.entries()) {
      const key = `k${i}`.padEnd(1 + (i % 5) * 7, "x");
      const flags = i % 2 ? 0 : 5;
      const fits = itemSize({ keyLength: key.length, valueLength: n, flags }) <=
        (options.maxItemSize ?? 1 << 20);
      await client.send(`set ${key} ${flags} 0 ${n}\r\n${"v".repeat(n)}\r\n`);
      assert.equal(
        await client.readLine(),
        fits ? "STORED\r\n" : "SERVER_ERROR object too large for cache\r\n",
        `set of ${n} bytes under a ${key.length}-byte key, ${args.join(" ")}`,
      );
      if (fits) items.push({ key, n, flags });
    }
    assert.deepEqual(await observe(client), predict(classes, items), `${args.join(" ")}`);
  }
});
