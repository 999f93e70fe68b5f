/** Options of a {@linkcode MemoryReclaimer}. */
export interface MemoryReclaimerOptions {
  /** Garbage-making events (closed connections, pipelines let go) that make a collection worth it. @default {512} */
  threshold?: number;
  /** Runs a full garbage collection. @default {V8's `gc`, exposed on first use} */
  collect?: () => void | Promise<void>;
}

/**
 * Gives memory back after a burst of connections. A server that has just
 * let thousands of connections go (or their pipelines) holds their garbage
 * until something allocates enough to make V8 collect, and a server that has
 * gone quiet allocates nothing: its resident memory would stay at the peak.
 * So once enough such events were noted and one whole {@linkcode tick}
 * period has passed without new ones, this runs one full collection. A busy
 * server, whose own allocations keep the collector running, is left alone.
 *
 * @example Usage
 * ```ts
 * import { MemoryReclaimer } from "./memory_reclaimer.ts";
 * import assert from "node:assert/strict";
 *
 * let collections = 0;
 * const reclaimer = new MemoryReclaimer({ threshold: 2, collect: () => void collections++ });
 * reclaimer.note(5);
 * assert.equal(reclaimer.tick(), false); // events in this period: not quiet yet
 * assert.equal(reclaimer.tick(), true);
 * assert.equal(collections, 1);
 * ```
 */
export class MemoryReclaimer {
  #threshold: number;
  #collect: () => void | Promise<void>;
  #pending = 0;
  #recent = 0;

  constructor(options: MemoryReclaimerOptions = {}) {
    this.#threshold = options.threshold ?? 512;
    this.#collect = options.collect ?? fullGc;
  }

  /** Notes `n` events that left garbage behind. */
  note(n = 1): void {
    this.#pending += n;
    this.#recent += n;
  }

  /** Call periodically: collects if enough was noted and nothing since the last call. */
  tick(): boolean {
    const quiet = this.#recent === 0;
    this.#recent = 0;
    if (!quiet || this.#pending < this.#threshold) return false;
    this.#pending = 0;
    try {
      Promise.resolve(this.#collect()).catch(() => {});
    } catch {
      // collecting is best effort
    }
    return true;
  }
}

let gc: (() => void) | undefined;

/**
 * One full, synchronous garbage collection. Without `--v8-flags=--expose-gc`
 * V8 gives no `gc` to the main context, but exposes it in contexts created
 * after the flag is set, as Node's `v8`/`vm` modules allow.
 */
async function fullGc(): Promise<void> {
  gc ??= (globalThis as { gc?: () => void }).gc ?? await exposeGc();
  gc();
}

async function exposeGc(): Promise<() => void> {
  const v8 = await import("node:v8");
  const vm = await import("node:vm");
  v8.setFlagsFromString("--expose-gc");
  return vm.runInNewContext("gc") as () => void;
}
