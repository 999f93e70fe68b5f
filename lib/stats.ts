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

/** Counters that `stats reset` does not clear. */
const KEPT = new Set<keyof StatCounters>([
  "curr_connections",
  "connection_structures",
  "accepting_conns",
]);

function zero(): StatCounters {
  return {
    curr_connections: 0,
    total_connections: 0,
    rejected_connections: 0,
    connection_structures: 0,
    cmd_get: 0,
    cmd_set: 0,
    cmd_flush: 0,
    cmd_touch: 0,
    cmd_meta: 0,
    get_hits: 0,
    get_misses: 0,
    get_expired: 0,
    get_flushed: 0,
    delete_misses: 0,
    delete_hits: 0,
    incr_misses: 0,
    incr_hits: 0,
    decr_misses: 0,
    decr_hits: 0,
    cas_misses: 0,
    cas_hits: 0,
    cas_badval: 0,
    touch_hits: 0,
    touch_misses: 0,
    store_too_large: 0,
    store_no_memory: 0,
    auth_cmds: 0,
    auth_errors: 0,
    idle_kicks: 0,
    bytes_read: 0,
    bytes_written: 0,
    accepting_conns: 1,
    listen_disabled_num: 0,
    time_in_listen_disabled_us: 0,
  };
}

/**
 * Server-wide statistics shared by every connection.
 *
 * @example Usage
 * ```ts
 * import { Stats } from "./stats.ts";
 * import assert from "node:assert/strict";
 *
 * const stats = new Stats();
 * stats.c.cmd_get++;
 * stats.reset();
 * assert.deepEqual(stats.c.cmd_get, 0);
 * ```
 */
export class Stats {
  /** The live counters; commands increment them directly. */
  readonly c: StatCounters = zero();
  /**
   * Client connections by protocol (text includes meta), open now and
   * accepted since start; for the metrics endpoint, not reset.
   */
  readonly protocols: Record<"binary" | "text", { current: number; total: number }> = {
    binary: { current: 0, total: 0 },
    text: { current: 0, total: 0 },
  };
  /** Unix seconds when the server started. */
  readonly startedAt: number;

  constructor(now: number = Math.floor(Date.now() / 1000)) {
    this.startedAt = now;
  }

  /** Clears the counters as `stats reset` does. */
  reset(): void {
    const fresh = zero();
    for (const key of Object.keys(fresh) as (keyof StatCounters)[]) {
      if (!KEPT.has(key)) this.c[key] = fresh[key];
    }
  }
}
