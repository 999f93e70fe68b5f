/**
 * A real Prometheus scrapes the metrics endpoint and its query API returns
 * the values the page had.
 */
import assert from "node:assert/strict";
import { MetricsEndpoint } from "../../lib/metrics/metrics_endpoint.ts";
import { memcachedMetrics } from "../../lib/metrics/memcached_metrics.ts";
import { startPrometheus } from "../_support/prometheus.ts";
import { PROMETHEUS, testWithTools } from "../_support/tools.ts";

testWithTools("Prometheus scrapes MetricsEndpoint and sees the values it served", [
  PROMETHEUS,
], async () => {
  const stats = new Map([["curr_items", "3"], ["get_hits", "5"], ["get_misses", "2"]]);
  const endpoint = new MetricsEndpoint({
    hostname: "127.0.0.1",
    port: 0,
    render: () => memcachedMetrics({ stats, maxConnections: 1024 }),
  });
  try {
    await using prometheus = await startPrometheus([`127.0.0.1:${endpoint.port}`]);
    await prometheus.waitFor("memcached_current_items", "3");
    await prometheus.waitFor('memcached_commands_total{command="get",status="miss"}', "2");
    stats.set("curr_items", "4");
    await prometheus.waitFor("memcached_current_items", "4");
    const up = await prometheus.query('up{job="mbserver"}');
    assert.equal(up[0].value, "1");
  } finally {
    await endpoint.close();
  }
});
