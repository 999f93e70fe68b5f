/**
 * Snapshotter: restore before serving, periodic snapshots (never doubled,
 * failures logged), a last snapshot on close after the one in progress.
 * Time is injected: the periodic timer is a fake the test fires.
 */
import assert from "node:assert/strict";
import { readSnapshot } from "../../lib/snapshot/read_snapshot.ts";
import { SnapshotFile } from "../../lib/snapshot/snapshot_file.ts";
import { Snapshotter, type SnapshotterOptions } from "../../lib/snapshot/snapshotter.ts";
import { writeSnapshot } from "../../lib/snapshot/write_snapshot.ts";
import { RwLock } from "../../lib/rw_lock.ts";
import { latin1, MapSnapshotStore } from "../_support/map_snapshot_store.ts";

const NOW_MS = 1_700_000_000_000;

/** A fake `every`: the test fires the timer by hand. */
class FakeTimer {
  fn: (() => void) | undefined;
  ms = 0;
  cancelled = false;
  every = (fn: () => void, ms: number) => {
    this.fn = fn;
    this.ms = ms;
    return () => this.cancelled = true;
  };
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "mbserver-snapshotter-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function options(dir: string, store: MapSnapshotStore, more: Partial<SnapshotterOptions> = {}) {
  const lines: string[] = [];
  const lock = new RwLock();
  const opts: SnapshotterOptions = {
    path: `${dir}/cache.snapshot`,
    store,
    share: async (fn) => {
      using _guard = lock.tryRead() ?? await lock.read();
      return fn();
    },
    clock: () => NOW_MS,
    log: (line) => lines.push(line),
    ...more,
  };
  return { opts, lines, lock };
}

async function contents(path: string): Promise<string[]> {
  const store = new MapSnapshotStore();
  await readSnapshot(path, store, { now: NOW_MS / 1000 });
  return [...store.items.keys()];
}

Deno.test("Snapshotter.open restores the file into the store before returning", async () => {
  await withDir(async (dir) => {
    const before = new MapSnapshotStore();
    before.set("a", "1");
    before.set("b", "2");
    await writeSnapshot(`${dir}/cache.snapshot`, before, { now: NOW_MS });
    const store = new MapSnapshotStore();
    const { opts, lines } = options(dir, store);
    const snapshotter = await Snapshotter.open(opts);
    assert.equal(snapshotter.restored.status, "restored");
    assert.deepEqual([...store.items.keys()], ["a", "b"]);
    assert.deepEqual(lines, []);
    await snapshotter.close();
  });
});

Deno.test("Snapshotter writes every intervalSeconds, and on close after the one in progress", async () => {
  await withDir(async (dir) => {
    const timer = new FakeTimer();
    const store = new MapSnapshotStore();
    const { opts, lines, lock } = options(dir, store, { intervalSeconds: 30, every: timer.every });
    const snapshotter = await Snapshotter.open(opts);
    assert.equal(timer.ms, 30_000);
    store.set("first", "1");
    timer.fn!();
    assert.equal(snapshotter.stats.writing, true);
    timer.fn!(); // due again while the first is running: not doubled
    const write = await lock.write(); // a writer between slices: the snapshot waits for it
    store.set("second", "2");
    const closing = snapshotter.close();
    write.release();
    const last = await closing;
    assert.equal(timer.cancelled, true);
    assert.equal(last?.items, 2, "the last snapshot holds the change made meanwhile");
    assert.deepEqual(await contents(opts.path), ["first", "second"]);
    assert.equal(snapshotter.stats.failures, 0);
    assert.deepEqual(lines, []);
  });
});

Deno.test("Snapshotter: a failed periodic snapshot is logged, keeps the file, and the next one works", async () => {
  await withDir(async (dir) => {
    const timer = new FakeTimer();
    const store = new MapSnapshotStore();
    let failing = false;
    const { opts, lines } = options(dir, store, {
      intervalSeconds: 1,
      every: timer.every,
      share: async (fn) => {
        if (failing) throw new Error("No space left on device (os error 28)");
        return await fn();
      },
    });
    const snapshotter = await Snapshotter.open(opts);
    store.set("kept", "1");
    assert.equal((await snapshotter.snapshot())?.items, 1);
    failing = true;
    store.set("lost", "2");
    assert.equal(await snapshotter.snapshot(), undefined);
    assert.deepEqual(lines, [
      `snapshot ${opts.path} failed, previous one kept: No space left on device (os error 28)`,
    ]);
    assert.equal(snapshotter.stats.failures, 1);
    assert.deepEqual(await contents(opts.path), ["kept"]);
    failing = false;
    assert.equal((await snapshotter.snapshot())?.items, 2);
    await snapshotter.close();
  });
});

Deno.test("Snapshotter.close releases the file even when the last snapshot fails", async () => {
  await withDir(async (dir) => {
    const store = new MapSnapshotStore();
    const { opts, lines } = options(dir, store, {
      share: () => Promise.reject(new Error("Permission denied")),
    });
    const snapshotter = await Snapshotter.open(opts);
    assert.equal(await snapshotter.close(), undefined);
    assert.equal(await snapshotter.close(), undefined, "idempotent");
    assert.equal(lines.length, 1);
    const again = await Snapshotter.open(options(dir, store).opts);
    await again.close();
  });
});

Deno.test("Snapshotter.open of a damaged file: one line, empty store, and the lock is held", async () => {
  await withDir(async (dir) => {
    await Deno.writeFile(`${dir}/cache.snapshot`, latin1("not a snapshot"));
    const store = new MapSnapshotStore();
    const { opts, lines } = options(dir, store);
    const snapshotter = await Snapshotter.open(opts);
    assert.equal(snapshotter.restored.status, "damaged");
    assert.equal(lines.length, 1);
    assert.equal(store.items.size, 0);
    await assert.rejects(Snapshotter.open(opts), /is in use by another server/);
    await snapshotter.close();
  });
});

Deno.test("Snapshotter.open that cannot read the file rejects with why, and releases the lock", async () => {
  await withDir(async (dir) => {
    await Deno.mkdir(`${dir}/cache.snapshot`); // a directory where the file should be
    const { opts } = options(dir, new MapSnapshotStore());
    await assert.rejects(
      Snapshotter.open(opts),
      new RegExp(`^Error: Cannot read snapshot ${opts.path}: Is a directory`),
    );
    await SnapshotFile.open(opts.path).close();
  });
});
