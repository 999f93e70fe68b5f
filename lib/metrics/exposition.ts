/** Label names and values of one sample. */
export type Labels = Record<string, string>;

/** One value of a counter or gauge, with its labels. */
export interface Sample {
  /** Labels that tell this sample apart from the others of its family. @default {{}} */
  labels?: Labels;
  value: number;
}

/** One labelled series of a histogram. */
export interface HistogramSeries {
  /** Labels of the series (not `le`). @default {{}} */
  labels?: Labels;
  /** Upper bounds of the finite buckets, ascending, in the metric's unit. */
  bounds: readonly number[];
  /** Observations per bucket (not cumulative): one per bound, then the +Inf bucket. */
  buckets: readonly number[];
  /** Sum of all observations, in the metric's unit. */
  sum: number;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * Builds a page in the Prometheus text exposition format (version 0.0.4):
 * for each family a `# HELP` and a `# TYPE` line, then its samples; label
 * values escaped (`\\`, `"`, newline), histograms written as cumulative
 * `_bucket{le=...}` lines ending in `+Inf`, then `_sum` and `_count`.
 *
 * @example Usage
 * ```ts
 * import { Exposition } from "./exposition.ts";
 * import assert from "node:assert/strict";
 *
 * const page = new Exposition();
 * page.gauge("memcached_current_items", "Current number of items stored.", 2);
 * page.counter("memcached_commands_total", "Commands by command and status.", [
 *   { labels: { command: "get", status: "hit" }, value: 5 },
 * ]);
 * assert.equal(
 *   page.text(),
 *   "# HELP memcached_current_items Current number of items stored.\n" +
 *     "# TYPE memcached_current_items gauge\n" +
 *     "memcached_current_items 2\n" +
 *     "# HELP memcached_commands_total Commands by command and status.\n" +
 *     "# TYPE memcached_commands_total counter\n" +
 *     'memcached_commands_total{command="get",status="hit"} 5\n',
 * );
 * ```
 */
export class Exposition {
  #lines: string[] = [];
  #names = new Set<string>();

  /** Adds a counter family: one value, or labelled samples. */
  counter(name: string, help: string, samples: number | Sample[]): void {
    this.#family(name, help, "counter");
    this.#samples(name, samples);
  }

  /** Adds a gauge family: one value, or labelled samples. */
  gauge(name: string, help: string, samples: number | Sample[]): void {
    this.#family(name, help, "gauge");
    this.#samples(name, samples);
  }

  /** Adds a histogram family with one or more labelled series. */
  histogram(name: string, help: string, series: HistogramSeries[]): void {
    this.#family(name, help, "histogram");
    for (const s of series) {
      if (s.buckets.length !== s.bounds.length + 1) {
        throw new RangeError(
          `Histogram ${name} needs ${s.bounds.length + 1} buckets, got ${s.buckets.length}`,
        );
      }
      const labels = s.labels ?? {};
      let cumulative = 0;
      for (let i = 0; i <= s.bounds.length; i++) {
        cumulative += s.buckets[i];
        const le = i < s.bounds.length ? formatNumber(s.bounds[i]) : "+Inf";
        this.#lines.push(`${name}_bucket${formatLabels({ ...labels, le })} ${cumulative}`);
      }
      this.#lines.push(`${name}_sum${formatLabels(labels)} ${formatNumber(s.sum)}`);
      this.#lines.push(`${name}_count${formatLabels(labels)} ${cumulative}`);
    }
  }

  /** The page: every family added so far, each line ending in `\n`. */
  text(): string {
    return this.#lines.length === 0 ? "" : this.#lines.join("\n") + "\n";
  }

  #family(name: string, help: string, type: string): void {
    if (!METRIC_NAME.test(name)) throw new RangeError(`Invalid metric name: ${name}`);
    if (this.#names.has(name)) throw new RangeError(`Metric ${name} was already added`);
    this.#names.add(name);
    this.#lines.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`);
  }

  #samples(name: string, samples: number | Sample[]): void {
    if (typeof samples === "number") samples = [{ value: samples }];
    for (const s of samples) {
      this.#lines.push(`${name}${formatLabels(s.labels ?? {})} ${formatNumber(s.value)}`);
    }
  }
}

/** A number as the exposition format spells it (`+Inf`, `-Inf`, `NaN`, else decimal). */
function formatNumber(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

function formatLabels(labels: Labels): string {
  const names = Object.keys(labels);
  if (names.length === 0) return "";
  const parts = names.map((label) => {
    if (!LABEL_NAME.test(label)) throw new RangeError(`Invalid label name: ${label}`);
    return `${label}="${escapeLabelValue(labels[label])}"`;
  });
  return `{${parts.join(",")}}`;
}

function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function escapeHelp(help: string): string {
  return help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}
