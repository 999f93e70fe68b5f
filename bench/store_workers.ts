/**
 * The shared store alone, in memory: operations per second with 1, 2 and 4
 * workers hammering one store (9 gets to 1 set, 64-byte keys, 1 KiB values,
 * each operation, or each batch of operations, under the shared lock).
 *
 * ```sh
 * deno run --allow-read bench/store_workers.ts [--seconds 3] [--batch 1] [--workers 1,2,4] [--writes 0.1] [--spin µs]
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { RwLock } from "../lib/rw_lock.ts";
import { Store } from "../lib/store/store.ts";
import { type HammerTask, keyOf } from "./_store_worker.ts";

const KEYS = 100_000;
const KEY_LENGTH = 64;
const VALUE_LENGTH = 1024;

const { values } = parseArgs({
  args: Deno.args,
  options: {
    seconds: { type: "string", default: "3" },
    batch: { type: "string", default: "1" },
    writes: { type: "string", default: "0.1" },
    spin: { type: "string" },
    workers: { type: "string", default: "1,2,4" },
  },
});
const seconds = Number(values.seconds);
const batch = Number(values.batch);

/** The lock's polling: 50 µs while every worker has a core, else 2 µs (or `--spin`). */
function spinMicros(workers: number): number {
  if (values.spin !== undefined) return Number(values.spin);
  return workers <= navigator.hardwareConcurrency ? 50 : 2;
}

async function run(workers: number): Promise<number> {
  const now = Math.floor(Date.now() / 1000);
  const store = Store.create({ now, memoryLimit: 1024 * 1024 * 1024 });
  const value = new Uint8Array(VALUE_LENGTH);
  for (let i = 0; i < KEYS; i++) store.set(keyOf(i, KEY_LENGTH), value, { now });
  const lock = new RwLock();
  const startAt = Date.now() + 500; // every worker started and compiled
  const threads = Array.from(
    { length: workers },
    () => new Worker(new URL("./_store_worker.ts", import.meta.url).href, { type: "module" }),
  );
  try {
    const counts = threads.map((worker, id) => {
      const task: HammerTask = {
        id,
        store: store.memory,
        lock: lock.buffer,
        keys: KEYS,
        keyLength: KEY_LENGTH,
        valueLength: VALUE_LENGTH,
        batch,
        writes: Number(values.writes),
        spinMicros: spinMicros(workers),
        startAt,
        endAt: startAt + seconds * 1000,
        now,
      };
      worker.postMessage(task);
      return new Promise<number>((resolve) => worker.onmessage = (e) => resolve(e.data));
    });
    const ops = (await Promise.all(counts)).reduce((a, b) => a + b, 0);
    return ops / seconds;
  } finally {
    for (const t of threads) t.terminate();
  }
}

let one = 0;
for (const workers of values.workers.split(",").map(Number)) {
  const rate = await run(workers);
  if (workers === 1) one = rate;
  const scale = one ? ` (x${(rate / one).toFixed(2)} of 1 worker)` : "";
  console.log(
    `store alone, ${workers} worker(s), ${batch} op(s) per lock turn, ${values.writes} sets, spin ${
      spinMicros(workers)
    } µs: ${Math.round(rate).toLocaleString("en")} ops/s${scale}`,
  );
}
