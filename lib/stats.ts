/** Command and connection counters, named as memcached names them in `stats`. */
export interface StatCounters {
  curr_connections: number;
  total_connections: number;
  rejected_connections: number;
  connection_structures: number;
  cmd_get: number;
  cmd_set: number;
  cmd_flush: number;
  cmd_touch: number;
  cmd_meta: number;
  get_hits: number;
  get_misses: number;
  get_expired: number;
  get_flushed: number;
  delete_misses: number;
  delete_hits: number;
  incr_misses: number;
  incr_hits: number;
  decr_misses: number;
  decr_hits: number;
  cas_misses: number;
  cas_hits: number;
  cas_badval: number;
  touch_hits: number;
  touch_misses: number;
  store_too_large: number;
  store_no_memory: number;
  auth_cmds: number;
  auth_errors: number;
  idle_kicks: number;
  bytes_read: number;
  bytes_written: number;
  /** 1 while accepting, 0 while paused for lack of descriptors. */
  accepting_conns: number;
  listen_disabled_num: number;
  time_in_listen_disabled_us: number;
}

/** The counters, in the order they sit in each worker's block. */
const NAMES: readonly (keyof StatCounters)[] = [
  "curr_connections",
  "total_connections",
  "rejected_connections",
  "connection_structures",
  "cmd_get",
  "cmd_set",
  "cmd_flush",
  "cmd_touch",
  "cmd_meta",
  "get_hits",
  "get_misses",
  "get_expired",
  "get_flushed",
  "delete_misses",
  "delete_hits",
  "incr_misses",
  "incr_hits",
  "decr_misses",
  "decr_hits",
  "cas_misses",
  "cas_hits",
  "cas_badval",
  "touch_hits",
  "touch_misses",
  "store_too_large",
  "store_no_memory",
  "auth_cmds",
  "auth_errors",
  "idle_kicks",
  "bytes_read",
  "bytes_written",
  "accepting_conns",
  "listen_disabled_num",
  "time_in_listen_disabled_us",
];

/** Client connections by protocol, after the counters in each block: open now, and accepted. */
const PROTOCOLS = { binary: NAMES.length, text: NAMES.length + 2 } as const;

/** A connection protocol, as the metrics endpoint labels connections. */
export type Protocol = keyof typeof PROTOCOLS;

/** Counters that `stats reset` does not clear. */
const KEPT = new Set<keyof StatCounters>([
  "curr_connections",
  "connection_structures",
  "accepting_conns",
]);

/** Float64s per block: the counters, rounded up to whole 64-byte lines (no false sharing). */
const BLOCK = Math.ceil((NAMES.length + 4) / 8) * 8;

const ACCEPTING = NAMES.indexOf("accepting_conns");

// Server-wide int32s, after the blocks.
/** Open connections over all workers, kept with Atomics for the `-c` limit. */
const CONNECTIONS = 0;
/** Unix seconds the server started. */
const STARTED_AT = 1;
const INTS = 16;

/** Options of {@linkcode Stats.allocate}. */
export interface StatsMemoryOptions {
  /** Number of workers (each gets a block). */
  workers: number;
  /** Unix seconds the server started. */
  startedAt: number;
}

/** Options of a {@linkcode Stats}. */
export interface StatsOptions {
  /** The shared memory from {@linkcode Stats.allocate}. @default {a block for one worker} */
  buffer?: SharedArrayBuffer;
  /** Which block is this worker's. @default {0} */
  worker?: number;
  /** Unix seconds the server started, for a new buffer. @default {now} */
  startedAt?: number;
}

/** One worker's counters, each a property over its block of shared memory. */
type CounterBlock = StatCounters;

/**
 * Server-wide statistics in one `SharedArrayBuffer`, laid out for workers:
 * each worker has a block of counters with memcached's names that only it
 * writes (plain increments, `stats.c.cmd_get++`), `totals()` sums the
 * blocks, and `stats reset` records a baseline that totals subtract. The
 * count of open connections over all workers is kept apart with `Atomics`,
 * so that `-c` limits the total. Later stats extend `NAMES`.
 *
 * Counters are float64s: one writer each, and on the 64-bit targets V8
 * runs on, an aligned float64 load or store is one instruction, so a reader
 * summing the blocks sees each counter's old or new value, never a mix.
 *
 * @example Usage
 * ```ts
 * import { Stats } from "./stats.ts";
 * import assert from "node:assert/strict";
 *
 * const buffer = Stats.allocate({ workers: 2, startedAt: 1_700_000_000 });
 * const first = new Stats({ buffer, worker: 0 });
 * const second = new Stats({ buffer, worker: 1 }); // in another worker
 * first.c.cmd_get++;
 * second.c.cmd_get += 2;
 * assert.equal(first.totals().cmd_get, 3);
 * first.reset();
 * assert.equal(second.totals().cmd_get, 0);
 * ```
 */
export class Stats {
  /** This worker's counters: increment them directly. */
  readonly c: CounterBlock;
  #f: Float64Array<SharedArrayBuffer>;
  #i: Int32Array<SharedArrayBuffer>;
  #workers: number;
  #buffer: SharedArrayBuffer;
  /** Where this worker's block starts. */
  #block: number;

  /** Makes the shared memory for `workers` blocks. */
  static allocate(options: StatsMemoryOptions): SharedArrayBuffer {
    const buffer = new SharedArrayBuffer((options.workers + 1) * BLOCK * 8 + INTS * 4);
    new Int32Array(buffer, (options.workers + 1) * BLOCK * 8, INTS)[STARTED_AT] = options
      .startedAt;
    const f = new Float64Array(buffer, 0, options.workers * BLOCK);
    for (let w = 0; w < options.workers; w++) f[w * BLOCK + ACCEPTING] = 1;
    return buffer;
  }

  /** Attaches worker number `worker` to the stats in `buffer` (or makes stats for one). */
  constructor(options: StatsOptions = {}) {
    const buffer = options.buffer ??
      Stats.allocate({ workers: 1, startedAt: options.startedAt ?? Math.floor(Date.now() / 1000) });
    const worker = options.worker ?? 0;
    this.#buffer = buffer;
    const ints = INTS * 4;
    this.#workers = (buffer.byteLength - ints) / (BLOCK * 8) - 1;
    if (!Number.isInteger(this.#workers) || worker < 0 || worker >= this.#workers) {
      throw new RangeError(`Worker ${worker} has no block in these stats`);
    }
    this.#f = new Float64Array(buffer, 0, (this.#workers + 1) * BLOCK);
    this.#i = new Int32Array(buffer, (this.#workers + 1) * BLOCK * 8, INTS);
    this.#block = worker * BLOCK;
    this.c = blockOf(this.#f, this.#block);
  }

  /** The shared memory, to hand to another worker. */
  get buffer(): SharedArrayBuffer {
    return this.#buffer;
  }

  /** Unix seconds the server started. */
  get startedAt(): number {
    return this.#i[STARTED_AT];
  }

  /** Number of workers sharing these stats. */
  get workers(): number {
    return this.#workers;
  }

  /** Open connections over all workers. */
  get connections(): number {
    return Atomics.load(this.#i, CONNECTIONS);
  }

  /** Counts a new connection if the total stays within `limit`; false when it would not. */
  admit(limit: number): boolean {
    if (Atomics.add(this.#i, CONNECTIONS, 1) < limit) return true;
    Atomics.sub(this.#i, CONNECTIONS, 1);
    return false;
  }

  /** Counts a connection admitted earlier as closed. */
  leave(): void {
    Atomics.sub(this.#i, CONNECTIONS, 1);
  }

  /**
   * The counters summed over every worker, less what `reset` cleared;
   * `accepting_conns` is 1 only while every worker accepts.
   */
  totals(): StatCounters {
    const f = this.#f;
    const base = this.#workers * BLOCK;
    const out = {} as StatCounters;
    for (let n = 0; n < NAMES.length; n++) {
      let sum = -f[base + n];
      for (let w = 0; w < this.#workers; w++) sum += f[w * BLOCK + n];
      out[NAMES[n]] = sum;
    }
    for (let w = 0; w < this.#workers; w++) {
      out.accepting_conns = Math.min(out.accepting_conns, f[w * BLOCK + ACCEPTING]);
    }
    return out;
  }

  /** Client connections by protocol (text includes meta) over every worker: open now, and accepted since start (not reset). */
  get protocols(): Record<Protocol, { current: number; total: number }> {
    const sum = (n: number) => {
      let total = 0;
      for (let w = 0; w < this.#workers; w++) total += this.#f[w * BLOCK + n];
      return total;
    };
    return {
      binary: { current: sum(PROTOCOLS.binary), total: sum(PROTOCOLS.binary + 1) },
      text: { current: sum(PROTOCOLS.text), total: sum(PROTOCOLS.text + 1) },
    };
  }

  /** A connection of this worker turned out to speak `protocol`. */
  protocolOpened(protocol: Protocol): void {
    this.#f[this.#block + PROTOCOLS[protocol]]++;
    this.#f[this.#block + PROTOCOLS[protocol] + 1]++;
  }

  /** A connection of this worker that spoke `protocol` closed. */
  protocolClosed(protocol: Protocol): void {
    this.#f[this.#block + PROTOCOLS[protocol]]--;
  }

  /** Clears the counters as `stats reset` does, for every worker. */
  reset(): void {
    const f = this.#f;
    const base = this.#workers * BLOCK;
    for (let n = 0; n < NAMES.length; n++) {
      if (KEPT.has(NAMES[n])) continue;
      let sum = 0;
      for (let w = 0; w < this.#workers; w++) sum += f[w * BLOCK + n];
      f[base + n] = sum;
    }
  }
}

/** An object whose properties read and write the counters of the block at `start`. */
function blockOf(f: Float64Array, start: number): CounterBlock {
  const block = {} as CounterBlock;
  NAMES.forEach((name, n) => {
    Object.defineProperty(block, name, {
      get: () => f[start + n],
      set: (value: number) => f[start + n] = value,
      enumerable: true,
    });
  });
  return block;
}
