/**
 * Snapshot files on disk: atomic writes, restore, damaged files set aside,
 * the lock, permissions, and a writer killed halfway.
 */
import assert from "node:assert/strict";
import { readSnapshot } from "../../lib/snapshot/read_snapshot.ts";
import { SnapshotFile } from "../../lib/snapshot/snapshot_file.ts";
import { writeSnapshot } from "../../lib/snapshot/write_snapshot.ts";
import { latin1, MapSnapshotStore } from "../_support/map_snapshot_store.ts";

const NOW_S = 1_700_000_000;
const NOW_MS = NOW_S * 1000;
const CHILD = new URL("./_snapshot_child.ts", import.meta.url).pathname;

/** A temporary directory removed at the end of the test. */
async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "mbserver-snapshot-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function sampleStore(n = 100): MapSnapshotStore {
  const store = new MapSnapshotStore();
  for (let i = 0; i < n; i++) {
    store.set(`key-${i}`, `value-${i}`, {
      flags: i,
      lastAccess: NOW_S - n + i,
      fetched: i % 2 === 0,
    });
  }
  return store;
}

const ls = async (dir: string) =>
  (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();

Deno.test("writeSnapshot writes a file readSnapshot restores, mode 0600, no temporary left", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/cache.snapshot`;
    const source = sampleStore();
    source.set("expires-later", "v", { exptime: NOW_S + 100 });
    source.set("expired-while-down", "v", { exptime: NOW_S - 1 });
    source.casCounter = 5000;
    const written = await writeSnapshot(path, source, { now: NOW_MS });
    assert.equal(written.items, 102);
    assert.equal(written.bytes, (await Deno.stat(path)).size);
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    assert.deepEqual(await ls(dir), ["cache.snapshot"]);

    const target = new MapSnapshotStore();
    const report = await readSnapshot(path, target, { now: NOW_S });
    assert.ok(report);
    assert.equal(report.items, 101);
    assert.equal(report.expired, 1);
    assert.equal(report.writtenAt, NOW_MS);
    assert.equal(target.casCounter, 5000);
    source.delete("expired-while-down");
    assert.deepEqual(
      [...target.items.values()],
      [...source.items.values()].map((it) => ({
        ...it,
        binaryKey: false,
        stale: false,
        tokenSent: false,
      })),
    );
  });
});

Deno.test("readSnapshot of a missing file is undefined", async () => {
  await withDir(async (dir) => {
    assert.equal(
      await readSnapshot(`${dir}/none`, new MapSnapshotStore(), { now: NOW_S }),
      undefined,
    );
  });
});

Deno.test("readSnapshot keeps the most recently used items that fit the store's memory", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/s`;
    const source = new MapSnapshotStore();
    for (let i = 0; i < 100; i++) store(source, i); // k000 least recently used … k099 most
    await writeSnapshot(path, source, { now: NOW_MS });
    const target = new MapSnapshotStore({ memoryLimit: 30 * 14 }); // 30 items of 4 + 10 bytes
    await readSnapshot(path, target, { now: NOW_S });
    assert.deepEqual(
      [...target.items.keys()],
      Array.from({ length: 30 }, (_, i) => `k0${70 + i}`),
    );

    function store(s: MapSnapshotStore, i: number) {
      s.set(`k${String(i).padStart(3, "0")}`, "0123456789", { lastAccess: NOW_S - 100 + i });
    }
  });
});

Deno.test("readSnapshot raises the CAS counter past every restored CAS", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/s`;
    const source = sampleStore(3);
    source.set("high", "v", { cas: 9_000_000_000 });
    source.casCounter = 10; // lower than an item's CAS: the item's wins
    await writeSnapshot(path, source, { now: NOW_MS });
    const target = new MapSnapshotStore();
    target.casCounter = 20;
    await readSnapshot(path, target, { now: NOW_S });
    assert.equal(target.casCounter, 9_000_000_000);
  });
});

Deno.test("writeSnapshot takes a read share per slice, and the store may change between slices", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/s`;
    const store = new MapSnapshotStore();
    for (let i = 0; i < 1500; i++) store.set(`k${i}`, new Uint8Array(1000).fill(i));
    let shares = 0;
    let holding = false;
    const report = await writeSnapshot(path, store, {
      now: NOW_MS,
      sliceBytes: 64 * 1024,
      share: async (fn) => {
        assert.equal(holding, false, "slices never overlap");
        shares++;
        await Promise.resolve();
        // Between slices, clients change the store.
        store.set(`added-${shares}`, "new");
        store.delete(`k${shares * 70}`);
        holding = true;
        try {
          return fn();
        } finally {
          holding = false;
        }
      },
    });
    assert.ok(shares >= 15, `${shares} slices`); // ~1 MB in 64 KiB slices, plus the CAS read
    assert.equal(report.bytes, (await Deno.stat(path)).size);
    const restored = new MapSnapshotStore();
    await readSnapshot(path, restored, { now: NOW_S });
    assert.equal(restored.items.size, report.items);
    assert.equal(restored.items.has("k70"), false, "deleted before its slice: not written");
    assert.ok(restored.items.has(`added-${shares - 2}`), "added before the walk ended: written");
  });
});

Deno.test("A failed write keeps the previous snapshot and removes its temporary file", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/s`;
    await writeSnapshot(path, sampleStore(10), { now: NOW_MS });
    const before = await Deno.readFile(path);
    const broken = sampleStore(1000);
    let slices = 0;
    await assert.rejects(
      writeSnapshot(path, broken, {
        now: NOW_MS,
        sliceBytes: 1024,
        share: (fn) => {
          if (++slices === 3) throw new Error("disk full");
          return fn();
        },
      }),
      /disk full/,
    );
    assert.deepEqual(await Deno.readFile(path), before);
    assert.deepEqual(await ls(dir), ["s"]);
  });
});

const DAMAGES: [string, (file: Uint8Array) => Uint8Array, RegExp][] = [
  ["truncated", (f) => f.subarray(0, f.length - 100), /Truncated: \d+ of \d+ bytes/],
  ["flipped bytes in the middle", (f) => {
    const bad = f.slice();
    for (let i = 0; i < 4; i++) bad[(f.length >> 1) + i] ^= 0x5a;
    return bad;
  }, /Body checksum mismatch/],
  [
    "another format",
    () => latin1("# memcached memory file\nVALUE k 0 1\r\nv\r\n"),
    /unknown magic/,
  ],
  ["empty", () => new Uint8Array(0), /The file is empty/],
  ["newer version", (f) => {
    const bad = f.slice();
    new DataView(bad.buffer).setUint32(8, 7, true);
    return bad;
  }, /format version 7; this server reads version 1/],
];

for (const [what, spoil, message] of DAMAGES) {
  Deno.test(`SnapshotFile.restore of a ${what} file: one line, file kept aside, empty start`, async () => {
    await withDir(async (dir) => {
      const path = `${dir}/cache.snapshot`;
      await writeSnapshot(path, sampleStore(200), { now: NOW_MS });
      const bad = spoil(await Deno.readFile(path));
      await Deno.writeFile(path, bad);
      await using file = SnapshotFile.open(path);
      const lines: string[] = [];
      const store = new MapSnapshotStore();
      const outcome = await file.restore(store, { now: NOW_MS, log: (l) => lines.push(l) });
      assert.equal(outcome.status, "damaged");
      assert.equal(store.items.size, 0);
      assert.equal(lines.length, 1);
      assert.match(lines[0], message);
      assert.equal(
        lines[0].startsWith(`snapshot ${path}: `) &&
          lines[0].endsWith(`; kept as ${path}.corrupt.${NOW_S}, starting empty`),
        true,
        lines[0],
      );
      assert.deepEqual(await ls(dir), ["cache.snapshot.corrupt." + NOW_S, "cache.snapshot.lock"]);
      assert.deepEqual(await Deno.readFile(`${path}.corrupt.${NOW_S}`), bad);
    });
  });
}

Deno.test("Two damaged starts in the same second keep both files", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/s`;
    await using file = SnapshotFile.open(path);
    const log = () => {};
    await Deno.writeFile(path, latin1("first"));
    await file.restore(new MapSnapshotStore(), { now: NOW_MS, log });
    await Deno.writeFile(path, latin1("second"));
    await file.restore(new MapSnapshotStore(), { now: NOW_MS + 500, log });
    assert.deepEqual(await ls(dir), [`s.corrupt.${NOW_S}`, `s.corrupt.${NOW_S}.1`, "s.lock"]);
    assert.equal(await Deno.readTextFile(`${path}.corrupt.${NOW_S}`), "first");
    assert.equal(await Deno.readTextFile(`${path}.corrupt.${NOW_S}.1`), "second");
  });
});

Deno.test("SnapshotFile.restore of a missing file is an empty start, with nothing logged", async () => {
  await withDir(async (dir) => {
    await using file = SnapshotFile.open(`${dir}/s`);
    const lines: string[] = [];
    const outcome = await file.restore(new MapSnapshotStore(), {
      now: NOW_MS,
      log: (l) => lines.push(l),
    });
    assert.deepEqual(outcome, { status: "missing" });
    assert.deepEqual(lines, []);
  });
});

Deno.test("SnapshotFile counts snapshots: last time, duration, size; a failure keeps the last", async () => {
  await withDir(async (dir) => {
    await using file = SnapshotFile.open(`${dir}/s`);
    assert.equal(file.stats.lastAt, 0);
    const report = await file.save(sampleStore(), { now: NOW_MS });
    assert.equal(file.stats.lastBytes, report.bytes);
    assert.equal(file.stats.lastItems, 100);
    assert.ok(file.stats.lastAt >= NOW_MS);
    assert.equal(file.stats.failures, 0);
    const lines: string[] = [];
    const failing = await file.saveIfIdle(sampleStore(), {
      now: NOW_MS + 1000,
      share: () => {
        throw new Error("No space left on device");
      },
      log: (l) => lines.push(l),
    });
    assert.equal(failing, undefined);
    assert.equal(file.stats.failures, 1);
    assert.equal(file.stats.lastBytes, report.bytes);
    assert.deepEqual(lines, [
      `snapshot ${dir}/s failed, previous one kept: No space left on device`,
    ]);
  });
});

Deno.test("SnapshotFile.saveIfIdle does not double a snapshot in progress; save waits for it", async () => {
  await withDir(async (dir) => {
    await using file = SnapshotFile.open(`${dir}/s`);
    let release!: () => void;
    const gate = new Promise<void>((r) => release = r);
    const order: string[] = [];
    const first = file.saveIfIdle(sampleStore(), {
      now: NOW_MS,
      log: () => {},
      share: async (fn) => {
        await gate;
        return fn();
      },
    }).then(() => order.push("first"));
    assert.equal(file.writing, true);
    assert.equal(await file.saveIfIdle(sampleStore(), { now: NOW_MS, log: () => {} }), undefined);
    const last = file.save(sampleStore(5), { now: NOW_MS }).then(() => order.push("last"));
    release();
    await Promise.all([first, last]);
    assert.deepEqual(order, ["first", "last"]);
    const restored = new MapSnapshotStore();
    await readSnapshot(`${dir}/s`, restored, { now: NOW_S });
    assert.equal(restored.items.size, 5, "the last save wrote the file");
  });
});

Deno.test("A second SnapshotFile on the same path is refused while the first is open", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/s`;
    const first = SnapshotFile.open(path);
    assert.throws(
      () => SnapshotFile.open(path),
      { message: `Snapshot ${path} is in use by another server (${path}.lock is locked)` },
    );
    await first.close();
    await (SnapshotFile.open(path)).close();
  });
});

/** Starts the child helper with the given permissions. */
function child(
  args: string[],
  permissions = ["--allow-read", "--allow-write"],
  stdin: "piped" | "null" = "piped",
) {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", ...permissions, CHILD, ...args],
    stdin,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** Reads the child's stdout up to the first line. */
async function firstLine(process: Deno.ChildProcess): Promise<string> {
  const reader = process.stdout.getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  return text.split("\n")[0];
}

Deno.test("A second process on the same snapshot refuses with one line and exit 1", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/s`;
    const holder = child(["open", path]);
    assert.equal(await firstLine(holder), "open");
    // stdin closed: were the lock not held, it would exit 0 at once.
    const second = await child(["open", path], undefined, "null").output();
    assert.equal(second.code, 1);
    assert.equal(
      new TextDecoder().decode(second.stderr),
      `mbserver: Snapshot ${path} is in use by another server (${path}.lock is locked)\n`,
    );
    await holder.stdin.close();
    await holder.stdout.cancel();
    await holder.stderr.cancel();
    assert.equal((await holder.status).code, 0);
  });
});

for (
  const [permissions, missing, flags] of [
    [["--allow-read"], "write DIR (-e)", "--allow-write=DIR"],
    [["--allow-write"], "read DIR (-e)", "--allow-read=DIR"],
    [[], "read DIR (-e) or write DIR (-e)", "--allow-read=DIR --allow-write=DIR"],
  ] as const
) {
  Deno.test(`Without ${flags.replaceAll("=DIR", "")} on the directory: one line naming it, exit 1, no prompt`, async () => {
    await withDir(async (dir) => {
      const path = `${dir}/s`;
      const out = await child(["open", path], [...permissions], "null").output();
      const stderr = new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 1, stderr);
      assert.equal(
        stderr,
        `mbserver: No permission to ${missing.replaceAll("DIR", dir)}: ` +
          `add ${flags.replaceAll("DIR", dir)} to the deno run flags\n`,
      );
      assert.deepEqual(await ls(dir), []);
    });
  });
}

Deno.test("A writer killed (SIGKILL) halfway leaves the previous snapshot loadable", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/s`;
    await writeSnapshot(path, sampleStore(50), { now: NOW_MS });
    const writer = child(["write", path, "2000"]);
    assert.equal(await firstLine(writer), "writing");
    assert.ok(
      (await Deno.stat(`${path}.tmp`)).size > 64 * 1024,
      "the temporary file is being written",
    );
    writer.kill("SIGKILL");
    await writer.stdout.cancel();
    await writer.stderr.cancel();
    await writer.stdin.close().catch(() => {});
    assert.equal((await writer.status).signal, "SIGKILL");
    await using file = SnapshotFile.open(path); // the kernel released the dead writer's lock
    const store = new MapSnapshotStore();
    const outcome = await file.restore(store, { now: NOW_MS, log: (l) => assert.fail(l) });
    assert.equal(outcome.status, "restored");
    assert.equal(store.items.size, 50);
    assert.ok(store.items.has("key-49"));
    await file.save(sampleStore(7), { now: NOW_MS }); // the stale temporary file is replaced
    assert.deepEqual(await ls(dir), ["s", "s.lock"]);
  });
});
