/**
 * `main.ts -e FILE`: snapshots on SIGTERM, SIGINT and `shutdown` (not
 * SIGUSR1), restore before listening, `-m`, damaged files, the lock,
 * permissions, periodic snapshots, a kill while writing.
 */
import assert from "node:assert/strict";
import { freePort, stop } from "../_support/child_server.ts";
import { RawClient } from "../_support/raw_client.ts";
import { type MainProcess, startMain, type StartMainOptions } from "../hardening/_main_process.ts";
import { currItems, type Outcome, tally, TextClient } from "../pool/_pool.ts";
import { writeSnapshot } from "../../lib/snapshot/write_snapshot.ts";
import { latin1, MapSnapshotStore } from "../_support/map_snapshot_store.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const keys = (n: number, prefix = "key") => Array.from({ length: n }, (_, i) => `${prefix}:${i}`);
const valueOf = (key: string) => `value of ${key}`;

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "mbserver-main-snapshot-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** `deno run` flags granting what `-e DIR/…` needs. */
const fileFlags = (dir: string) => [`--allow-read=${dir}`, `--allow-write=${dir}`];

/** Starts main.ts with `-e DIR/cache.snapshot` and the permissions it needs. */
function startWithFile(
  dir: string,
  args: string[] = [],
  options: StartMainOptions = {},
): Promise<MainProcess> {
  return startMain(["-e", `${dir}/cache.snapshot`, ...args], {
    denoFlags: fileFlags(dir),
    ...options,
  });
}

/** Runs main.ts, which must refuse to start: killed after 15 s if it does start. */
async function refusal(args: string[], denoFlags: string[]) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", ...denoFlags, MAIN, "-p", String(freePort()), ...args],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
  const out = await child.output();
  clearTimeout(timer);
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

async function setAll(port: number, list: string[], value = valueOf): Promise<void> {
  await using client = await TextClient.connect(port);
  const outcomes = await client.set(list, value);
  assert.deepEqual(tally(outcomes), { stored: list.length });
}

async function getAll(port: number, list: string[], value = valueOf): Promise<Outcome[]> {
  await using client = await TextClient.connect(port);
  return await client.get(list, value);
}

async function stats(port: number): Promise<Map<string, string>> {
  await using client = await RawClient.connect(port);
  await client.send("stats\r\n");
  const text = await client.readUntil("END\r\n");
  return new Map([...text.matchAll(/STAT (\S+) (\S+)\r\n/g)].map((m) => [m[1], m[2]]));
}

/** Stops with `signal`; asserts exit 0 and returns stderr. */
async function stopWith(main: MainProcess, signal: Deno.Signal): Promise<string> {
  await stop(main.child, signal);
  const stderr = await main.stderr();
  assert.equal((await main.child.status).code, 0, stderr);
  return stderr;
}

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  Deno.test(`main.ts -e writes the cache on ${signal} and restores it on the next start`, async () => {
    await withDir(async (dir) => {
      const list = keys(500);
      {
        await using main = await startWithFile(dir);
        await setAll(main.port, list);
        await stopWith(main, signal);
      }
      await using main = await startWithFile(dir);
      assert.deepEqual(tally(await getAll(main.port, list)), { hit: 500 });
      await stop(main.child, "SIGTERM");
      assert.match(
        await main.stderr(),
        new RegExp(`-e ${dir}/cache\\.snapshot: restored 500 items in \\d+ ms\\n$`),
      );
    });
  });
}

for (const command of ["shutdown", "shutdown graceful"]) {
  Deno.test(`main.ts -e -A writes the cache on the text "${command}"`, async () => {
    await withDir(async (dir) => {
      const list = keys(10);
      {
        await using main = await startWithFile(dir, ["-A"]);
        await setAll(main.port, list);
        await using client = await RawClient.connect(main.port);
        await client.send(`${command}\r\n`);
        assert.equal((await main.child.status).code, 0);
      }
      await using main = await startWithFile(dir);
      assert.deepEqual(tally(await getAll(main.port, list)), { hit: 10 });
    });
  });
}

/** Waits until process `pid` catches signal number `signal` (SigCgt in /proc/PID/status). */
async function caught(pid: number, signal: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    // Deno asks for every permission to read /proc/PID: `cat` reads it.
    const out = await new Deno.Command("cat", { args: [`/proc/${pid}/status`] }).output();
    const status = new TextDecoder().decode(out.stdout);
    const mask = BigInt(`0x${/^SigCgt:\s*([0-9a-f]+)$/m.exec(status)![1]}`);
    if ((mask >> BigInt(signal - 1)) & 1n) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`process ${pid} never caught signal ${signal}`);
}

Deno.test("main.ts -e writes nothing on SIGUSR1 (Deno's inspector signal) and keeps serving", async () => {
  await withDir(async (dir) => {
    await using main = await startWithFile(dir);
    await setAll(main.port, keys(3));
    // Deno installs its SIGUSR1 handler a little after start; until then SIGUSR1 kills.
    await caught(main.child.pid, 10);
    main.child.kill("SIGUSR1");
    assert.deepEqual(tally(await getAll(main.port, keys(3))), { hit: 3 });
    assert.deepEqual((await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name), [
      "cache.snapshot.lock",
    ]);
    await stopWith(main, "SIGTERM");
    await Deno.stat(`${dir}/cache.snapshot`);
  });
});

Deno.test("main.ts -e restores before it listens: the first client to connect sees every item", async () => {
  await withDir(async (dir) => {
    // 100,000 items (~14 MB): the restore takes a while, the client knocks from the start.
    const store = new MapSnapshotStore();
    for (let i = 0; i < 100_000; i++) store.set(`key:${i}`, "v".repeat(100));
    await writeSnapshot(`${dir}/cache.snapshot`, store, { now: Date.now() });
    const port = freePort();
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-net", ...fileFlags(dir), MAIN, "-p", String(port), "--quiet"]
        .concat(["-e", `${dir}/cache.snapshot`]),
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      let client: RawClient | undefined;
      const deadline = Date.now() + 30_000;
      while (!client && Date.now() < deadline) {
        client = await RawClient.connect(port).catch(() => undefined);
      }
      assert.ok(client, "never accepted a connection");
      await using _client = client;
      await client.send("stats\r\n");
      assert.match(await client.readUntil("END\r\n", 10_000), /STAT curr_items 100000\r\n/);
    } finally {
      await stop(child, "SIGKILL");
    }
  });
});

for (const flags of [[], ["-M"]]) {
  Deno.test(`main.ts -e ${flags.join(" ")} restores into a smaller -m the most recently used items that fit`, async () => {
    await withDir(async (dir) => {
      const list = keys(2000);
      const big = (key: string) => key.padEnd(10_000, "."); // 2,000 × 10 KB = 20 MB
      {
        await using main = await startWithFile(dir, ["-m", "64"]);
        await setAll(main.port, list, big);
        await stopWith(main, "SIGTERM");
      }
      await using main = await startWithFile(dir, ["-m", "4", ...flags]);
      const outcomes = await getAll(main.port, list, big);
      const kept = outcomes.map((o) => o === "hit");
      const first = kept.indexOf(true);
      assert.ok(first > 1000, `kept from ${first}`);
      assert.deepEqual(kept.slice(first).filter((k) => !k).length, 0, "a suffix of the LRU order");
      const s = await stats(main.port);
      assert.ok(Number(s.get("bytes")) <= 4 * 1024 * 1024);
      assert.equal(Number(s.get("curr_items")), kept.length - first);
    });
  });
}

const VALID = async (path: string) => {
  const store = new MapSnapshotStore();
  for (let i = 0; i < 50; i++) store.set(`key:${i}`, valueOf(`key:${i}`));
  await writeSnapshot(path, store, { now: Date.now() });
  return await Deno.readFile(path);
};

const DAMAGES: [string, (file: Uint8Array) => Uint8Array, RegExp][] = [
  ["truncated", (f) => f.subarray(0, f.length - 10), /Truncated: \d+ of \d+ bytes/],
  ["flipped bytes in the middle", (f) => {
    const bad = f.slice();
    for (let i = 0; i < 3; i++) bad[(f.length >> 1) + i] ^= 0xff;
    return bad;
  }, /Body checksum mismatch/],
  ["another format", () => latin1("\x00\x00\x00\x01memcached restart data"), /unknown magic/],
  ["empty", () => new Uint8Array(0), /The file is empty/],
  ["newer version", (f) => {
    const bad = f.slice();
    bad[8] = 9;
    return bad;
  }, /format version 9; this server reads version 1/],
];

for (const [what, spoil, message] of DAMAGES) {
  Deno.test(`main.ts -e with a ${what} file: one line, the file kept aside, an empty start`, async () => {
    await withDir(async (dir) => {
      const path = `${dir}/cache.snapshot`;
      const bad = spoil(await VALID(path));
      await Deno.writeFile(path, bad);
      await using main = await startWithFile(dir, ["--quiet"]);
      assert.equal(await currItems(main.port), 0);
      await stop(main.child, "SIGTERM");
      const lines = (await main.stderr()).split("\n").filter((l) => l !== "");
      assert.equal(lines.length, 1, lines.join("\n"));
      assert.match(lines[0], message);
      const aside = /; kept as (\S+), starting empty$/.exec(lines[0])?.[1];
      assert.ok(aside?.startsWith(`${path}.corrupt.`), lines[0]);
      assert.deepEqual(await Deno.readFile(aside!), bad);
    });
  });
}

Deno.test("main.ts -e: two damaged starts keep both damaged files", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/cache.snapshot`;
    for (const junk of ["first", "second"]) {
      await Deno.writeTextFile(path, junk);
      await using main = await startWithFile(dir, ["--quiet"]);
      await stop(main.child, "SIGKILL"); // no snapshot on the way out
    }
    const aside = (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name)
      .filter((name) => name.startsWith("cache.snapshot.corrupt.")).sort();
    assert.equal(aside.length, 2, aside.join(" "));
    const contents = await Promise.all(aside.map((name) => Deno.readTextFile(`${dir}/${name}`)));
    assert.deepEqual(contents.sort(), ["first", "second"]);
  });
});

Deno.test("main.ts: a second server on the same -e FILE refuses to start, one line, exit 1", async () => {
  await withDir(async (dir) => {
    await using _first = await startWithFile(dir);
    const path = `${dir}/cache.snapshot`;
    assert.deepEqual(await refusal(["-e", path], fileFlags(dir)), {
      code: 1,
      stderr: `mbserver: Snapshot ${path} is in use by another server (${path}.lock is locked)\n`,
    });
  });
});

Deno.test("main.ts -e in a directory that does not exist: one line naming the file, exit 1", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/missing/cache.snapshot`;
    const { code, stderr } = await refusal(["-e", path], fileFlags(dir));
    assert.equal(code, 1);
    assert.match(stderr, new RegExp(`^mbserver: Cannot lock snapshot ${path}: No such file`));
    assert.equal(stderr.split("\n").length, 2, stderr);
  });
});

Deno.test("main.ts -e without --allow-read and --allow-write on the directory: one line, exit 1", async () => {
  await withDir(async (dir) => {
    assert.deepEqual(await refusal(["-e", `${dir}/c`], [`--allow-read=${dir}`]), {
      code: 1,
      stderr: `mbserver: No permission to write ${dir} (-e): ` +
        `add --allow-write=${dir} to the deno run flags\n`,
    });
    assert.deepEqual(await refusal(["-o", "snapshot_interval=5"], []), {
      code: 64,
      stderr: "mbserver: Option -o snapshot_interval needs -e FILE (see --help)\n",
    });
  });
});

/** Polls `stats` until `done` holds (periodic snapshots run on the real clock). */
async function statsUntil(
  port: number,
  done: (s: Map<string, string>) => boolean,
): Promise<Map<string, string>> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const s = await stats(port);
    if (done(s) || Date.now() > deadline) return s;
    await new Promise((r) => setTimeout(r, 50));
  }
}

Deno.test("main.ts -e -o snapshot_interval=1 snapshots while serving; a failure is logged, counted, and service goes on", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/cache.snapshot`;
    await using main = await startWithFile(dir, ["-o", "snapshot_interval=1"]);
    await setAll(main.port, keys(20));
    const good = await statsUntil(main.port, (s) => s.get("snapshot_last_items") === "20");
    assert.equal(good.get("snapshot_last_items"), "20");
    assert.ok(Number(good.get("snapshot_last_time")) >= Math.floor(Date.now() / 1000) - 5);
    assert.equal(good.get("snapshot_last_bytes"), String((await Deno.stat(path)).size));
    assert.match(good.get("snapshot_last_duration")!, /^\d+\.\d{6}$/);
    assert.equal(good.get("snapshot_failures"), "0");
    const before = await Deno.readFile(path);

    // A directory where the temporary file goes: the next snapshots fail.
    await Deno.mkdir(`${path}.tmp/blocked`, { recursive: true });
    await setAll(main.port, keys(5, "more"));
    const bad = await statsUntil(main.port, (s) => s.get("snapshot_failures") !== "0");
    assert.notEqual(bad.get("snapshot_failures"), "0");
    assert.deepEqual(await Deno.readFile(path), before, "the previous snapshot is kept");
    assert.deepEqual(tally(await getAll(main.port, keys(5, "more"))), { hit: 5 });

    await Deno.remove(`${path}.tmp`, { recursive: true });
    const again = await statsUntil(main.port, (s) => s.get("snapshot_last_items") === "25");
    assert.equal(again.get("snapshot_last_items"), "25");
    await stop(main.child, "SIGTERM");
    assert.match(
      await main.stderr(),
      new RegExp(`\\nsnapshot ${path} failed, previous one kept: `),
    );
  });
});

Deno.test("main.ts without -e reports no snapshot stats", async () => {
  await using main = await startMain([]);
  assert.deepEqual(
    [...(await stats(main.port)).keys()].filter((k) => k.startsWith("snapshot")),
    [],
  );
});

Deno.test("main.ts -e killed (SIGKILL) while writing a snapshot: the previous one loads", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/cache.snapshot`;
    {
      await using main = await startWithFile(dir);
      await setAll(main.port, keys(50));
      await stopWith(main, "SIGTERM");
    }
    {
      await using main = await startWithFile(dir, ["-m", "256", "-o", "snapshot_interval=1"]);
      // ~100 MB to write: a snapshot takes long enough to be caught halfway.
      const big = (key: string) => key.padEnd(200_000, "#");
      await setAll(main.port, keys(500, "big"), big);
      const deadline = Date.now() + 30_000;
      let partial = 0;
      while (Date.now() < deadline) {
        partial = await Deno.stat(`${path}.tmp`).then((s) => s.size, () => 0);
        if (partial > 1024 * 1024) break;
        await new Promise((r) => setTimeout(r, 5));
      }
      assert.ok(partial > 1024 * 1024, "caught a snapshot halfway");
      await stop(main.child, "SIGKILL");
    }
    await using main = await startWithFile(dir);
    assert.deepEqual(tally(await getAll(main.port, keys(50))), { hit: 50 });
    assert.equal(await currItems(main.port), 50);
  });
});

Deno.test("main.ts -e on a port in use exits 1 and leaves the snapshot as it was, unlocked", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/cache.snapshot`;
    const before = await VALID(path);
    await using busy = await startMain([]);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-net", ...fileFlags(dir), MAIN, "-p", String(busy.port), "-e", path],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 1);
    assert.match(new TextDecoder().decode(out.stderr), /^mbserver: .*in use/);
    assert.deepEqual(await Deno.readFile(path), before);
    await using again = await startWithFile(dir);
    assert.equal(await currItems(again.port), 50);
  });
});
