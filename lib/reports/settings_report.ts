import type { CommandContext } from "../command_context.ts";
import type { StatLine } from "./stat_line.ts";

/**
 * `stats settings`, every name memcached 1.6.18 prints, in its order. The
 * settings of machinery this server does not have (LRU crawler and
 * maintainer, slab automove, extstore, logging buffers) show memcached's
 * defaults, so tools that read them see what a default memcached reports.
 *
 * @example Usage
 * ```ts
 * import { CommandContext } from "../command_context.ts";
 * import { settingsReport } from "./settings_report.ts";
 * import assert from "node:assert/strict";
 *
 * const lines = settingsReport(new CommandContext());
 * assert.deepEqual(lines[0], ["maxbytes", "67108864"]);
 * assert.equal(lines.length, 76);
 * ```
 */
export function settingsReport(ctx: CommandContext): StatLine[] {
  const s = ctx.settings;
  const flushedBefore = ctx.store.flushedBefore;
  const lines: [string, number | string][] = [
    ["maxbytes", ctx.store.memoryLimit],
    ["maxconns", s.maxConnections],
    ["tcpport", s.port],
    ["udpport", 0],
    ["inter", s.hostname],
    ["verbosity", s.verbose],
    // memcached's oldest_live: server-relative seconds (its clock starts 2 s before start-up).
    ["oldest", flushedBefore === 0 ? 0 : flushedBefore - (ctx.stats.startedAt - 2)],
    ["evictions", s.evict ? "on" : "off"],
    ["domain_socket", "NULL"],
    ["umask", 700],
    ["shutdown_command", s.enableShutdown ? "yes" : "no"],
    ["growth_factor", s.growthFactor.toFixed(2)],
    ["chunk_size", s.minSpace],
    ["num_threads", ctx.stats.workers],
    ["num_threads_per_udp", ctx.stats.workers],
    ["stat_key_prefix", ctx.detail.delimiter],
    ["detail_enabled", ctx.detail.enabled ? "yes" : "no"],
    ["reqs_per_event", s.reqsPerEvent],
    ["cas_enabled", "yes"],
    ["tcp_backlog", s.listenBacklog],
    ["binding_protocol", "auto-negotiate"],
    ["auth_enabled_sasl", s.sasl ? "yes" : "no"],
    ["auth_enabled_ascii", s.authFile ?? "no"],
    ["item_size_max", s.maxItemSize],
    ["maxconns_fast", "yes"],
    ["hashpower_init", 0],
    ["slab_reassign", "yes"],
    ["slab_automove", 1],
    ["slab_automove_ratio", "0.80"],
    ["slab_automove_window", 30],
    ["slab_chunk_max", s.slabChunkMax],
    ["lru_crawler", "yes"],
    ["lru_crawler_sleep", 100],
    ["lru_crawler_tocrawl", 0],
    ["tail_repair_time", 0],
    ["flush_enabled", "yes"],
    ["dump_enabled", s.dumpEnabled ? "yes" : "no"],
    ["hash_algorithm", "murmur3"],
    ["lru_maintainer_thread", "yes"],
    ["lru_segmented", "yes"],
    ["hot_lru_pct", 20],
    ["warm_lru_pct", 40],
    ["hot_max_factor", "0.20"],
    ["warm_max_factor", "2.00"],
    ["temp_lru", "no"],
    ["temporary_ttl", 61],
    ["idle_timeout", s.idleTimeout],
    ["watcher_logbuf_size", 262144],
    ["worker_logbuf_size", 65536],
    ["read_buf_mem_limit", 0],
    ["track_sizes", "no"],
    ["inline_ascii_response", "no"],
    ["ext_item_size", 512],
    ["ext_item_age", 4294967295],
    ["ext_low_ttl", 0],
    ["ext_recache_rate", 2000],
    ["ext_wbuf_size", 4194304],
    ["ext_compact_under", 0],
    ["ext_drop_under", 0],
    ["ext_max_sleep", 1000000],
    ["ext_max_frag", "0.80"],
    ["slab_automove_freeratio", "0.010"],
    ["ext_drop_unread", "no"],
    ["ssl_enabled", s.tls ? "yes" : "no"],
    ["ssl_chain_cert", s.tls?.certFile ?? "(null)"],
    ["ssl_key", s.tls?.keyFile ?? "(null)"],
    ["ssl_verify_mode", 0],
    ["ssl_keyformat", 1],
    ["ssl_ciphers", "NULL"],
    ["ssl_ca_cert", "NULL"],
    ["ssl_wbuf_size", 16384],
    ["ssl_session_cache", "no"],
    ["ssl_kernel_tls", "no"],
    ["ssl_min_version", "tlsv1.2"],
    ["num_napi_ids", "(null)"],
    ["memory_file", "(null)"],
  ];
  return lines.map(([k, v]) => [k, String(v)]);
}
