import { dirname } from "node:path";
import { checkPermissions, type NeededPermissions } from "../check_permissions.ts";
import { readSnapshot, type RestoreReport } from "./read_snapshot.ts";
import { SnapshotError } from "./snapshot_error.ts";
import type { SnapshotStore } from "./snapshot_store.ts";
import { type SnapshotReport, writeSnapshot, type WriteSnapshotOptions } from "./write_snapshot.ts";

/** How a restore went. */
export type RestoreOutcome =
  | { status: "restored"; report: RestoreReport }
  | { status: "missing" }
  | { status: "damaged"; aside: string; message: string };

/** Figures about the snapshots written (`stats` and `/metrics` report them). */
export interface SnapshotStats {
  /** When the last successful snapshot finished, Unix milliseconds; 0 = none yet. */
  lastAt: number;
  /** How long it took, milliseconds. */
  lastDurationMs: number;
  /** Bytes of its file. */
  lastBytes: number;
  /** Items in it. */
  lastItems: number;
  /** Snapshots that failed since the start. */
  failures: number;
}

/**
 * The snapshot file of one server (`-e FILE`): holds an exclusive lock on
 * `FILE.lock` for as long as it is open, so two servers never write or
 * load the same snapshot; restores it (setting a damaged file aside as
 * `FILE.corrupt.<unix time>`); writes it, never two at once.
 *
 * @example Usage
 * ```ts
 * import { SnapshotFile } from "./snapshot_file.ts";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * const file = SnapshotFile.open(`${dir}/cache.snapshot`);
 * assert.throws(() => SnapshotFile.open(`${dir}/cache.snapshot`), /in use/);
 * await file.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class SnapshotFile implements AsyncDisposable {
  #path: string;
  #lock: Deno.FsFile;
  #running: Promise<unknown> | undefined;
  #stats: SnapshotStats = { lastAt: 0, lastDurationMs: 0, lastBytes: 0, lastItems: 0, failures: 0 };

  private constructor(path: string, lock: Deno.FsFile) {
    this.#path = path;
    this.#lock = lock;
  }

  /**
   * Checks permissions and takes the lock.
   *
   * @throws {Error} One line: a missing `--allow-read`/`--allow-write` on the
   * file's directory, or another process holding the lock.
   */
  static open(path: string): SnapshotFile {
    const missing = checkPermissions(snapshotPermissions(path));
    if (missing !== undefined) throw new Error(missing);
    let lock: Deno.FsFile;
    try {
      lock = Deno.openSync(`${path}.lock`, { read: true, write: true, create: true, mode: 0o600 });
    } catch (err) {
      throw new Error(`Cannot lock snapshot ${path}: ${(err as Error).message}`);
    }
    if (!lock.tryLockSync(true)) {
      lock.close();
      throw new Error(`Snapshot ${path} is in use by another server (${path}.lock is locked)`);
    }
    return new SnapshotFile(path, lock);
  }

  /** The snapshot's path. */
  get path(): string {
    return this.#path;
  }

  /** Figures about the snapshots written so far. */
  get stats(): Readonly<SnapshotStats> {
    return this.#stats;
  }

  /** Whether a snapshot is being written now. */
  get writing(): boolean {
    return this.#running !== undefined;
  }

  /**
   * Loads the snapshot into `store` (empty, not yet serving). A damaged
   * file is renamed aside (never deleted or overwritten), `log` gets one
   * line, and the store stays empty.
   *
   * @param options `now`: the time, Unix milliseconds; `log`: where the one line goes.
   */
  async restore(
    store: SnapshotStore,
    options: { now: number; log: (line: string) => void },
  ): Promise<RestoreOutcome> {
    try {
      const report = await readSnapshot(this.#path, store, { now: Math.floor(options.now / 1000) });
      return report ? { status: "restored", report } : { status: "missing" };
    } catch (err) {
      if (!(err instanceof SnapshotError)) {
        throw new Error(`Cannot read snapshot ${this.#path}: ${(err as Error).message}`);
      }
      const aside = setAside(this.#path, Math.floor(options.now / 1000));
      options.log(`snapshot ${this.#path}: ${err.message}; kept as ${aside}, starting empty`);
      return { status: "damaged", aside, message: err.message };
    }
  }

  /**
   * Writes a snapshot. One already running is waited for first, then a new
   * one is written (a final snapshot must hold the latest changes). A
   * failure is counted and thrown; the previous file stays.
   */
  async save(store: SnapshotStore, options: WriteSnapshotOptions): Promise<SnapshotReport> {
    while (this.#running) await this.#running.catch(() => {});
    return await this.#write(store, options);
  }

  /**
   * Writes a snapshot unless one is running (a periodic snapshot is not
   * doubled). A failure is counted and logged, not thrown.
   *
   * @returns What was written; `undefined` when skipped or failed.
   */
  async saveIfIdle(
    store: SnapshotStore,
    options: WriteSnapshotOptions & { log: (line: string) => void },
  ): Promise<SnapshotReport | undefined> {
    if (this.#running) return undefined;
    try {
      return await this.#write(store, options);
    } catch (err) {
      options.log(`snapshot ${this.#path} failed, previous one kept: ${(err as Error).message}`);
      return undefined;
    }
  }

  /** Releases the lock (after waiting for a snapshot being written). Idempotent. */
  async close(): Promise<void> {
    while (this.#running) await this.#running.catch(() => {});
    try {
      this.#lock.close();
    } catch {
      // already closed
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #write(store: SnapshotStore, options: WriteSnapshotOptions): Promise<SnapshotReport> {
    const running = writeSnapshot(this.#path, store, options);
    this.#running = running;
    try {
      const report = await running;
      this.#stats = {
        ...this.#stats,
        lastAt: options.now + report.durationMs,
        lastDurationMs: report.durationMs,
        lastBytes: report.bytes,
        lastItems: report.items,
      };
      return report;
    } catch (err) {
      this.#stats = { ...this.#stats, failures: this.#stats.failures + 1 };
      throw err;
    } finally {
      this.#running = undefined;
    }
  }
}

/**
 * What a snapshot at `path` needs: reading and writing its directory (the
 * temporary file, the rename, the lock and setting a damaged file aside
 * happen there).
 *
 * @example Usage
 * ```ts
 * import { snapshotPermissions } from "./snapshot_file.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(snapshotPermissions("/var/lib/mbserver/cache.snapshot").write, [
 *   { flag: "-e", path: "/var/lib/mbserver" },
 * ]);
 * ```
 */
export function snapshotPermissions(path: string): Required<Omit<NeededPermissions, "listen">> {
  const dir = [{ flag: "-e", path: dirname(path) }];
  return { read: dir, write: dir };
}

/** Renames a damaged snapshot to `PATH.corrupt.<unix time>[.N]`, never replacing a file. */
function setAside(path: string, unixSeconds: number): string {
  const base = `${path}.corrupt.${unixSeconds}`;
  for (let n = 0;; n++) {
    const aside = n === 0 ? base : `${base}.${n}`;
    try {
      Deno.linkSync(path, aside); // fails if `aside` exists: nothing is overwritten
    } catch (err) {
      if (err instanceof Deno.errors.AlreadyExists) continue;
      throw err;
    }
    Deno.removeSync(path);
    return aside;
  }
}
