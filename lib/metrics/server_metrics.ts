import type { CommandContext } from "../command_context.ts";
import { generalReport } from "../reports/general_report.ts";
import { COMMAND_NAMES } from "./command_series.ts";
import { LatencyHistogram } from "./latency_histogram.ts";
import { memcachedMetrics } from "./memcached_metrics.ts";
import { MetricsEndpoint } from "./metrics_endpoint.ts";

/** Options of {@linkcode ServerMetrics}. */
export interface ServerMetricsOptions {
  /** Address to serve on (the server's `-l`). */
  hostname: string;
  /** Port; 0 picks a free one. */
  port: number;
  /** The server's command context: its stats, store and settings. */
  context: CommandContext;
  /**
   * Where the dispatchers record durations: one histogram per worker of a
   * server with several (in shared memory), summed for the page.
   * @default {one histogram of its own}
   */
  workerDurations?: LatencyHistogram[];
}

/**
 * A server's Prometheus metrics (`-o metrics_port=N`): the command duration
 * histogram the dispatchers record into, and the endpoint serving the page
 * built from the same figures as `stats`, in memcached_exporter's names.
 *
 * @example Usage
 * ```ts
 * import { CommandContext } from "../command_context.ts";
 * import { ServerMetrics } from "./server_metrics.ts";
 * import assert from "node:assert/strict";
 *
 * const metrics = new ServerMetrics({
 *   hostname: "127.0.0.1",
 *   port: 0,
 *   context: new CommandContext(),
 * });
 * const res = await fetch(`http://127.0.0.1:${metrics.port}/metrics`);
 * assert.match(await res.text(), /^memcached_up 1$/m);
 * await metrics.close();
 * ```
 */
export class ServerMetrics {
  /** Per-command durations; give it to each connection's dispatcher (in one thread). */
  readonly durations: LatencyHistogram;
  readonly #all: LatencyHistogram[];
  readonly #endpoint: MetricsEndpoint;
  readonly #context: CommandContext;

  constructor(options: ServerMetricsOptions) {
    this.#context = options.context;
    this.#all = options.workerDurations ?? [new LatencyHistogram({ series: COMMAND_NAMES.length })];
    this.durations = this.#all[0];
    this.#endpoint = new MetricsEndpoint({
      hostname: options.hostname,
      port: options.port,
      render: () => this.render(),
    });
  }

  /** The port the endpoint listens on. */
  get port(): number {
    return this.#endpoint.port;
  }

  /** The page as `/metrics` serves it now. */
  render(): string {
    const ctx = this.#context;
    const { protocols } = ctx.stats;
    return memcachedMetrics({
      stats: new Map(generalReport(ctx)),
      maxConnections: ctx.settings.maxConnections,
      durations: { commands: COMMAND_NAMES, histogram: this.#histogram() },
      connections: [
        { protocol: "binary", ...protocols.binary },
        { protocol: "text", ...protocols.text },
      ],
      memory: Deno.memoryUsage(),
    });
  }

  /** The durations over every worker. */
  #histogram(): LatencyHistogram {
    if (this.#all.length === 1) return this.durations;
    const sum = new LatencyHistogram({ series: COMMAND_NAMES.length });
    for (const histogram of this.#all) sum.add(histogram);
    return sum;
  }

  /** Stops the endpoint. */
  close(): Promise<void> {
    return this.#endpoint.close();
  }
}
