import { SnapshotDecoder } from "./snapshot_decoder.ts";
import { SnapshotError } from "./snapshot_error.ts";
import type { SnapshotHeader } from "./snapshot_header.ts";
import type { SnapshotItem, SnapshotStore } from "./snapshot_store.ts";

/** Options of {@linkcode readSnapshot}. */
export interface ReadSnapshotOptions {
  /** The time now, Unix seconds: items that expired by then are dropped. */
  now: number;
  /** Bytes read at a time. @default {4 MiB} */
  chunkSize?: number;
}

/** What a restore loaded. */
export interface RestoreReport {
  /** Items inserted (a later insert may have evicted some under `-m`). */
  items: number;
  /** Items dropped because they expired while the server was down. */
  expired: number;
  /** Items the store refused (larger than the item size limit, or an older copy of a key). */
  refused: number;
  /** Bytes of the file. */
  bytes: number;
  /** When the snapshot was written, Unix milliseconds. */
  writtenAt: number;
  /** Milliseconds the restore took (both passes). */
  durationMs: number;
}

/**
 * Restores a snapshot file into `store`. The file is read twice: first only
 * checked (header, structure, checksum, trailer), then applied, so a damaged
 * file changes nothing. Items expired by `now` are dropped; the store's CAS
 * counter is raised to the snapshot's so CAS values stay unique.
 *
 * @param path The snapshot file.
 * @param store An empty store to fill.
 * @returns What was loaded, or `undefined` when the file does not exist.
 * @throws {SnapshotError} The file is damaged, truncated, empty, foreign or newer (nothing applied).
 *
 * @example Usage
 * ```ts
 * import { readSnapshot } from "./read_snapshot.ts";
 * import { writeSnapshot } from "./write_snapshot.ts";
 * import type { SnapshotItem, SnapshotStore } from "./snapshot_store.ts";
 * import assert from "node:assert/strict";
 *
 * const item: SnapshotItem = {
 *   key: new Uint8Array([0x6b]),
 *   value: new Uint8Array([0x76]),
 *   flags: 0,
 *   cas: 1,
 *   exptime: 0,
 *   lastAccess: 1_700_000_000,
 *   fetched: false,
 * };
 * const restored: SnapshotItem[] = [];
 * const store: SnapshotStore = {
 *   casCounter: 1,
 *   walk: () => ({ next: (emit) => (emit(item), false) }),
 *   insert: (it) => restored.push({ ...it, key: it.key.slice(), value: it.value.slice() }) > 0,
 *   clear: () => restored.splice(0),
 * };
 * const dir = await Deno.makeTempDir();
 * await writeSnapshot(`${dir}/cache.snapshot`, store, { now: Date.now() });
 * const report = await readSnapshot(`${dir}/cache.snapshot`, store, {
 *   now: Math.floor(Date.now() / 1000),
 * });
 * assert.equal(report?.items, 1);
 * assert.deepEqual(restored[0].value, item.value);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function readSnapshot(
  path: string,
  store: SnapshotStore,
  options: ReadSnapshotOptions,
): Promise<RestoreReport | undefined> {
  const started = performance.now();
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
  using _file = file;
  const size = (await file.stat()).size;
  const buffer = new Uint8Array(options.chunkSize ?? 4 * 1024 * 1024);
  const header = await decode(file, buffer, size, new SnapshotDecoder());
  const report = { items: 0, expired: 0, refused: 0 };
  let maxCas = 0;
  const onRecord = (item: SnapshotItem) => {
    if (item.exptime !== 0 && item.exptime <= options.now) {
      report.expired++;
      return;
    }
    if (store.insert(item)) report.items++;
    else report.refused++;
    if (item.cas > maxCas) maxCas = item.cas;
  };
  await file.seek(0, Deno.SeekMode.Start);
  try {
    await decode(file, buffer, size, new SnapshotDecoder({ onRecord }));
  } catch (err) {
    store.clear(); // the file changed between the passes: leave nothing half-loaded
    throw err;
  }
  store.casCounter = Math.max(store.casCounter, header.casCounter, maxCas);
  return {
    ...report,
    bytes: size,
    writtenAt: header.writtenAt,
    durationMs: performance.now() - started,
  };
}

/** Feeds the whole file to `decoder`; stops early when the header's length is not the file's. */
async function decode(
  file: Deno.FsFile,
  buffer: Uint8Array,
  size: number,
  decoder: SnapshotDecoder,
): Promise<SnapshotHeader> {
  let checked = false;
  for (let n = await file.read(buffer); n !== null; n = await file.read(buffer)) {
    decoder.push(buffer.subarray(0, n));
    const header = decoder.header;
    if (header && !checked) {
      checked = true;
      if (size < header.fileLength) {
        throw new SnapshotError("truncated", `Truncated: ${size} of ${header.fileLength} bytes`);
      }
      if (size > header.fileLength) {
        throw new SnapshotError(
          "malformed",
          `Longer than its header says (${size} bytes, not ${header.fileLength})`,
        );
      }
    }
  }
  return decoder.end();
}
