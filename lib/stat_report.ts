import type { CommandContext } from "./command_context.ts";

/** One `STAT name value` line. */
export type StatLine = [name: string, value: string];

/**
 * The lines of `stats` (group `""`) or `stats <group>`, in memcached's order;
 * `undefined` for a group that does not exist. `reset` clears the counters
 * and returns no lines.
 *
 * @example Usage
 * ```ts ignore
 * const lines = statReport(ctx, "settings");
 * ```
 */
export function statReport(ctx: CommandContext, group: string): StatLine[] | undefined {
  switch (group) {
    case "":
      return general(ctx);
    case "settings":
      return settings(ctx);
    case "items":
      return items(ctx);
    case "slabs":
      return slabs(ctx);
    case "sizes":
      return sizes(ctx);
    case "conns":
      return [];
    case "reset":
      ctx.stats.reset();
      return [];
    default:
      return undefined;
  }
}

function general(ctx: CommandContext): StatLine[] {
  const { stats, store, settings } = ctx;
  const c = stats.c;
  const now = Math.floor(Date.now() / 1000);
  const usage = typeof Deno !== "undefined" ? Deno.memoryUsage() : undefined;
  const lines: [string, number | string][] = [
    ["pid", typeof Deno !== "undefined" ? Deno.pid : 0],
    ["uptime", now - stats.startedAt],
    ["time", now],
    ["version", settings.version],
    ["libevent", "deno"],
    ["pointer_size", 64],
    ["rusage_user", "0.000000"],
    ["rusage_system", "0.000000"],
    ["max_connections", settings.maxConnections],
    ["curr_connections", c.curr_connections],
    ["total_connections", c.total_connections],
    ["rejected_connections", c.rejected_connections],
    ["connection_structures", c.connection_structures],
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
    ["idle_kicks", c.idle_kicks],
    ["bytes_read", c.bytes_read],
    ["bytes_written", c.bytes_written],
    ["limit_maxbytes", store.memoryLimit],
    ["accepting_conns", c.accepting_conns],
    ["listen_disabled_num", c.listen_disabled_num],
    ["time_in_listen_disabled_us", c.time_in_listen_disabled_us],
    ["threads", 1],
    ["rss_bytes", usage ? usage.rss : 0],
    ["js_heap_used_bytes", usage ? usage.heapUsed : 0],
    ["js_heap_total_bytes", usage ? usage.heapTotal : 0],
    ["external_bytes", usage ? usage.external : 0],
    ["bytes", store.bytes],
    ["curr_items", store.size],
    ["total_items", store.counters.total_items],
    ["expired_unfetched", store.counters.expired_unfetched],
    ["evicted_unfetched", store.counters.evicted_unfetched],
    ["evictions", store.counters.evictions],
    ["reclaimed", store.counters.reclaimed],
  ];
  return lines.map(([k, v]) => [k, String(v)]);
}

function settings(ctx: CommandContext): StatLine[] {
  const s = ctx.settings;
  const lines: [string, number | string][] = [
    ["maxbytes", ctx.store.memoryLimit],
    ["maxconns", s.maxConnections],
    ["tcpport", s.port],
    ["udpport", 0],
    ["inter", s.hostname],
    ["verbosity", s.verbose],
    ["oldest", 0],
    ["evictions", s.evict ? "on" : "off"],
    ["domain_socket", "NULL"],
    ["umask", 700],
    ["growth_factor", "1.25"],
    ["chunk_size", 48],
    ["num_threads", 1],
    ["stat_key_prefix", ":"],
    ["detail_enabled", "no"],
    ["reqs_per_event", 20],
    ["cas_enabled", "yes"],
    ["tcp_backlog", s.listenBacklog],
    ["binding_protocol", "auto-negotiate"],
    ["auth_enabled_sasl", s.sasl ? "yes" : "no"],
    ["item_size_max", s.maxItemSize],
    ["maxconns_fast", "yes"],
    ["flush_enabled", "yes"],
    ["idle_timeout", s.idleTimeout],
  ];
  return lines.map(([k, v]) => [k, String(v)]);
}

function items(ctx: CommandContext): StatLine[] {
  const n = ctx.store.size;
  if (n === 0) return [];
  const now = ctx.store.now();
  let oldest = now;
  for (const [, item] of ctx.store.entries()) {
    oldest = item.time;
    break;
  }
  return [
    ["items:1:number", String(n)],
    ["items:1:age", String(now - oldest)],
    ["items:1:evicted", String(ctx.store.counters.evictions)],
    ["items:1:reclaimed", String(ctx.store.counters.reclaimed)],
  ];
}

function slabs(ctx: CommandContext): StatLine[] {
  return [
    ["1:used_chunks", String(ctx.store.size)],
    ["1:mem_requested", String(ctx.store.bytes)],
    ["active_slabs", ctx.store.size > 0 ? "1" : "0"],
    ["total_malloced", String(ctx.store.bytes)],
  ];
}

function sizes(_ctx: CommandContext): StatLine[] {
  return [["sizes_status", "disabled"]];
}
