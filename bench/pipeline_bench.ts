/**
 * The whole per-connection pipeline without a socket: a Connection (reads
 * → FrameDecoder → Dispatcher → FrameEncoder → writes) over an in-memory
 * duplex. Measures the JavaScript and stream cost per request, the part of
 * the server's CPU time that is ours rather than the kernel's.
 *
 * @module
 */
import { CommandContext } from "../lib/command_context.ts";
import { Connection, type ConnectionShared } from "../lib/connection.ts";
import { ConnectionLimits } from "../lib/connection_limits.ts";
import type { Duplex } from "../lib/duplex.ts";
import { MemoryReclaimer } from "../lib/memory_reclaimer.ts";
import { COMMAND_NAMES } from "../lib/metrics/command_series.ts";
import { LatencyHistogram } from "../lib/metrics/latency_histogram.ts";
import { RwLock } from "../lib/rw_lock.ts";
import { Store } from "../lib/store/store.ts";
import { concat } from "../tests/_support/raw_client.ts";

const KEYS = 1000;
const key = (i: number) => `key:${String(i).padStart(60, "0")}`; // 64 bytes, like memaslap

function binaryFrame(opcode: number, k: string): Uint8Array {
  const out = new Uint8Array(24 + k.length);
  out[0] = 0x80;
  out[1] = opcode;
  out[3] = k.length;
  out[11] = k.length;
  for (let j = 0; j < k.length; j++) out[24 + j] = k.charCodeAt(j);
  return out;
}

const latin1 = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

function context(): CommandContext {
  const now = Math.floor(Date.now() / 1000);
  const store = Store.create({ now, memoryLimit: 256 * 1024 * 1024 });
  const value = new Uint8Array(1024).fill(0x61);
  for (let i = 0; i < KEYS; i++) store.set(latin1(key(i)), value, { now });
  return new CommandContext({ store, settings: { version: "bench" }, log: () => {} });
}

/** A duplex whose reads return `reads` in turn, then end; writes are counted. */
function fakeConn(reads: Uint8Array[]): Duplex & { written: number } {
  let i = 0;
  let done = 0;
  const conn = {
    written: 0,
    read(p: Uint8Array): Promise<number | null> {
      if (i === reads.length) return Promise.resolve(null);
      const chunk = reads[i].subarray(done);
      const n = Math.min(chunk.length, p.length);
      p.set(chunk.subarray(0, n));
      done += n;
      if (done === reads[i].length) {
        i++;
        done = 0;
      }
      return Promise.resolve(n);
    },
    write(p: Uint8Array): Promise<number> {
      conn.written += p.length;
      return Promise.resolve(p.length);
    },
    close() {},
  };
  return conn;
}

/** What the connections share; `timed`: requests timed as with the metrics endpoint on. */
function shared(timed: boolean): ConnectionShared {
  return {
    context: context(),
    lock: new RwLock(),
    limits: new ConnectionLimits({ frameTimeoutMs: 0 }),
    maxPendingOutput: 1024 * 1024,
    durations: timed ? new LatencyHistogram({ series: COMMAND_NAMES.length }) : undefined,
    now: () => performance.now(),
    reclaimer: new MemoryReclaimer({ collect: () => {} }),
  };
}

const plain = shared(false);
const timing = shared(true);

async function run(reads: Uint8Array[], timed = false): Promise<void> {
  const conn = fakeConn(reads);
  await new Connection(conn, timed ? timing : plain, 1).done;
  if (conn.written === 0) throw new Error("Pipeline wrote nothing");
}

const ROUNDS = 100;
const binGets = Array.from({ length: ROUNDS }, (_, i) => binaryFrame(0x00, key(i % KEYS)));
const binMget = Array.from({ length: ROUNDS }, (_, r) =>
  concat(...[
    ...Array.from({ length: 50 }, (_, i) => binaryFrame(0x0d, key((r * 50 + i) % KEYS))),
    binaryFrame(0x0a, ""),
  ]));
const txtGets = Array.from({ length: ROUNDS }, (_, i) => latin1(`get ${key(i % KEYS)}\r\n`));
const txtMget = Array.from(
  { length: ROUNDS },
  (_, r) =>
    latin1(`get ${Array.from({ length: 50 }, (_, i) => key((r * 50 + i) % KEYS)).join(" ")}\r\n`),
);

Deno.bench("pipeline: 100 binary GETs, one per read", { group: "pipeline" }, async () => {
  await run(binGets);
});

Deno.bench(
  "pipeline: 100 binary GETs, one per read, timed (metrics on)",
  { group: "pipeline" },
  async () => {
    await run(binGets, true);
  },
);

Deno.bench(
  "pipeline: 100 binary multi-gets of 50 GETKQ + NOOP",
  { group: "pipeline" },
  async () => {
    await run(binMget);
  },
);

Deno.bench("pipeline: 100 text gets, one per read", { group: "pipeline" }, async () => {
  await run(txtGets);
});

Deno.bench("pipeline: 100 text multi-gets of 50 keys", { group: "pipeline" }, async () => {
  await run(txtMget);
});
