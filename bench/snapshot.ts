/**
 * Warm restarts measured (`-e FILE`): how fast a snapshot is written on
 * SIGTERM and read back on start, the peak resident memory each adds, the
 * time from start to serving, all beside a plain `cp` of the same file on
 * the same disk; then the largest request latency periodic snapshots add
 * under load, timed by the client itself. Run from the project root:
 *
 * ```sh
 * deno run -A bench/snapshot.ts [--items 1000000] [--value 100] [-m 1024] [--dir /tmp]
 *   [--latency-seconds 20] [--interval 5] [--connections 16] [--rounds 3]
 *   [--skip restart,pause,latency]
 * ```
 *
 * Keys are 32 bytes; `--items 1048576 --value 992 -m 1400` is 1 GiB of keys
 * and values. The snapshot and its copy go in a temporary directory under
 * `--dir` (removed at the end): check the free space first.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { freePort, stop, waitForPort } from "../tests/_support/child_server.ts";
import { BinaryClient, writeHeader } from "./_binary_client.ts";
import { peakResidentBytes, resetPeakResident, residentBytes } from "./_servers.ts";
import { RwLock } from "../lib/rw_lock.ts";
import { storeSnapshot } from "../lib/snapshot/store_snapshot.ts";
import { writeSnapshot } from "../lib/snapshot/write_snapshot.ts";
import { Store } from "../lib/store/store.ts";

const KEY_LENGTH = 32;
const BATCH = 1000;
const MAIN = new URL("../main.ts", import.meta.url).pathname;
const MiB = 1024 * 1024;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The key of item `i`: 32 bytes. */
function keyOf(i: number): string {
  return `key:${String(i).padStart(KEY_LENGTH - 4, "0")}`;
}

/** Loads items 0..n-1 with SETQ batches closed by a NOOP; returns the errors. */
async function load(port: number, n: number, valueLength: number): Promise<number> {
  const client = await BinaryClient.connect(port);
  const frame = 24 + 8 + KEY_LENGTH + valueLength;
  const buf = new Uint8Array(BATCH * frame + 24);
  let errors = 0;
  try {
    for (let start = 0; start < n; start += BATCH) {
      let pos = 0;
      for (let i = start; i < Math.min(n, start + BATCH); i++) {
        writeHeader(buf, pos, {
          opcode: 0x11,
          keyLength: KEY_LENGTH,
          extrasLength: 8,
          bodyLength: 8 + KEY_LENGTH + valueLength,
        });
        buf.fill(0, pos + 24, pos + 32);
        const key = keyOf(i);
        for (let j = 0; j < KEY_LENGTH; j++) buf[pos + 32 + j] = key.charCodeAt(j);
        buf.fill(0x21 + (i % 90), pos + 32 + KEY_LENGTH, pos + frame);
        pos += frame;
      }
      writeHeader(buf, pos, { opcode: 0x0a });
      await client.send(buf.subarray(0, pos + 24));
      while ((await client.read()).opcode !== 0x0a) errors++;
    }
  } finally {
    client.close();
  }
  return errors;
}

/** GET of item `i`; resolves to the status. */
async function get(client: BinaryClient, i: number): Promise<number> {
  const buf = new Uint8Array(24 + KEY_LENGTH);
  writeHeader(buf, 0, { opcode: 0x00, keyLength: KEY_LENGTH, bodyLength: KEY_LENGTH });
  const key = keyOf(i);
  for (let j = 0; j < KEY_LENGTH; j++) buf[24 + j] = key.charCodeAt(j);
  await client.send(buf);
  return (await client.read()).status;
}

/** A main.ts process with -e permissions on `dir`. */
interface Running {
  child: Deno.ChildProcess;
  port: number;
  /** The next line it writes on stderr (undefined at the end). */
  nextLine(): Promise<string | undefined>;
}

function spawn(dir: string, args: string[], port = freePort()): Running {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      ...["run", "--allow-net", `--allow-read=${dir}`, `--allow-write=${dir}`, MAIN],
      ...["-p", String(port), ...args],
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let pending = "";
  const nextLine = async () => {
    while (!pending.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) return undefined;
      pending += value;
    }
    const line = pending.slice(0, pending.indexOf("\n"));
    pending = pending.slice(line.length + 1);
    return line;
  };
  return { child, port, nextLine };
}

/** Spawns and waits until it accepts a connection; returns milliseconds from spawn to serving. */
async function startTimed(dir: string, args: string[]): Promise<Running & { ms: number }> {
  const started = performance.now();
  const running = spawn(dir, args);
  for (;;) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port: running.port })).close();
      return { ...running, ms: performance.now() - started };
    } catch {
      if (performance.now() - started > 600_000) throw new Error("The server never listened");
      await sleep(2);
    }
  }
}

async function timed(argv: string[]): Promise<number> {
  const started = performance.now();
  const out = await new Deno.Command(argv[0], { args: argv.slice(1) }).output();
  if (!out.success) throw new Error(`${argv.join(" ")} failed`);
  return performance.now() - started;
}

/** Throughput, printed as "MB/s" with MB = 2^20 bytes. */
const mbps = (bytes: number, ms: number) => `${(bytes / MiB / (ms / 1000)).toFixed(0)} MB/s`;
const mib = (bytes: number) => `${(bytes / MiB).toFixed(0)} MiB`;

/** SIGTERM → exit: the snapshot on stop; with its peak resident memory. */
async function snapshotOnStop(running: Running, file: string) {
  const pid = running.child.pid;
  await sleep(1000);
  const before = residentBytes(pid);
  resetPeakResident(pid);
  const started = performance.now();
  running.child.kill("SIGTERM");
  let exited = false;
  running.child.status.then(() => exited = true);
  let peak = before;
  while (!exited) {
    try {
      peak = Math.max(peak, peakResidentBytes(pid));
    } catch {
      // exited meanwhile
    }
    await sleep(20);
  }
  const ms = performance.now() - started;
  const status = await running.child.status;
  if (status.code !== 0) throw new Error(`Stop failed: ${await lineOf(running, "")}`);
  const line = await lineOf(running, "snapshot written");
  const writeMs = Number(/ in (\d+) ms$/.exec(line)![1]);
  return { ms, writeMs, before, peak, bytes: (await Deno.stat(file)).size };
}

async function sampleHits(port: number, n: number): Promise<number> {
  const client = await BinaryClient.connect(port);
  let hits = 0;
  for (let k = 0; k < 1000; k++) if (await get(client, Math.floor((k * n) / 1000)) === 0) hits++;
  client.close();
  return hits;
}

async function restartBench(dir: string, n: number, valueLength: number, memory: string) {
  const file = `${dir}/cache.snapshot`;
  const first = spawn(dir, ["-m", memory, "-e", file, "--quiet", "-v"]);
  await waitForPort(first.port, first.child, "mbserver", 30_000);
  const loadStart = performance.now();
  const errors = await load(first.port, n, valueLength);
  console.log(
    `loaded ${n} items (${KEY_LENGTH} + ${valueLength} bytes) in ${
      ((performance.now() - loadStart) / 1000).toFixed(1)
    } s${errors ? `, ${errors} errors` : ""}`,
  );
  const snap = await snapshotOnStop(first, file);
  console.log(
    `snapshot on SIGTERM: ${mib(snap.bytes)} in ${snap.writeMs} ms = ${
      mbps(snap.bytes, snap.writeMs)
    } (SIGTERM to exit ${snap.ms.toFixed(0)} ms); rss before ${mib(snap.before)}, ` +
      `peak extra ${mib(snap.peak - snap.before)}`,
  );
  const copy = `${dir}/copy`;
  const median = async (argv: string[]) => {
    const runs: number[] = [];
    for (let i = 0; i < 3; i++) {
      runs.push(await timed(argv));
      await Deno.remove(copy);
    }
    return runs.sort((a, b) => a - b)[1];
  };
  const cpMs = await median(["cp", file, copy]);
  const cpSyncMs = await median(["sh", "-c", `cp '${file}' '${copy}' && sync '${copy}'`]);
  console.log(
    `cp of the same file (median of 3): ${cpMs.toFixed(0)} ms = ${mbps(snap.bytes, cpMs)}; ` +
      `cp + fsync: ${cpSyncMs.toFixed(0)} ms = ${mbps(snap.bytes, cpSyncMs)}`,
  );

  const empty = await startTimed(dir, ["-m", memory, "-e", `${dir}/none`]);
  await stop(empty.child, "SIGKILL");
  await Deno.remove(`${dir}/none.lock`);
  const warm = await startTimed(dir, ["-m", memory, "-e", file]);
  const line = await lineOf(warm, "restored");
  const restoreMs = Number(/restored \d+ items in (\d+) ms/.exec(line)?.[1]);
  await sleep(1000);
  const rss = residentBytes(warm.child.pid);
  const peak = peakResidentBytes(warm.child.pid);
  const hits = await sampleHits(warm.port, n);
  console.log(
    `restore: ${mib(snap.bytes)} in ${restoreMs} ms = ${mbps(snap.bytes, restoreMs)} ` +
      `(check pass + load pass); rss ${mib(rss)}, peak ${mib(peak)} (extra ${mib(peak - rss)}); ` +
      `sample hits ${hits}/1000`,
  );
  console.log(
    `start to serving: ${warm.ms.toFixed(0)} ms with the snapshot, ` +
      `${empty.ms.toFixed(0)} ms with none (Deno start-up)`,
  );
  await stop(warm.child, "SIGKILL");
}

/** The first stderr line containing `marker`. */
async function lineOf(running: Running, marker: string): Promise<string> {
  for (let line = await running.nextLine(); line !== undefined; line = await running.nextLine()) {
    if (line.includes(marker)) return line;
  }
  throw new Error(`The server wrote no line with "${marker}"`);
}

/** Sequential GETs on `connections` connections for `seconds`; latencies in ms with start times. */
async function latencyRun(
  port: number,
  n: number,
  options: { seconds: number; connections: number; watch: boolean },
) {
  const samples: { at: number; ms: number }[] = [];
  const windows: [number, number][] = [];
  const end = performance.now() + options.seconds * 1000;
  const worker = async (seed: number) => {
    const client = await BinaryClient.connect(port);
    let x = seed * 2654435761 >>> 0;
    while (performance.now() < end) {
      x = (x * 1103515245 + 12345) >>> 0;
      const at = performance.now();
      await get(client, x % n);
      samples.push({ at, ms: performance.now() - at });
    }
    client.close();
  };
  const watcher = async () => {
    const client = await BinaryClient.connect(port);
    let since: number | undefined;
    while (performance.now() < end) {
      const s = await client.stats();
      const now = performance.now();
      if (s.get("snapshot_in_progress") === "1") since ??= now;
      else if (since !== undefined) {
        windows.push([since, now]);
        since = undefined;
      }
      await sleep(10);
    }
    if (since !== undefined) windows.push([since, performance.now()]);
    client.close();
  };
  await Promise.all([
    ...Array.from({ length: options.connections }, (_, i) => worker(i + 1)),
    ...(options.watch ? [watcher()] : []),
  ]);
  return { samples, windows };
}

function summary(ms: number[]): string {
  if (ms.length === 0) return "no requests";
  const sorted = [...ms].sort((a, b) => a - b);
  const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
  return `${sorted.length} requests, p50 ${q(0.5).toFixed(2)} ms, p99 ${q(0.99).toFixed(2)} ms, ` +
    `p99.9 ${q(0.999).toFixed(2)} ms, max ${sorted[sorted.length - 1].toFixed(2)} ms`;
}

async function latencyBench(
  dir: string,
  n: number,
  valueLength: number,
  memory: string,
  options: { seconds: number; interval: number; connections: number; rounds: number },
) {
  const added: number[] = [];
  for (let round = 1; round <= options.rounds; round++) {
    let without = 0;
    for (const periodic of [false, true]) {
      const file = `${dir}/latency.snapshot`;
      const args = periodic
        ? ["-m", memory, "-e", file, "-o", `snapshot_interval=${options.interval}`, "--quiet"]
        : ["-m", memory, "--quiet"];
      const running = spawn(dir, args);
      await waitForPort(running.port, running.child, "mbserver", 30_000);
      await load(running.port, n, valueLength);
      const { samples, windows } = await latencyRun(running.port, n, { ...options, watch: true });
      const max = (ms: number[]) => ms.reduce((a, b) => Math.max(a, b), 0);
      const label = `round ${round}, GET latency, ${options.connections} connections, ` +
        `${options.seconds} s, `;
      if (!periodic) {
        without = max(samples.map((s) => s.ms));
        console.log(`${label}no snapshots: ${summary(samples.map((s) => s.ms))}`);
      } else {
        const during = (s: { at: number }) => windows.some(([a, b]) => s.at >= a && s.at <= b);
        const inside = samples.filter(during).map((s) => s.ms);
        console.log(
          `${label}a snapshot every ${options.interval} s: ${windows.length} ` +
            `snapshots (${windows.map(([a, b]) => `${(b - a).toFixed(0)} ms`).join(", ")})`,
        );
        console.log(`  while a snapshot ran: ${summary(inside)}`);
        console.log(
          `  the rest of the run:  ${summary(samples.filter((s) => !during(s)).map((s) => s.ms))}`,
        );
        added.push(max(inside) - without);
      }
      await stop(running.child, "SIGKILL");
      for (const suffix of ["", ".lock", ".tmp"]) await Deno.remove(file + suffix).catch(() => {});
    }
  }
  added.sort((a, b) => a - b);
  console.log(
    `largest added latency, median of ${added.length} rounds (max while a snapshot ran - max ` +
      `of the run without): ${added[added.length >> 1].toFixed(2)} ms ` +
      `(rounds: ${added.map((a) => a.toFixed(2)).join(", ")} ms)`,
  );
}

/**
 * The pauses a snapshot itself imposes, measured inside one process: the
 * store holding the same items, snapshots written with the server's share
 * function, the longest slice (time a read share is held, synchronously),
 * and the longest gap of a 1 ms timer (what a request arriving then waits).
 */
async function pauseBench(dir: string, n: number, valueLength: number, memory: string) {
  const now = Math.floor(Date.now() / 1000);
  const store = Store.create({ now, memoryLimit: Number(memory) * MiB });
  const value = new Uint8Array(valueLength).fill(0x61);
  const encoder = new TextEncoder();
  for (let i = 0; i < n; i++) store.set(encoder.encode(keyOf(i)), value, { now });
  const lock = new RwLock();
  for (let run = 1; run <= 3; run++) {
    const slices: number[] = [];
    let last = performance.now();
    let gap = 0;
    const ticker = setInterval(() => {
      const now = performance.now();
      gap = Math.max(gap, now - last);
      last = now;
    }, 1);
    const started = performance.now();
    const report = await writeSnapshot(`${dir}/pause.snapshot`, storeSnapshot(store, () => now), {
      now: Date.now(),
      share: async (fn) => {
        using _share = lock.tryRead() ?? await lock.read();
        const at = performance.now();
        const result = fn();
        slices.push(performance.now() - at);
        return result;
      },
    });
    clearInterval(ticker);
    const rest = slices.slice(1).sort((a, b) => b - a);
    console.log(
      `in-process snapshot ${run}: ${mib(report.bytes)} in ${
        (performance.now() - started).toFixed(0)
      } ms, ${slices.length} slices; first slice (copies the LRU order) ${
        slices[0].toFixed(1)
      } ms, longest other ${rest[0].toFixed(1)} ms, median ${
        rest[rest.length >> 1].toFixed(2)
      } ms; longest event-loop gap ${gap.toFixed(1)} ms`,
    );
  }
  await Deno.remove(`${dir}/pause.snapshot`);
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      items: { type: "string", default: "1000000" },
      value: { type: "string", default: "100" },
      m: { type: "string", short: "m", default: "1024" },
      dir: { type: "string", default: "/tmp" },
      "latency-seconds": { type: "string", default: "20" },
      interval: { type: "string", default: "5" },
      connections: { type: "string", default: "16" },
      rounds: { type: "string", default: "3" },
      skip: { type: "string", default: "" },
    },
  });
  const n = Number(values.items);
  const valueLength = Number(values.value);
  const dir = await Deno.makeTempDir({ dir: values.dir, prefix: "mbserver-snapshot-bench-" });
  try {
    console.log(
      `snapshot bench: ${n} items, ${KEY_LENGTH}-byte keys, ${valueLength}-byte values ` +
        `(${mib(n * (KEY_LENGTH + valueLength))} of keys and values), -m ${values.m}, in ${dir}`,
    );
    if (!values.skip.includes("restart")) await restartBench(dir, n, valueLength, values.m);
    if (!values.skip.includes("pause")) await pauseBench(dir, n, valueLength, values.m);
    const seconds = Number(values["latency-seconds"]);
    if (seconds > 0 && !values.skip.includes("latency")) {
      await latencyBench(dir, n, valueLength, values.m, {
        seconds,
        interval: Number(values.interval),
        connections: Number(values.connections),
        rounds: Number(values.rounds),
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
