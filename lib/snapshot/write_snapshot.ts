import { dirname } from "node:path";
import { SnapshotEncoder } from "./snapshot_encoder.ts";
import type { SnapshotStore, SnapshotWalk } from "./snapshot_store.ts";

/** Options of {@linkcode writeSnapshot}. */
export interface WriteSnapshotOptions {
  /** The time now, Unix milliseconds (recorded in the header). */
  now: number;
  /**
   * Runs `fn` holding a read share of the store lock and returns its result;
   * called once per slice, released in between (while the slice is written).
   * @default {runs `fn` directly}
   */
  share?: <T>(fn: () => T) => Promise<T> | T;
  /** Bytes encoded per slice (per read share). @default {256 KiB} */
  sliceBytes?: number;
}

/** What a snapshot wrote. */
export interface SnapshotReport {
  /** Items written. */
  items: number;
  /** Bytes of the file. */
  bytes: number;
  /** Milliseconds it took, from the first slice to the directory sync. */
  durationMs: number;
}

/**
 * Writes `store`'s live items to `path` atomically: into `path + ".tmp"`
 * (mode 0600), fsync, rename over `path`, fsync the directory. A process
 * killed on the way leaves the previous file as it was (and a stale
 * `.tmp`, replaced by the next snapshot). The caller must make sure no one
 * else writes to `path` meanwhile (see `SnapshotFile`, which locks it).
 *
 * Items are encoded in slices of about `sliceBytes`, each under one read
 * share of the store lock taken through `share`; the share is released
 * while the slice goes to disk, and awaiting that write lets the event
 * loop run requests in between.
 *
 * @returns What was written.
 *
 * @example Usage
 * ```ts
 * import { writeSnapshot } from "./write_snapshot.ts";
 * import type { SnapshotStore } from "./snapshot_store.ts";
 * import assert from "node:assert/strict";
 *
 * const item = {
 *   key: new Uint8Array([0x6b]),
 *   value: new Uint8Array([0x76]),
 *   flags: 0,
 *   cas: 1,
 *   exptime: 0,
 *   lastAccess: 1_700_000_000,
 *   fetched: false,
 * };
 * const store: SnapshotStore = {
 *   casCounter: 1,
 *   walk: () => ({ next: (emit) => (emit(item), false) }),
 *   insert: () => true,
 *   clear: () => {},
 * };
 * const dir = await Deno.makeTempDir();
 * const report = await writeSnapshot(`${dir}/cache.snapshot`, store, { now: Date.now() });
 * assert.deepEqual([report.items, report.bytes], [1, 64 + 36 + 2 + 16]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeSnapshot(
  path: string,
  store: SnapshotStore,
  options: WriteSnapshotOptions,
): Promise<SnapshotReport> {
  const started = performance.now();
  const share = options.share ?? ((fn) => fn());
  const sliceBytes = options.sliceBytes ?? 256 * 1024;
  const temp = `${path}.tmp`;
  await Deno.remove(temp).catch((err) => {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  });
  const encoder = new SnapshotEncoder({ chunkSize: sliceBytes });
  const file = await Deno.open(temp, { write: true, createNew: true, mode: 0o600 });
  try {
    let bytes = await writeAll(file, encoder.placeholder);
    let walk: SnapshotWalk | undefined;
    for (let more = true; more;) {
      more = await share(() => {
        walk ??= store.walk();
        const end = encoder.bodyLength + sliceBytes;
        return walk.next((item) => {
          encoder.add(item);
          return encoder.bodyLength < end;
        });
      });
      // Each slice goes to disk before the next: awaiting the write lets requests run.
      for (const chunk of encoder.take(true)) {
        bytes += await writeAll(file, chunk);
        encoder.recycle(chunk);
      }
    }
    const casCounter = await share(() => store.casCounter);
    const { chunks, header } = encoder.finish({ casCounter, writtenAt: options.now });
    for (const chunk of chunks) bytes += await writeAll(file, chunk);
    await file.seek(0, Deno.SeekMode.Start);
    await writeAll(file, header);
    await file.sync();
    file.close();
    await Deno.rename(temp, path);
    await syncDirectory(dirname(path));
    return { items: encoder.count, bytes, durationMs: performance.now() - started };
  } catch (err) {
    try {
      file.close();
    } catch {
      // already closed
    }
    await Deno.remove(temp).catch(() => {});
    throw err;
  }
}

/** Writes all of `bytes`; returns how many. */
async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<number> {
  for (let done = 0; done < bytes.length;) done += await file.write(bytes.subarray(done));
  return bytes.length;
}

/** Makes a rename in `dir` durable (Linux: fsync on the directory opened for reading). */
async function syncDirectory(dir: string): Promise<void> {
  using handle = await Deno.open(dir, { read: true });
  await handle.sync();
}
