/**
 * A worker of `store_workers.ts`: hammers a shared store for a while, 9 gets
 * to 1 set, each under the shared lock, and answers with its count.
 *
 * @module
 */
import { ByteArena } from "../lib/byte_arena.ts";
import { RwLock } from "../lib/rw_lock.ts";
import { Store, type StoreMemory } from "../lib/store/store.ts";

/** What the bench sends each worker. */
export interface HammerTask {
  id: number;
  store: StoreMemory;
  lock: SharedArrayBuffer;
  /** Keys to pick from (the store holds them all). */
  keys: number;
  keyLength: number;
  valueLength: number;
  /** The lock's polling before sleeping, in microseconds. */
  spinMicros: number;
  /** Share of operations that are sets. */
  writes: number;
  /** Operations per lock turn: 1 = one turn per operation. */
  batch: number;
  /** Start and end, as `Date.now()` values (same clock in every worker). */
  startAt: number;
  endAt: number;
  now: number;
}

/** The key of item `i`, `length` bytes. */
export function keyOf(i: number, length: number): Uint8Array {
  const key = new Uint8Array(length);
  writeKey(key, i);
  return key;
}

/**
 * Writes the key of item `i` over `key` (`key:` and zero-padded digits), as
 * a request buffer holds a key: freshly written, so in cache.
 */
export function writeKey(key: Uint8Array, i: number): void {
  key[0] = 0x6b; // "key:"
  key[1] = 0x65;
  key[2] = 0x79;
  key[3] = 0x3a;
  key.fill(0x30, 4);
  for (let at = key.length - 1; i > 0; at--) {
    key[at] = 0x30 + (i % 10);
    i = Math.floor(i / 10);
  }
}

const port = self as unknown as {
  onmessage: ((event: MessageEvent<HammerTask>) => void) | null;
  postMessage(message: unknown): void;
};

port.onmessage = (event) => {
  const task = event.data;
  const store = new Store(task.store);
  const lock = new RwLock(task.lock, { spinMicros: task.spinMicros });
  const arena = new ByteArena();
  const key = new Uint8Array(task.keyLength);
  const value = new Uint8Array(task.valueLength).fill(0x61 + task.id);
  let seed = task.id * 7919 + 1;
  const random = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 0x1_0000_0000;
  while (Date.now() < task.startAt);
  let ops = 0;
  const now = task.now;
  while (true) {
    if ((ops & 255) === 0 && Date.now() >= task.endAt) break;
    const write = random() < task.writes;
    const guard = write
      ? (lock.tryWrite() ?? lock.writeSync())
      : (lock.tryRead() ?? lock.readSync());
    for (let b = 0; b < task.batch; b++) {
      writeKey(key, Math.floor(random() * task.keys));
      if (write) store.set(key, value, { now });
      else store.get(key, { now, into: arena });
    }
    guard.release();
    arena.release(arena.seal());
    ops += task.batch;
  }
  port.postMessage(ops);
};
