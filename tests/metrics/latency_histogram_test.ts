import assert from "node:assert/strict";
import { BUCKET_BOUNDS_US, LatencyHistogram } from "../../lib/metrics/latency_histogram.ts";

Deno.test("LatencyHistogram buckets run from 1 µs to 100 ms", () => {
  assert.equal(BUCKET_BOUNDS_US[0], 1);
  assert.equal(BUCKET_BOUNDS_US.at(-1), 100_000);
});

Deno.test("LatencyHistogram puts each value in the first bucket whose bound holds it", () => {
  const h = new LatencyHistogram({ series: 1 });
  for (const us of [0, 0.5, 1, 1.0001, 2, 99, 100, 100.5, 100_000, 100_001, 5e6]) h.record(0, us);
  const s = h.snapshot(0);
  const at = (bound: number) => s.buckets[BUCKET_BOUNDS_US.indexOf(bound)];
  assert.equal(at(1), 3); // 0, 0.5, 1
  assert.equal(at(2), 2); // 1.0001, 2
  assert.equal(at(100), 2); // 99, 100
  assert.equal(at(200), 1); // 100.5
  assert.equal(at(100_000), 1);
  assert.equal(s.buckets.at(-1), 2); // +Inf: 100_001, 5e6
  assert.equal(s.count, 11);
  assert.equal(s.sum, 0 + 0.5 + 1 + 1.0001 + 2 + 99 + 100 + 100.5 + 100_000 + 100_001 + 5e6);
});

Deno.test("LatencyHistogram keeps series apart", () => {
  const h = new LatencyHistogram({ series: 3 });
  h.record(0, 1);
  h.record(2, 1);
  h.record(2, 1);
  assert.deepEqual([0, 1, 2].map((i) => h.snapshot(i).count), [1, 0, 2]);
});

Deno.test("LatencyHistogram blocks in one SharedArrayBuffer add up", () => {
  const series = 4;
  const bytes = LatencyHistogram.byteLength(series);
  const shared = new SharedArrayBuffer(bytes * 2);
  const worker0 = new LatencyHistogram({ series, buffer: shared, byteOffset: 0 });
  const worker1 = new LatencyHistogram({ series, buffer: shared, byteOffset: bytes });
  worker0.record(3, 10);
  worker1.record(3, 10);
  worker1.record(3, 20_000);
  // Another view of the same memory sees what the workers wrote.
  const seen = new LatencyHistogram({ series, buffer: shared, byteOffset: bytes });
  assert.equal(seen.snapshot(3).count, 2);
  const total = new LatencyHistogram({ series });
  total.add(worker0);
  total.add(worker1);
  const s = total.snapshot(3);
  assert.equal(s.count, 3);
  assert.equal(s.sum, 20_020);
  assert.equal(s.buckets[BUCKET_BOUNDS_US.indexOf(10)], 2);
  assert.equal(s.buckets[BUCKET_BOUNDS_US.indexOf(20_000)], 1);
  assert.equal(worker0.snapshot(3).count, 1, "adding leaves the sources alone");
});

Deno.test("LatencyHistogram refuses to add a histogram of another shape", () => {
  const h = new LatencyHistogram({ series: 2 });
  assert.throws(
    () => h.add(new LatencyHistogram({ series: 3 })),
    /Cannot add a histogram of 3 series to one of 2/,
  );
  assert.deepEqual(h.snapshot(1), { buckets: new Array(17).fill(0), count: 0, sum: 0 });
});
