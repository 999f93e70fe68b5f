/**
 * Upper bounds of the buckets, in microseconds: 1 µs to 100 ms in 1-2-5
 * steps. A last bucket (+Inf) takes everything slower.
 */
export const BUCKET_BOUNDS_US: readonly number[] = [
  1,
  2,
  5,
  10,
  20,
  50,
  100,
  200,
  500,
  1_000,
  2_000,
  5_000,
  10_000,
  20_000,
  50_000,
  100_000,
];

/** Float64 slots per series: one count per bucket (+Inf last), then the sum. */
const SLOTS = BUCKET_BOUNDS_US.length + 2;
const SUM = SLOTS - 1;

/** Options of a {@linkcode LatencyHistogram}. */
export interface LatencyHistogramOptions {
  /** How many series (e.g. one per command) the histogram keeps. */
  series: number;
  /**
   * Memory to keep the counts in, e.g. a worker's block of a
   * `SharedArrayBuffer`; at least {@linkcode LatencyHistogram.byteLength}
   * bytes from `byteOffset`. @default {a new ArrayBuffer}
   */
  buffer?: ArrayBufferLike;
  /** Where the histogram starts in `buffer`, a multiple of 8. @default {0} */
  byteOffset?: number;
}

/** One series as read: counts per bucket (not cumulative), count and sum. */
export interface LatencySnapshot {
  /** Observations per bucket, in the order of `BUCKET_BOUNDS_US`, +Inf last. */
  buckets: number[];
  /** Observations in all. */
  count: number;
  /** Sum of the observations, in microseconds. */
  sum: number;
}

/**
 * Latency histograms for the hot path: `record` is a few comparisons and two
 * additions into a `Float64Array` (whole counts, exact up to 2^53), with no
 * allocation. The counts live in one flat block of memory, so a worker can
 * keep its own histogram in its part of a `SharedArrayBuffer` (one writer per
 * block) and a reader can {@linkcode LatencyHistogram.add} the blocks together.
 *
 * @example Usage
 * ```ts
 * import { LatencyHistogram } from "./latency_histogram.ts";
 * import assert from "node:assert/strict";
 *
 * const histogram = new LatencyHistogram({ series: 2 });
 * histogram.record(0, 3);   // 3 µs
 * histogram.record(0, 700); // 0.7 ms
 * const get = histogram.snapshot(0);
 * assert.equal(get.count, 2);
 * assert.equal(get.sum, 703);
 * assert.equal(get.buckets[2], 1); // ≤ 5 µs
 * assert.equal(get.buckets[9], 1); // ≤ 1 ms
 * ```
 */
export class LatencyHistogram {
  readonly #data: Float64Array;
  readonly #series: number;

  /** Bytes a histogram of `series` series occupies in a buffer. */
  static byteLength(series: number): number {
    return series * SLOTS * Float64Array.BYTES_PER_ELEMENT;
  }

  constructor(options: LatencyHistogramOptions) {
    this.#series = options.series;
    const length = options.series * SLOTS;
    this.#data = options.buffer
      ? new Float64Array(options.buffer, options.byteOffset ?? 0, length)
      : new Float64Array(length);
  }

  /** Counts one observation of `micros` microseconds in `series`. */
  record(series: number, micros: number): void {
    let bucket = 0;
    while (bucket < BUCKET_BOUNDS_US.length && micros > BUCKET_BOUNDS_US[bucket]) bucket++;
    const base = series * SLOTS;
    this.#data[base + bucket]++;
    this.#data[base + SUM] += micros;
  }

  /** Reads one series. */
  snapshot(series: number): LatencySnapshot {
    const base = series * SLOTS;
    const buckets = Array.from(this.#data.subarray(base, base + SUM));
    return {
      buckets,
      count: buckets.reduce((a, b) => a + b, 0),
      sum: this.#data[base + SUM],
    };
  }

  /** Adds `other`'s counts and sums into this one (same number of series). */
  add(other: LatencyHistogram): void {
    if (other.#series !== this.#series) {
      throw new RangeError(
        `Cannot add a histogram of ${other.#series} series to one of ${this.#series}`,
      );
    }
    for (let i = 0; i < this.#data.length; i++) this.#data[i] += other.#data[i];
  }
}
