import assert from "node:assert/strict";
import { LatencyHistogram } from "../../lib/metrics/latency_histogram.ts";
import { memcachedMetrics } from "../../lib/metrics/memcached_metrics.ts";
import { startMemcached } from "../_support/memcached.ts";
import { RawClient } from "../_support/raw_client.ts";
import { statMap, textStats } from "../_support/stats.ts";
import { MEMCACHED, PROMTOOL, testWithTools } from "../_support/tools.ts";
import { promtoolCheck } from "./_promtool.ts";
import { samples } from "./_samples.ts";

const STATS = new Map([
  ["uptime", "42"],
  ["time", "1700000000"],
  ["version", "1.6.18"],
  ["rusage_user", "1.500000"],
  ["rusage_system", "0.250000"],
  ["curr_connections", "3"],
  ["total_connections", "10"],
  ["rejected_connections", "1"],
  ["cmd_get", "9"],
  ["cmd_set", "20"],
  ["cmd_flush", "2"],
  ["get_hits", "5"],
  ["get_misses", "4"],
  ["delete_misses", "1"],
  ["delete_hits", "2"],
  ["incr_misses", "3"],
  ["incr_hits", "4"],
  ["decr_misses", "5"],
  ["decr_hits", "6"],
  ["cas_misses", "1"],
  ["cas_hits", "2"],
  ["cas_badval", "3"],
  ["touch_hits", "7"],
  ["touch_misses", "8"],
  ["bytes_read", "1000"],
  ["bytes_written", "2000"],
  ["limit_maxbytes", "67108864"],
  ["bytes", "71"],
  ["curr_items", "1"],
  ["total_items", "6"],
  ["evictions", "0"],
  ["reclaimed", "11"],
]);

Deno.test("memcachedMetrics names and labels commands as memcached_exporter does", () => {
  const page = samples(memcachedMetrics({ stats: STATS, maxConnections: 1024 }));
  const commands = [...page].filter(([k]) => k.startsWith("memcached_commands_total"));
  assert.deepEqual(commands, [
    ['memcached_commands_total{command="get",status="hit"}', "5"],
    ['memcached_commands_total{command="get",status="miss"}', "4"],
    ['memcached_commands_total{command="delete",status="hit"}', "2"],
    ['memcached_commands_total{command="delete",status="miss"}', "1"],
    ['memcached_commands_total{command="incr",status="hit"}', "4"],
    ['memcached_commands_total{command="incr",status="miss"}', "3"],
    ['memcached_commands_total{command="decr",status="hit"}', "6"],
    ['memcached_commands_total{command="decr",status="miss"}', "5"],
    ['memcached_commands_total{command="cas",status="hit"}', "2"],
    ['memcached_commands_total{command="cas",status="miss"}', "1"],
    ['memcached_commands_total{command="touch",status="hit"}', "7"],
    ['memcached_commands_total{command="touch",status="miss"}', "8"],
    ['memcached_commands_total{command="cas",status="badval"}', "3"],
    ['memcached_commands_total{command="flush",status="hit"}', "2"],
    // cmd_set counts cas commands too; the exporter subtracts them.
    ['memcached_commands_total{command="set",status="hit"}', "14"],
  ]);
});

Deno.test("memcachedMetrics maps the general stats to memcached_exporter's names", () => {
  const page = samples(memcachedMetrics({ stats: STATS, maxConnections: 1024 }));
  const expect: [string, string][] = [
    ["memcached_up", "1"],
    ["memcached_uptime_seconds", "42"],
    ["memcached_time_seconds", "1700000000"],
    ['memcached_version{version="1.6.18"}', "1"],
    ["memcached_process_user_cpu_seconds_total", "1.5"],
    ["memcached_process_system_cpu_seconds_total", "0.25"],
    ["memcached_max_connections", "1024"],
    ["memcached_current_connections", "3"],
    ["memcached_connections_total", "10"],
    ["memcached_connections_rejected_total", "1"],
    ["memcached_read_bytes_total", "1000"],
    ["memcached_written_bytes_total", "2000"],
    ["memcached_current_bytes", "71"],
    ["memcached_limit_bytes", "67108864"],
    ["memcached_current_items", "1"],
    ["memcached_items_total", "6"],
    ["memcached_items_evicted_total", "0"],
    ["memcached_items_reclaimed_total", "11"],
  ];
  for (const [name, value] of expect) assert.equal(page.get(name), value, name);
});

Deno.test("memcachedMetrics adds command durations and connections by protocol", () => {
  const histogram = new LatencyHistogram({ series: 2 });
  histogram.record(0, 4);
  histogram.record(0, 30);
  histogram.record(1, 250_000);
  const page = samples(memcachedMetrics({
    stats: new Map(),
    maxConnections: 8,
    durations: { commands: ["get", "set"], histogram },
    connections: [
      { protocol: "binary", current: 1, total: 5 },
      { protocol: "text", current: 2, total: 3 },
    ],
  }));
  assert.equal(
    page.get('mbserver_command_duration_seconds_bucket{command="get",le="0.000001"}'),
    "0",
  );
  assert.equal(
    page.get('mbserver_command_duration_seconds_bucket{command="get",le="0.000005"}'),
    "1",
  );
  assert.equal(
    page.get('mbserver_command_duration_seconds_bucket{command="get",le="0.00005"}'),
    "2",
  );
  assert.equal(page.get('mbserver_command_duration_seconds_bucket{command="set",le="0.1"}'), "0");
  assert.equal(page.get('mbserver_command_duration_seconds_bucket{command="set",le="+Inf"}'), "1");
  assert.equal(page.get('mbserver_command_duration_seconds_sum{command="get"}'), "0.000034");
  assert.equal(page.get('mbserver_command_duration_seconds_count{command="set"}'), "1");
  assert.equal(page.get('mbserver_current_connections{protocol="text"}'), "2");
  assert.equal(page.get('mbserver_connections_total{protocol="binary"}'), "5");
});

testWithTools("memcachedMetrics over real memcached's stats passes promtool check metrics", [
  MEMCACHED,
  PROMTOOL,
], async () => {
  await using memcached = await startMemcached();
  await using client = await RawClient.connect(memcached.port);
  await client.send(
    "set a:1 5 0 3\r\nabc\r\nget a:1 a:2\r\ndelete a:9\r\ncas a:1 0 0 1 99\r\nx\r\n",
  );
  await client.readUntil("NOT_FOUND\r\nEXISTS\r\n");
  const stats = statMap(await textStats(client));
  const settings = statMap(await textStats(client, "stats settings"));
  const histogram = new LatencyHistogram({ series: 1 });
  histogram.record(0, 12);
  const text = memcachedMetrics({
    stats,
    maxConnections: Number(settings.get("maxconns")),
    durations: { commands: ["get"], histogram },
    connections: [{ protocol: "text", current: 1, total: 1 }],
  });
  assert.deepEqual(await promtoolCheck(text), { ok: true, output: "" });
  const page = samples(text);
  assert.equal(page.get('memcached_commands_total{command="get",status="hit"}'), "1");
  assert.equal(page.get('memcached_commands_total{command="get",status="miss"}'), "1");
  assert.equal(page.get('memcached_commands_total{command="delete",status="miss"}'), "1");
  assert.equal(page.get('memcached_commands_total{command="cas",status="badval"}'), "1");
  assert.equal(page.get('memcached_commands_total{command="set",status="hit"}'), "1");
  assert.equal(page.get("memcached_current_items"), "1");
  assert.equal(page.get("memcached_current_bytes"), "69");
  assert.equal(page.get("memcached_max_connections"), "1024");
  assert.equal(page.get('memcached_version{version="1.6.18"}'), "1");
});
