import { Exposition, type HistogramSeries, type Sample } from "./exposition.ts";
import { BUCKET_BOUNDS_US, type LatencyHistogram } from "./latency_histogram.ts";

/** Connections of one protocol (binary, text), for `mbserver_*_connections`. */
export interface ProtocolConnections {
  protocol: string;
  /** Open now. */
  current: number;
  /** Accepted since start. */
  total: number;
}

/** Command durations: series `i` of `histogram` is command `commands[i]`. */
export interface CommandDurations {
  commands: readonly string[];
  histogram: LatencyHistogram;
}

/** What the page is built from. */
export interface MemcachedMetricsInput {
  /** The general `stats` lines, name to value, as memcached prints them. */
  stats: ReadonlyMap<string, string>;
  /** `maxconns` of `stats settings`. */
  maxConnections: number;
  /** Per-command latency, when recorded. */
  durations?: CommandDurations;
  /** Connections by protocol, when known. */
  connections?: readonly ProtocolConnections[];
  /** The process's memory (`Deno.memoryUsage()`), when known. */
  memory?: Deno.MemoryUsage;
}

type Kind = "counter" | "gauge";

/** Stats read one to one: stat name, metric name, type, help (memcached_exporter's). */
const DIRECT: readonly [string, string, Kind, string][] = [
  ["time", "memcached_time_seconds", "gauge", "current UNIX time according to the server."],
  [
    "bytes_read",
    "memcached_read_bytes_total",
    "counter",
    "Total number of bytes read by this server from network.",
  ],
  [
    "bytes_written",
    "memcached_written_bytes_total",
    "counter",
    "Total number of bytes sent by this server to network.",
  ],
  [
    "curr_connections",
    "memcached_current_connections",
    "gauge",
    "Current number of open connections.",
  ],
  [
    "total_connections",
    "memcached_connections_total",
    "counter",
    "Total number of connections opened since the server started running.",
  ],
  [
    "rejected_connections",
    "memcached_connections_rejected_total",
    "counter",
    "Total number of connections rejected due to hitting the memcached's -c limit in maxconns_fast mode.",
  ],
  [
    "conn_yields",
    "memcached_connections_yielded_total",
    "counter",
    "Total number of connections yielded running due to hitting the memcached's -R limit.",
  ],
  [
    "listen_disabled_num",
    "memcached_connections_listener_disabled_total",
    "counter",
    "Number of times that memcached has hit its connections limit and disabled its listener.",
  ],
  ["bytes", "memcached_current_bytes", "gauge", "Current number of bytes used to store items."],
  [
    "limit_maxbytes",
    "memcached_limit_bytes",
    "gauge",
    "Number of bytes this server is allowed to use for storage.",
  ],
  [
    "curr_items",
    "memcached_current_items",
    "gauge",
    "Current number of items stored by this instance.",
  ],
  [
    "total_items",
    "memcached_items_total",
    "counter",
    "Total number of items stored during the life of this instance.",
  ],
  [
    "evictions",
    "memcached_items_evicted_total",
    "counter",
    "Total number of valid items removed from cache to free memory for new items.",
  ],
  [
    "reclaimed",
    "memcached_items_reclaimed_total",
    "counter",
    "Total number of times an entry was stored using memory from an expired entry.",
  ],
  [
    "store_too_large",
    "memcached_item_too_large_total",
    "counter",
    "The number of times an item exceeded the max-item-size when being stored.",
  ],
  [
    "store_no_memory",
    "memcached_item_no_memory_total",
    "counter",
    "The number of times an item could not be stored due to no more memory.",
  ],
  [
    "accepting_conns",
    "memcached_accepting_connections",
    "gauge",
    "The Memcached server is currently accepting new connections.",
  ],
];

/** Stats of the form `seconds.microseconds`, as memcached prints rusage. */
const TIMEVAL: readonly [string, string, string][] = [
  [
    "rusage_user",
    "memcached_process_user_cpu_seconds_total",
    "Accumulated user time for this process.",
  ],
  [
    "rusage_system",
    "memcached_process_system_cpu_seconds_total",
    "Accumulated system time for this process.",
  ],
];

/** With `-e`: the snapshot lines of `stats`, as mbserver's own metrics. */
const SNAPSHOT: readonly [string, string, Kind, string][] = [
  [
    "snapshot_in_progress",
    "mbserver_snapshot_in_progress",
    "gauge",
    "Whether a snapshot (-e) is being written now.",
  ],
  [
    "snapshot_last_time",
    "mbserver_snapshot_last_success_timestamp_seconds",
    "gauge",
    "When the last successful snapshot ended, Unix time; 0 before the first.",
  ],
  [
    "snapshot_last_duration",
    "mbserver_snapshot_last_duration_seconds",
    "gauge",
    "How long the last successful snapshot took.",
  ],
  [
    "snapshot_last_bytes",
    "mbserver_snapshot_last_size_bytes",
    "gauge",
    "Size of the last successful snapshot's file.",
  ],
  [
    "snapshot_last_items",
    "mbserver_snapshot_last_items",
    "gauge",
    "Items in the last successful snapshot.",
  ],
  [
    "snapshot_failures",
    "mbserver_snapshot_failures_total",
    "counter",
    "Snapshots that failed since the start (the previous file was kept).",
  ],
];

/** Commands counted as `<op>_hits` and `<op>_misses`, as memcached_exporter labels them. */
const HIT_MISS_COMMANDS = ["get", "delete", "incr", "decr", "cas", "touch"];

/**
 * The Prometheus page for a memcached-compatible server, with
 * memcached_exporter's metric names, labels and help texts, built from the
 * general `stats` (so it reads the same for memcached's own stats), plus
 * mbserver's own: `mbserver_command_duration_seconds{command}`,
 * connections by protocol, and with `-e` the snapshot figures
 * (`mbserver_snapshot_*`). Differences from the exporter, so that the page
 * passes `promtool check metrics`: `memcached_uptime_seconds` is a gauge (a
 * counter must end in `_total`), and the per-slab families are left out.
 *
 * @example Usage
 * ```ts
 * import { memcachedMetrics } from "./memcached_metrics.ts";
 * import assert from "node:assert/strict";
 *
 * const page = memcachedMetrics({
 *   stats: new Map([["get_hits", "3"], ["get_misses", "1"]]),
 *   maxConnections: 1024,
 * });
 * assert.match(page, /^memcached_commands_total\{command="get",status="hit"\} 3$/m);
 * ```
 */
export function memcachedMetrics(input: MemcachedMetricsInput): string {
  const { stats } = input;
  const page = new Exposition();
  const number = (name: string): number | undefined => {
    const text = stats.get(name);
    return text === undefined ? undefined : Number(text);
  };
  page.gauge("memcached_up", "Could the memcached server be reached.", 1);
  const uptime = number("uptime");
  if (uptime !== undefined) {
    page.gauge("memcached_uptime_seconds", "Number of seconds since the server started.", uptime);
  }
  const version = stats.get("version");
  if (version !== undefined) {
    page.gauge("memcached_version", "The version of this memcached server.", [
      { labels: { version }, value: 1 },
    ]);
  }
  for (const [stat, metric, help] of TIMEVAL) {
    const value = number(stat);
    if (value !== undefined) page.counter(metric, help, value);
  }
  page.gauge(
    "memcached_max_connections",
    "Maximum number of clients allowed.",
    input.maxConnections,
  );
  page.counter(
    "memcached_commands_total",
    "Total number of all requests broken down by command (get, set, etc.) and status.",
    commandSamples(number),
  );
  for (const [stat, metric, kind, help] of [...DIRECT, ...SNAPSHOT]) {
    const value = number(stat);
    if (value === undefined) continue;
    if (kind === "counter") page.counter(metric, help, value);
    else page.gauge(metric, help, value);
  }
  if (input.connections) addConnections(page, input.connections);
  if (input.memory) addMemory(page, input.memory);
  if (input.durations) addDurations(page, input.durations);
  return page.text();
}

/** memcached_exporter's `commands_total` samples, in its order. */
function commandSamples(number: (name: string) => number | undefined): Sample[] {
  const samples: Sample[] = [];
  const add = (stat: string, command: string, status: string) => {
    const value = number(stat);
    if (value !== undefined) samples.push({ labels: { command, status }, value });
  };
  for (const op of HIT_MISS_COMMANDS) {
    add(`${op}_hits`, op, "hit");
    add(`${op}_misses`, op, "miss");
  }
  add("cas_badval", "cas", "badval");
  add("cmd_flush", "flush", "hit");
  // memcached counts cas commands in cmd_set too; the exporter takes them out.
  const set = number("cmd_set");
  const cas = ["cas_misses", "cas_hits", "cas_badval"].map(number);
  if (set !== undefined && cas.every((n) => n !== undefined)) {
    const casTotal = cas.reduce((a, b) => a! + b!, 0)!;
    samples.push({ labels: { command: "set", status: "hit" }, value: set - casTotal });
  }
  return samples;
}

function addConnections(page: Exposition, connections: readonly ProtocolConnections[]): void {
  page.gauge(
    "mbserver_current_connections",
    "Open client connections by protocol (text includes meta).",
    connections.map((c) => ({ labels: { protocol: c.protocol }, value: c.current })),
  );
  page.counter(
    "mbserver_connections_total",
    "Client connections accepted since start by protocol.",
    connections.map((c) => ({ labels: { protocol: c.protocol }, value: c.total })),
  );
}

function addMemory(page: Exposition, memory: Deno.MemoryUsage): void {
  page.gauge("process_resident_memory_bytes", "Resident memory size in bytes.", memory.rss);
  page.gauge(
    "mbserver_js_heap_used_bytes",
    "JavaScript heap in use, in bytes (items live outside it).",
    memory.heapUsed,
  );
  page.gauge(
    "mbserver_js_heap_total_bytes",
    "JavaScript heap reserved, in bytes.",
    memory.heapTotal,
  );
  page.gauge(
    "mbserver_external_memory_bytes",
    "Memory of buffers outside the JavaScript heap (item memory among them), in bytes.",
    memory.external,
  );
}

function addDurations(page: Exposition, durations: CommandDurations): void {
  const bounds = BUCKET_BOUNDS_US.map((us) => us / 1e6);
  const series: HistogramSeries[] = durations.commands.map((command, i) => {
    const snapshot = durations.histogram.snapshot(i);
    return { labels: { command }, bounds, buckets: snapshot.buckets, sum: snapshot.sum / 1e6 };
  });
  page.histogram(
    "mbserver_command_duration_seconds",
    "Time from a request decoded to its reply handed to the writer, by command.",
    series,
  );
}
