/**
 * A worker for the shared-memory tests: attaches to a lock (and a store)
 * handed over by `postMessage` and runs one task against them, answering
 * with a result. Started by `tests/_support/workers.ts`.
 *
 * @module
 */
import { ByteArena } from "../../lib/byte_arena.ts";
import { RwLock, type RwLockGuard } from "../../lib/rw_lock.ts";
import { Store, type StoreMemory } from "../../lib/store/store.ts";
import { Stats } from "../../lib/stats.ts";
import { prng } from "./prng.ts";

/** What a worker is asked to do. */
export type Task =
  | {
    kind: "exclusion";
    id: number;
    lock: SharedArrayBuffer;
    state: SharedArrayBuffer;
    rounds: number;
  }
  | { kind: "queue"; id: number; lock: SharedArrayBuffer; state: SharedArrayBuffer }
  | {
    kind: "stats";
    id: number;
    stats: SharedArrayBuffer;
    state: SharedArrayBuffer;
    rounds: number;
    limit: number;
  }
  | {
    kind: "store";
    id: number;
    lock: SharedArrayBuffer;
    store: StoreMemory;
    race: Race;
    rounds: number;
    now: number;
  };

/** Races on one store from several workers. */
export type Race = "cas-counter" | "incr" | "append" | "big-value";

/** In `state` of the exclusion task: int32 places. */
export const READERS = 0;
export const WRITERS = 1;
export const VIOLATIONS = 2;
/** In `state` of the stats task: connections admitted and not yet left. */
export const HELD = 3;
/** Bytes of the pattern area after the counters. */
export const PATTERN_AT = 64;
export const PATTERN_BYTES = 4096;

/** In `state` of the queue task: the log of entries (length at 0, tags after). */
export const LOG_LENGTH = 0;

/** Bytes of the value the big-value race rewrites. */
export const BIG_VALUE = 256 * 1024;

/** The worker's side of its channel (the window types do not know it). */
const port = self as unknown as {
  onmessage: ((event: MessageEvent) => void) | null;
  postMessage(message: unknown): void;
};

const encoder = new TextEncoder();
/** Holds the thread a few microseconds, then lets queued jobs run: a window for others to barge in. */
async function pause(): Promise<void> {
  const end = performance.now() + 0.02;
  while (performance.now() < end);
  await null;
}

/**
 * Readers and writers over one pattern: each writer fills it with its own
 * byte (pausing halfway, lock held), each reader checks it is one byte
 * throughout; shared counters catch a writer beside anyone.
 */
async function exclusion(task: Extract<Task, { kind: "exclusion" }>): Promise<number> {
  // Half the workers poll before sleeping, half sleep at once.
  const lock = new RwLock(task.lock, { spinMicros: task.id % 2 === 0 ? 0 : 50 });
  const counters = new Int32Array(task.state, 0, 16);
  const pattern = new Uint8Array(task.state, PATTERN_AT, PATTERN_BYTES);
  const next = prng(task.id + 1);
  let turns = 0;
  for (let round = 0; round < task.rounds; round++) {
    const write = next() < 0.3;
    const how = next();
    let guard: RwLockGuard | undefined;
    if (how < 0.2) guard = write ? lock.tryWrite() : lock.tryRead();
    else if (how < 0.4) guard = write ? lock.writeSync() : lock.readSync();
    else guard = await (write ? lock.write() : lock.read());
    if (!guard) continue;
    turns++;
    if (write) {
      if (Atomics.add(counters, WRITERS, 1) !== 0 || Atomics.load(counters, READERS) !== 0) {
        Atomics.add(counters, VIOLATIONS, 1);
      }
      const byte = (task.id * 37 + round) & 0xff;
      pattern.fill(byte, 0, PATTERN_BYTES / 2);
      await pause();
      pattern.fill(byte, PATTERN_BYTES / 2);
      Atomics.sub(counters, WRITERS, 1);
    } else {
      Atomics.add(counters, READERS, 1);
      if (Atomics.load(counters, WRITERS) !== 0) Atomics.add(counters, VIOLATIONS, 1);
      await pause();
      if (pattern.some((b) => b !== pattern[0])) Atomics.add(counters, VIOLATIONS, 1);
      Atomics.sub(counters, READERS, 1);
    }
    guard.release();
  }
  return turns;
}

/**
 * Queues for the lock when told (`read` or `write` messages), logs its id
 * when it gets the lock, and releases it when told (`release`).
 */
function queue(task: Extract<Task, { kind: "queue" }>): Promise<number> {
  const lock = new RwLock(task.lock);
  const log = new Int32Array(task.state);
  let guard: RwLockGuard | undefined;
  return new Promise((resolve) => {
    port.onmessage = async (event: MessageEvent<string>) => {
      if (event.data === "release") {
        guard?.release();
        guard = undefined;
        return resolve(0);
      }
      guard = await (event.data === "write" ? lock.write() : lock.read());
      log[1 + Atomics.add(log, LOG_LENGTH, 1)] = task.id;
    };
    port.postMessage({ ready: true });
  });
}

/**
 * Counts `rounds` gets and bytes in its own block, and admits up to `limit`
 * connections per round under that server-wide limit, counting those held in
 * `state` (HELD) to catch the limit passed (VIOLATIONS); returns how many
 * it admitted.
 */
function stats(task: Extract<Task, { kind: "stats" }>): number {
  const stats = new Stats({ buffer: task.stats, worker: task.id });
  const counters = new Int32Array(task.state, 0, 16);
  let admitted = 0;
  for (let round = 0; round < task.rounds; round++) {
    stats.c.cmd_get++;
    stats.c.bytes_read += 3;
    let held = 0;
    for (let i = 0; i < task.limit; i++) {
      if (!stats.admit(task.limit)) continue;
      held++;
      if (Atomics.add(counters, HELD, 1) >= task.limit) Atomics.add(counters, VIOLATIONS, 1);
    }
    admitted += held;
    for (; held > 0; held--) {
      Atomics.sub(counters, HELD, 1);
      stats.leave();
    }
  }
  return admitted;
}

/** One of the store races; returns what the worker counts (successful CAS, or reads). */
async function race(task: Extract<Task, { kind: "store" }>): Promise<number> {
  const lock = new RwLock(task.lock);
  const store = new Store(task.store);
  const arena = new ByteArena();
  const now = task.now;
  let count = 0;
  for (let round = 0; round < task.rounds; round++) {
    arena.release(arena.seal());
    switch (task.race) {
      case "cas-counter": {
        let value: bigint;
        let cas: number;
        {
          using _read = await lock.read();
          const item = store.get(encoder.encode("counter"), { now, into: arena });
          if (typeof item === "string") throw new Error(`Counter is gone: ${item}`);
          value = BigInt(new TextDecoder().decode(item.value).trim());
          cas = item.cas;
        }
        using _write = await lock.write();
        const next = encoder.encode(String(value + 1n));
        const result = store.set(encoder.encode("counter"), next, { now, mode: "cas", cas });
        if (result.status === "stored") count++;
        break;
      }
      case "incr": {
        using _write = lock.writeSync();
        const result = store.delta(encoder.encode("counter"), {
          now,
          op: "incr",
          amount: 1n,
        });
        if (result.status !== "ok") throw new Error(`Incr failed: ${result.status}`);
        break;
      }
      case "append": {
        using _write = await lock.write();
        const part = encoder.encode(`w${task.id}:${round};`);
        const result = store.set(encoder.encode("list"), part, { now, mode: "append" });
        if (result.status !== "stored") throw new Error(`Append failed: ${result.status}`);
        break;
      }
      case "big-value": {
        if (round % 2 === 0) {
          using _write = await lock.write();
          const value = new Uint8Array(BIG_VALUE).fill((task.id * 64 + round) & 0xff);
          store.set(encoder.encode("big"), value, { now });
        } else {
          using _read = await lock.read();
          const item = store.get(encoder.encode("big"), { now, into: arena });
          if (typeof item === "string") continue;
          if (item.value.length !== BIG_VALUE || item.value.some((b) => b !== item.value[0])) {
            throw new Error("Read a torn value");
          }
          count++;
        }
        break;
      }
    }
  }
  return count;
}

port.onmessage = async (event: MessageEvent<Task>) => {
  const task = event.data;
  try {
    const result = task.kind === "exclusion"
      ? await exclusion(task)
      : task.kind === "queue"
      ? await queue(task)
      : task.kind === "stats"
      ? stats(task)
      : await race(task);
    port.postMessage({ result });
  } catch (err) {
    port.postMessage({ error: String((err as Error).stack ?? err) });
  }
};
