import type { Clock } from "../clock.ts";
import { type RestoreOutcome, SnapshotFile, type SnapshotStats } from "./snapshot_file.ts";
import type { SnapshotStore } from "./snapshot_store.ts";
import type { SnapshotReport } from "./write_snapshot.ts";

/** Options of {@linkcode Snapshotter.open}. */
export interface SnapshotterOptions {
  /** The snapshot file (`-e FILE`). */
  path: string;
  /** The store to restore into and to snapshot. */
  store: SnapshotStore;
  /** Runs `fn` holding a read share of the store lock. */
  share: <T>(fn: () => T) => Promise<T>;
  /** Time source, milliseconds since the Unix epoch. */
  clock: Clock;
  /** Seconds between snapshots while serving (`-o snapshot_interval`); 0 = only on stop. @default {0} */
  intervalSeconds?: number;
  /** Bytes encoded per read share. @default {256 KiB} */
  sliceBytes?: number;
  /** Where failures and damaged files are reported, one line each. */
  log: (line: string) => void;
  /**
   * Calls `fn` every `ms` milliseconds until the returned function is called.
   * @default {an unref'd `setInterval`}
   */
  every?: (fn: () => void, ms: number) => () => void;
}

/**
 * Warm restarts for one server: restores the snapshot before it serves,
 * writes one every `intervalSeconds` while it serves (never two at once; a
 * failure is logged and the previous file kept) and a last one when it
 * stops, after waiting for one in progress.
 *
 * @example Usage
 * ```ts
 * import { Snapshotter } from "./snapshotter.ts";
 * import type { SnapshotStore } from "./snapshot_store.ts";
 * import assert from "node:assert/strict";
 *
 * const store: SnapshotStore = {
 *   casCounter: 0,
 *   walk: () => ({ next: () => false }),
 *   insert: () => true,
 *   clear: () => {},
 * };
 * const dir = await Deno.makeTempDir();
 * const snapshotter = await Snapshotter.open({
 *   path: `${dir}/cache.snapshot`,
 *   store,
 *   share: async (fn) => fn(),
 *   clock: Date.now,
 *   log: console.error,
 * });
 * assert.equal(snapshotter.restored.status, "missing");
 * assert.equal((await snapshotter.close())?.items, 0);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class Snapshotter {
  #file: SnapshotFile;
  #options: SnapshotterOptions;
  #cancel: (() => void) | undefined;
  #closing: Promise<SnapshotReport | undefined> | undefined;
  /** How the restore at start went. */
  readonly restored: RestoreOutcome;

  private constructor(file: SnapshotFile, options: SnapshotterOptions, restored: RestoreOutcome) {
    this.#file = file;
    this.#options = options;
    this.restored = restored;
    const seconds = options.intervalSeconds ?? 0;
    if (seconds > 0) {
      this.#cancel = (options.every ?? every)(() => void this.snapshot(), seconds * 1000);
    }
  }

  /**
   * Locks the file, restores it into the (empty) store, and starts the
   * periodic snapshots.
   *
   * @throws {Error} One line: missing permissions, or another server holds the file.
   */
  static async open(options: SnapshotterOptions): Promise<Snapshotter> {
    const file = SnapshotFile.open(options.path);
    try {
      const restored = await file.restore(options.store, {
        now: options.clock(),
        log: options.log,
      });
      return new Snapshotter(file, options, restored);
    } catch (err) {
      await file.close();
      throw err;
    }
  }

  /** Figures about the snapshots written, and whether one is being written. */
  get stats(): Readonly<SnapshotStats> & { writing: boolean } {
    return { ...this.#file.stats, writing: this.#file.writing };
  }

  /**
   * Writes a snapshot now unless one is running (what the timer calls).
   *
   * @returns What was written; `undefined` when skipped, failed (logged) or closing.
   */
  snapshot(): Promise<SnapshotReport | undefined> {
    if (this.#closing) return Promise.resolve(undefined);
    return this.#file.saveIfIdle(this.#options.store, this.#writeOptions());
  }

  /**
   * Stops the timer, waits for a snapshot in progress, writes the last one
   * and releases the file. Call it once nothing changes the store any more.
   * Idempotent.
   *
   * @param options `snapshot: false` releases the file without writing (a
   * server that failed to start).
   * @returns What the last snapshot wrote; `undefined` when it failed (logged).
   */
  close(options: { snapshot?: boolean } = {}): Promise<SnapshotReport | undefined> {
    this.#closing ??= this.#close(options.snapshot ?? true);
    return this.#closing;
  }

  async #close(snapshot: boolean): Promise<SnapshotReport | undefined> {
    this.#cancel?.();
    if (!snapshot) {
      await this.#file.close();
      return undefined;
    }
    try {
      return await this.#file.save(this.#options.store, this.#writeOptions());
    } catch (err) {
      this.#options.log(
        `snapshot ${this.#file.path} failed, previous one kept: ${(err as Error).message}`,
      );
      return undefined;
    } finally {
      await this.#file.close();
    }
  }

  #writeOptions() {
    const { share, log, sliceBytes } = this.#options;
    return { now: this.#options.clock(), share, log, sliceBytes };
  }
}

function every(fn: () => void, ms: number): () => void {
  const timer = setInterval(fn, ms);
  Deno.unrefTimer(timer);
  return () => clearInterval(timer);
}
