import assert from "node:assert/strict";
import { Exposition } from "../../lib/metrics/exposition.ts";
import { BUCKET_BOUNDS_US, LatencyHistogram } from "../../lib/metrics/latency_histogram.ts";
import { PROMTOOL, testWithTools } from "../_support/tools.ts";
import { promtoolCheck } from "./_promtool.ts";

Deno.test("Exposition writes HELP and TYPE, then labelled samples", () => {
  const page = new Exposition();
  page.counter("x_total", "Things.", [
    { labels: { a: "1", b: "two" }, value: 3 },
    { labels: { a: "2", b: "three" }, value: 0 },
  ]);
  page.gauge("y", "A gauge.", 1.5);
  assert.equal(
    page.text(),
    "# HELP x_total Things.\n# TYPE x_total counter\n" +
      'x_total{a="1",b="two"} 3\nx_total{a="2",b="three"} 0\n' +
      "# HELP y A gauge.\n# TYPE y gauge\ny 1.5\n",
  );
});

Deno.test("Exposition escapes label values and help text", () => {
  const page = new Exposition();
  page.gauge("v", 'Help with \\ and\nnewline and "quotes".', [
    { labels: { version: 'a"b\\c\nd' }, value: 1 },
  ]);
  assert.equal(
    page.text(),
    '# HELP v Help with \\\\ and\\nnewline and "quotes".\n# TYPE v gauge\n' +
      'v{version="a\\"b\\\\c\\nd"} 1\n',
  );
});

Deno.test("Exposition spells special numbers as the format does", () => {
  const page = new Exposition();
  page.gauge("g", "h", [
    { labels: { k: "inf" }, value: Infinity },
    { labels: { k: "-inf" }, value: -Infinity },
    { labels: { k: "nan" }, value: NaN },
    { labels: { k: "small" }, value: 1e-7 },
  ]);
  assert.match(page.text(), /^g\{k="inf"\} \+Inf$/m);
  assert.match(page.text(), /^g\{k="-inf"\} -Inf$/m);
  assert.match(page.text(), /^g\{k="nan"\} NaN$/m);
  assert.match(page.text(), /^g\{k="small"\} 1e-7$/m);
});

Deno.test("Exposition writes histograms as cumulative buckets, +Inf, _sum and _count", () => {
  const page = new Exposition();
  page.histogram("h_seconds", "Latency.", [
    { labels: { command: "get" }, bounds: [0.001, 0.01], buckets: [2, 0, 1], sum: 0.5 },
  ]);
  assert.equal(
    page.text(),
    "# HELP h_seconds Latency.\n# TYPE h_seconds histogram\n" +
      'h_seconds_bucket{command="get",le="0.001"} 2\n' +
      'h_seconds_bucket{command="get",le="0.01"} 2\n' +
      'h_seconds_bucket{command="get",le="+Inf"} 3\n' +
      'h_seconds_sum{command="get"} 0.5\n' +
      'h_seconds_count{command="get"} 3\n',
  );
});

Deno.test("Exposition refuses bad names, repeated families and short bucket lists", () => {
  const page = new Exposition();
  assert.throws(() => page.gauge("1bad", "h", 1), /Invalid metric name: 1bad/);
  assert.throws(() => page.gauge("ok", "h", [{ labels: { "bad-label": "x" }, value: 1 }]), {
    message: "Invalid label name: bad-label",
  });
  page.gauge("twice", "h", 1);
  assert.throws(() => page.gauge("twice", "h", 1), /Metric twice was already added/);
  assert.throws(
    () => page.histogram("h", "h", [{ bounds: [1], buckets: [1], sum: 0 }]),
    /Histogram h needs 2 buckets, got 1/,
  );
});

testWithTools("Exposition pages with every kind of family pass promtool check metrics", [
  PROMTOOL,
], async () => {
  const histogram = new LatencyHistogram({ series: 2 });
  histogram.record(0, 3);
  histogram.record(1, 250_000);
  const page = new Exposition();
  page.counter("demo_requests_total", "Requests.", [
    { labels: { path: '/a"\\\n' }, value: 1 },
  ]);
  page.gauge("demo_items", "Items.", 7);
  page.histogram(
    "demo_duration_seconds",
    "Durations.",
    ["get", "set"].map((command, i) => {
      const s = histogram.snapshot(i);
      return {
        labels: { command },
        bounds: BUCKET_BOUNDS_US.map((us) => us / 1e6),
        buckets: s.buckets,
        sum: s.sum / 1e6,
      };
    }),
  );
  const result = await promtoolCheck(page.text());
  assert.deepEqual(result, { ok: true, output: "" });
});
