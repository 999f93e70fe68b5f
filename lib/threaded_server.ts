import { CommandContext } from "./command_context.ts";
import { type ServerOptions } from "./config.ts";
import { COMMAND_NAMES } from "./metrics/command_series.ts";
import { LatencyHistogram } from "./metrics/latency_histogram.ts";
import { ServerMetrics } from "./metrics/server_metrics.ts";
import { ConnectionRoster } from "./connection_roster.ts";
import { PrefixStats } from "./prefix_stats.ts";
import { RwLock } from "./rw_lock.ts";
import {
  commandSettings,
  listenError,
  publishSnapshotFigures,
  storeOptions,
  sweep,
} from "./server.ts";
import type { FromWorker, ToWorker } from "./server_worker.ts";
import { SERVER_WORKER_SOURCE } from "./server_worker_bundle.ts";
import { Snapshotter } from "./snapshot/snapshotter.ts";
import { storeSnapshot } from "./snapshot/store_snapshot.ts";
import { Stats } from "./stats.ts";
import { Store } from "./store/store.ts";

/** Milliseconds between sweeps of expired items. */
const SWEEP_INTERVAL_MS = 1000;

/** Milliseconds between publications of the snapshot figures to the workers (`stats`). */
const FIGURES_INTERVAL_MS = 100;

/** Options of {@linkcode ThreadedServer.start} beyond the server's own. */
export interface ThreadedServerOptions {
  /**
   * The worker's code. By default the bundle of `./server_worker.ts`
   * (`deno task bundle`), started from a `blob:` URL: Deno asks read
   * permission for a worker's modules on disk, and a server with several
   * threads should need no more than `--allow-net`.
   */
  workerUrl?: URL;
}

/**
 * A server on several threads (memcached's `-t N`): N workers, each serving
 * its own connections on the same port (`reusePort`: the kernel spreads
 * connections over them), all over one {@linkcode Store} in shared memory
 * under one {@linkcode RwLock}, counting in one {@linkcode Stats}. This
 * thread starts them, sweeps expired items, restores and writes snapshots
 * (`memoryFile`), serves the metrics endpoint (`metricsPort`, over the
 * workers' counters and latency histograms), and stops them.
 *
 * The port is bound once without `reusePort` before the workers bind it, so
 * a port another server already serves is refused ("Address already in use")
 * rather than shared, and `port: 0` picks the one port every worker binds.
 * A worker that fails (an uncaught error) may hold the lock or have left the
 * store half changed: the server logs it, stops every worker and `finished`
 * rejects; nothing is restarted.
 *
 * @example Usage
 * ```ts ignore
 * const server = await ThreadedServer.start({ port: 0, threads: 2 });
 * console.log(server.port);
 * await server.close();
 * ```
 */
export class ThreadedServer {
  /** The item store every worker shares (attached in this thread). */
  readonly store: Store;
  /** Counters over every worker (`totals()`). */
  readonly stats: Stats;
  /** The store lock: hold it for writing to keep every worker out across `await`s. */
  readonly lock: RwLock;
  /** Number of workers. */
  readonly threads: number;
  /** Warm restarts (`memoryFile`): what was restored, snapshot figures. */
  readonly snapshotter: Snapshotter | undefined;
  #metrics: ServerMetrics | undefined;
  /** The workers' latency histograms, with a metrics endpoint. */
  #durations: SharedArrayBuffer | undefined;
  /** Snapshot figures for the workers' `stats`, with `memoryFile`. */
  #figures: SharedArrayBuffer | undefined;
  #figuresTicker: ReturnType<typeof setInterval> | undefined;
  #workers: Worker[];
  #port: number;
  #hostname: string;
  #log: (line: string) => void;
  #sweeper: ReturnType<typeof setInterval>;
  /** Publishes the time to the workers. */
  #clockTicker: ReturnType<typeof setInterval>;
  #clock: SharedArrayBuffer;
  /**
   * Keeps this thread's event loop alive while the server runs, as a
   * listener does for a one-thread server: workers do not.
   */
  #alive: ReturnType<typeof setInterval> = setInterval(() => {}, 1 << 30);
  #closing: Promise<void> | undefined;
  #finished: PromiseWithResolvers<void> = Promise.withResolvers();
  #closed: (() => void)[] = [];
  #failed = false;
  /** Ends a start still waiting for workers to listen. */
  #startFailed: ((error: Error) => void) | undefined;
  #verbose: number;

  /** Starts the workers and resolves once every one of them listens. */
  static async start(
    options: ServerOptions,
    extra: ThreadedServerOptions = {},
  ): Promise<ThreadedServer> {
    const hostname = options.hostname ?? "127.0.0.1";
    const port = probe(hostname, options.port ?? 11211);
    const threads = Math.max(1, options.threads ?? 1);
    const clock = options.clock ?? Date.now;
    const now = Math.floor(clock() / 1000);
    const store = Store.create(storeOptions(options, { now, workers: threads }));
    const lock = new RwLock();
    let snapshotter: Snapshotter | undefined;
    if (options.memoryFile !== undefined) {
      // Restored before any worker listens: no client sees a half-loaded cache.
      snapshotter = await Snapshotter.open({
        path: options.memoryFile,
        store: storeSnapshot(store, () => Math.floor(clock() / 1000)),
        share: async (fn) => {
          using _share = lock.tryRead() ?? await lock.read();
          return fn();
        },
        clock,
        intervalSeconds: options.snapshotInterval,
        log: options.log ?? ((line) => console.error(line)),
      });
    }
    let server: ThreadedServer;
    try {
      server = new ThreadedServer(options, { hostname, port, store, lock, snapshotter, now });
    } catch (err) {
      await snapshotter?.close({ snapshot: false });
      throw err;
    }
    try {
      await server.#spawn(options, extra.workerUrl);
    } catch (err) {
      await snapshotter?.close({ snapshot: false });
      throw err;
    }
    return server;
  }

  private constructor(
    options: ServerOptions,
    parts: {
      hostname: string;
      port: number;
      store: Store;
      lock: RwLock;
      snapshotter: Snapshotter | undefined;
      now: number;
    },
  ) {
    const now = parts.now;
    this.threads = Math.max(1, options.threads ?? 1);
    this.#hostname = parts.hostname;
    this.#port = parts.port;
    this.#log = options.log ?? ((line) => console.error(line));
    this.store = parts.store;
    this.lock = parts.lock;
    this.snapshotter = parts.snapshotter;
    this.#verbose = options.verbose ?? 0;
    // This thread counts nothing; it reads the totals through the first block.
    this.stats = new Stats({ buffer: Stats.allocate({ workers: this.threads, startedAt: now }) });
    this.#workers = [];
    // Every worker reads one clock, published here (an injected one too: a
    // function cannot cross to a worker). With a clock each, workers could
    // disagree about the second: an item stored just after a flush_all on
    // another worker could look older than the flush.
    const source = options.clock ?? Date.now;
    this.#clock = new SharedArrayBuffer(8);
    const time = new Float64Array(this.#clock);
    time[0] = source();
    this.#clockTicker = setInterval(() => time[0] = source(), options.clock ? 1 : 100);
    Deno.unrefTimer(this.#clockTicker as unknown as number);
    const clock = () => time[0];
    this.#sweeper = setInterval(() => sweep(this, clock), SWEEP_INTERVAL_MS);
    Deno.unrefTimer(this.#sweeper as unknown as number);
    if (this.snapshotter) {
      const snapshotter = this.snapshotter;
      const figures = this.#figures = new SharedArrayBuffer(8 * 8);
      publishSnapshotFigures(figures, snapshotter.stats);
      this.#figuresTicker = setInterval(
        () => publishSnapshotFigures(figures, snapshotter.stats),
        FIGURES_INTERVAL_MS,
      );
      Deno.unrefTimer(this.#figuresTicker as unknown as number);
    }
    if (options.metricsPort !== undefined) this.#serveMetrics(options, options.metricsPort);
    this.#finished.promise.catch(() => {}); // rejected only for `finished`'s readers
  }

  /** The bound port (the one picked for port 0). */
  get port(): number {
    return this.#port;
  }

  /** The bound address. */
  get hostname(): string {
    return this.#hostname;
  }

  /** The port of the metrics endpoint (`metricsPort`), if there is one. */
  get metricsPort(): number | undefined {
    return this.#metrics?.port;
  }

  /** Resolves when the server has closed; rejects when a worker failed. */
  get finished(): Promise<void> {
    return this.#finished.promise;
  }

  /**
   * Shuts every worker down gracefully (each answers what it already read,
   * as `Server.close` does) and resolves when all are done. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    clearInterval(this.#sweeper);
    clearInterval(this.#alive);
    clearInterval(this.#clockTicker);
    const closed = this.#workers.map((_, i) =>
      new Promise<void>((resolve) => this.#closed[i] = resolve)
    );
    for (const worker of this.#workers) worker.postMessage({ kind: "close" } satisfies ToWorker);
    await Promise.all(closed);
    for (const worker of this.#workers) worker.terminate();
    await this.#metrics?.close();
    clearInterval(this.#figuresTicker);
    // Nothing changes the store any more: the last snapshot.
    const snapshot = await this.snapshotter?.close();
    if (snapshot && (this.#verbose > 0)) {
      this.#log(
        `snapshot written: ${snapshot.items} items, ${snapshot.bytes} bytes in ` +
          `${Math.round(snapshot.durationMs)} ms`,
      );
    }
    this.#finished.resolve();
  }

  /** The metrics endpoint, in this thread, over the workers' counters and histograms. */
  #serveMetrics(options: ServerOptions, port: number): void {
    const bytes = LatencyHistogram.byteLength(COMMAND_NAMES.length);
    const durations = this.#durations = new SharedArrayBuffer(bytes * this.threads);
    const histograms = Array.from(
      { length: this.threads },
      (_, i) =>
        new LatencyHistogram({
          series: COMMAND_NAMES.length,
          buffer: durations,
          byteOffset: i * bytes,
        }),
    );
    const time = new Float64Array(this.#clock);
    const clock = () => time[0];
    const context = new CommandContext({
      store: this.store,
      stats: this.stats,
      settings: commandSettings(options, {
        transport: "tcp",
        hostname: this.#hostname,
        port: this.#port,
      }),
      log: this.#log,
      snapshotStats: this.snapshotter && (() => this.snapshotter!.stats),
      clock,
    });
    try {
      this.#metrics = new ServerMetrics({
        hostname: this.#hostname,
        port,
        context,
        workerDurations: histograms,
      });
    } catch (err) {
      this.#stop();
      throw new Error(
        `Cannot serve metrics on ${this.#hostname}:${port}: ${(err as Error).message}`,
      );
    }
  }

  async #spawn(options: ServerOptions, code: URL | undefined): Promise<void> {
    const workerUrl = code?.href ?? URL.createObjectURL(
      new Blob([SERVER_WORKER_SOURCE], { type: "text/javascript" }),
    );
    const { log: _log, clock: _clock, ...plain } = options;
    // No polling: a worker that waits for the lock has a whole event loop of
    // other connections, and under load polling only takes the core from
    // the holder (measured: slower at any polling time).
    const spinMicros = 0;
    const roster = ConnectionRoster.allocate({
      workers: this.threads,
      maxConnections: options.maxConnections ?? 1024,
    });
    const detail = PrefixStats.allocate({
      workers: this.threads,
      enabled: options.prefixDelimiter !== undefined,
    });
    const listening: Promise<void>[] = [];
    // A failure of any worker ends the start: those still starting are stopped, never listening.
    const failed = Promise.withResolvers<never>();
    this.#startFailed = failed.reject;
    for (let i = 0; i < this.threads; i++) {
      const worker = new Worker(workerUrl, { type: "module", name: `mbserver worker ${i}` });
      this.#workers.push(worker);
      const started = Promise.withResolvers<void>();
      listening.push(started.promise);
      worker.onmessage = (event: MessageEvent<FromWorker>) => {
        const message = event.data;
        switch (message.kind) {
          case "listening":
            return started.resolve();
          case "failed":
            return started.reject(new Error(message.message));
          case "crashed": {
            const error = new Error(`Worker ${i} failed: ${message.message}`);
            started.reject(error);
            return this.#fail(error);
          }
          case "log":
            return this.#log(message.line);
          case "shutdown":
            return void this.close();
          case "closed":
            return this.#closed[i]?.();
        }
      };
      worker.onerror = (event) => {
        event.preventDefault();
        const error = new Error(`Worker ${i} failed: ${event.message}`);
        started.reject(error);
        this.#fail(error);
      };
      worker.postMessage(
        {
          kind: "start",
          options: { ...plain, port: this.#port, hostname: this.#hostname },
          setup: {
            store: this.store.memory,
            lock: this.lock.buffer,
            stats: this.stats.buffer,
            worker: i,
            threads: this.threads,
            spinMicros,
            clock: this.#clock,
            durations: this.#durations,
            snapshotFigures: this.#figures,
            roster,
            detail,
          },
        } satisfies ToWorker,
      );
    }
    try {
      await Promise.race([Promise.all(listening), failed.promise]);
    } catch (err) {
      this.#stop();
      throw err;
    } finally {
      this.#startFailed = undefined;
      if (code === undefined) URL.revokeObjectURL(workerUrl);
    }
  }

  /** A worker failed: the store may be half changed, so everything stops. */
  #fail(error: Error): void {
    this.#startFailed?.(error);
    if (this.#failed) return;
    this.#failed = true;
    this.#log(error.message);
    this.#stop();
    this.#finished.reject(error);
  }

  #stop(): void {
    clearInterval(this.#figuresTicker);
    void this.#metrics?.close();
    clearInterval(this.#sweeper);
    clearInterval(this.#alive);
    clearInterval(this.#clockTicker);
    for (const worker of this.#workers) worker.terminate();
    for (const resolve of this.#closed) resolve?.();
  }
}

/**
 * Binds `hostname:port` once without `reusePort` and lets it go: a port in
 * use is refused here, and port 0 becomes the free port the workers bind.
 */
function probe(hostname: string, port: number): number {
  try {
    const listener = Deno.listen({ hostname, port, transport: "tcp" });
    const bound = (listener.addr as Deno.NetAddr).port;
    listener.close();
    return bound;
  } catch (err) {
    throw listenError(err, hostname, port);
  }
}
