import process from "node:process";
import type { CommandContext } from "../command_context.ts";
import type { StatLine } from "./stat_line.ts";

/** microseconds as memcached prints rusage: `seconds.microseconds`. */
function timeval(micros: number): string {
  return `${Math.floor(micros / 1e6)}.${String(Math.floor(micros % 1e6)).padStart(6, "0")}`;
}

/**
 * `stats`: every name memcached 1.6.18 prints, in its order (`idle_kicks`
 * only with an idle timeout, as memcached). Figures of machinery this server
 * does not have are 0 (the README lists them); `total_connections` counts
 * the listening socket, as memcached's does.
 *
 * @example Usage
 * ```ts
 * import { CommandContext } from "../command_context.ts";
 * import { generalReport } from "./general_report.ts";
 * import assert from "node:assert/strict";
 *
 * const lines = generalReport(new CommandContext());
 * assert.deepEqual(lines.map(([name]) => name).slice(0, 3), ["pid", "uptime", "time"]);
 * assert.equal(lines.length, 92);
 * ```
 */
export function generalReport(ctx: CommandContext): StatLine[] {
  const { stats, store, settings } = ctx;
  const c = stats.totals();
  const counters = store.counters;
  const now = ctx.now();
  const cpu = process.cpuUsage();
  const hashPower = Math.log2(store.hashBuckets);
  const lines: [string, number | string][] = [
    ["pid", Deno.pid],
    ["uptime", now - stats.startedAt],
    ["time", now],
    ["version", settings.version],
    ["libevent", "deno"],
    ["pointer_size", 64],
    ["rusage_user", timeval(cpu.user)],
    ["rusage_system", timeval(cpu.system)],
    ["max_connections", settings.maxConnections],
    ["curr_connections", c.curr_connections],
    ["total_connections", c.total_connections],
    ["rejected_connections", c.rejected_connections],
    ["connection_structures", c.connection_structures],
    ["response_obj_oom", 0],
    ["response_obj_count", 0],
    ["response_obj_bytes", 0],
    ["read_buf_count", 0],
    ["read_buf_bytes", 0],
    ["read_buf_bytes_free", 0],
    ["read_buf_oom", 0],
    ["reserved_fds", 0],
    ["cmd_get", c.cmd_get],
    ["cmd_set", c.cmd_set],
    ["cmd_flush", c.cmd_flush],
    ["cmd_touch", c.cmd_touch],
    ["cmd_meta", c.cmd_meta],
    ["get_hits", c.get_hits],
    ["get_misses", c.get_misses],
    ["get_expired", c.get_expired],
    ["get_flushed", c.get_flushed],
    ["delete_misses", c.delete_misses],
    ["delete_hits", c.delete_hits],
    ["incr_misses", c.incr_misses],
    ["incr_hits", c.incr_hits],
    ["decr_misses", c.decr_misses],
    ["decr_hits", c.decr_hits],
    ["cas_misses", c.cas_misses],
    ["cas_hits", c.cas_hits],
    ["cas_badval", c.cas_badval],
    ["touch_hits", c.touch_hits],
    ["touch_misses", c.touch_misses],
    ["store_too_large", c.store_too_large],
    ["store_no_memory", c.store_no_memory],
    ["auth_cmds", c.auth_cmds],
    ["auth_errors", c.auth_errors],
    ...(settings.idleTimeout > 0 ? [["idle_kicks", c.idle_kicks] as [string, number]] : []),
    ["bytes_read", c.bytes_read],
    ["bytes_written", c.bytes_written],
    ["limit_maxbytes", store.memoryLimit],
    ["accepting_conns", c.accepting_conns],
    ["listen_disabled_num", c.listen_disabled_num],
    ["time_in_listen_disabled_us", c.time_in_listen_disabled_us],
    ["threads", stats.workers],
    ["conn_yields", 0],
    ["hash_power_level", hashPower],
    ["hash_bytes", store.hashBuckets * Int32Array.BYTES_PER_ELEMENT],
    ["hash_is_expanding", 0],
    ["slab_reassign_rescues", 0],
    ["slab_reassign_chunk_rescues", 0],
    ["slab_reassign_evictions_nomem", 0],
    ["slab_reassign_inline_reclaim", 0],
    ["slab_reassign_busy_items", 0],
    ["slab_reassign_busy_deletes", 0],
    ["slab_reassign_running", 0],
    ["slabs_moved", 0],
    ["lru_crawler_running", 0],
    ["lru_crawler_starts", 0],
    ["lru_maintainer_juggles", 0],
    ["malloc_fails", 0],
    ["log_worker_dropped", 0],
    ["log_worker_written", 0],
    ["log_watcher_skipped", 0],
    ["log_watcher_sent", 0],
    ["log_watchers", 0],
    ["unexpected_napi_ids", 0],
    ["round_robin_fallback", 0],
    ["bytes", store.bytes],
    ["curr_items", store.size],
    ["total_items", counters.total_items],
    ["slab_global_page_pool", 0],
    ["expired_unfetched", counters.expired_unfetched],
    ["evicted_unfetched", counters.evicted_unfetched],
    ["evicted_active", 0],
    ["evictions", counters.evictions],
    ["reclaimed", counters.reclaimed],
    ["crawler_reclaimed", 0],
    ["crawler_items_checked", 0],
    ["lrutail_reflocked", 0],
    ["moves_to_cold", 0],
    ["moves_to_warm", 0],
    ["moves_within_lru", 0],
    ["direct_reclaims", counters.evictions],
    ["lru_bumps_dropped", 0],
    ...snapshotLines(ctx),
  ];
  return lines.map(([k, v]) => [k, String(v)]);
}

/** With `-e` (our extension, after memcached's lines): the last successful snapshot, failures. */
function snapshotLines(ctx: CommandContext): [string, number | string][] {
  const s = ctx.snapshotStats?.();
  if (!s) return [];
  return [
    ["snapshot_in_progress", s.writing ? 1 : 0],
    ["snapshot_last_time", Math.floor(s.lastAt / 1000)],
    ["snapshot_last_duration", (s.lastDurationMs / 1000).toFixed(6)],
    ["snapshot_last_bytes", s.lastBytes],
    ["snapshot_last_items", s.lastItems],
    ["snapshot_failures", s.failures],
  ];
}
