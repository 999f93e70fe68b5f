/**
 * Races on one shared Store from four workers, each command under the
 * shared lock: nothing is lost, nothing is torn.
 */
import assert from "node:assert/strict";
import { ByteArena } from "../../lib/byte_arena.ts";
import { RwLock } from "../../lib/rw_lock.ts";
import { Store } from "../../lib/store/store.ts";
import { BIG_VALUE, type Race, type Task } from "../_support/shared_worker.ts";
import { runTasks as run, within } from "../_support/workers.ts";

const runTasks = (tasks: Task[]) => within(run(tasks), "the workers", 60_000);
import { bytes, hit, str, T0 } from "./_clocked.ts";

const WORKERS = 4;

function setUp() {
  // Small segments: a rewritten 256 KiB value frees whole segments, which the
  // next write takes at once, so a read that raced a write would see it.
  const store = Store.create({ now: T0, memoryLimit: 64 * 1024 * 1024, segmentSize: 64 * 1024 });
  const lock = new RwLock();
  const tasks = (race: Race, rounds: number): Task[] =>
    Array.from({ length: WORKERS }, (_, id) => ({
      kind: "store",
      id,
      lock: lock.buffer,
      store: store.memory,
      race,
      rounds,
      now: T0,
    }));
  const value = (key: string) =>
    str(hit(store.get(bytes(key), { now: T0, into: new ByteArena() }))!.value);
  return { store, tasks, value };
}

Deno.test("Store across 4 workers: gets+cas increments end at the number of successful CAS", async () => {
  const { store, tasks, value } = setUp();
  store.set(bytes("counter"), bytes("0"), { now: T0 });
  const successes = await runTasks(tasks("cas-counter", 300));
  const total = successes.reduce((a, b) => a + b, 0);
  assert.equal(Number(value("counter")), total);
  assert.ok(total > 0 && total <= WORKERS * 300);
});

Deno.test("Store across 4 workers: concurrent incr totals are exact", async () => {
  const { store, tasks, value } = setUp();
  store.set(bytes("counter"), bytes("0"), { now: T0 });
  await runTasks(tasks("incr", 2000));
  assert.equal(value("counter").trim(), String(WORKERS * 2000));
});

Deno.test("Store across 4 workers: concurrent appends are all there, each whole", async () => {
  const { store, tasks, value } = setUp();
  store.set(bytes("list"), bytes(""), { now: T0 });
  await runTasks(tasks("append", 300));
  const parts = value("list").split(";").filter((p) => p !== "");
  assert.equal(parts.length, WORKERS * 300);
  const want = new Set<string>();
  for (let id = 0; id < WORKERS; id++) for (let r = 0; r < 300; r++) want.add(`w${id}:${r}`);
  assert.deepEqual(new Set(parts), want);
});

Deno.test("Store across 4 workers: a 256 KiB value rewritten by several writers is never read torn", async () => {
  const { store, tasks } = setUp();
  store.set(bytes("big"), new Uint8Array(BIG_VALUE), { now: T0 });
  const reads = await runTasks(tasks("big-value", 200));
  assert.ok(reads.reduce((a, b) => a + b, 0) > 0);
  assert.equal(store.size, 1);
});
