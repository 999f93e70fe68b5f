import { type ServerOptions } from "./config.ts";
import { RwLock } from "./rw_lock.ts";
import { listenError, sweep } from "./server.ts";
import type { FromWorker, ToWorker } from "./server_worker.ts";
import { Stats } from "./stats.ts";
import { Store } from "./store/store.ts";

/** Milliseconds between sweeps of expired items. */
const SWEEP_INTERVAL_MS = 1000;

/** Options of {@linkcode ThreadedServer.start} beyond the server's own. */
export interface ThreadedServerOptions {
  /** The worker's code. @default {`./server_worker.ts`} */
  workerUrl?: URL;
}

/**
 * A server on several threads (memcached's `-t N`): N workers, each serving
 * its own connections on the same port (`reusePort`: the kernel spreads
 * connections over them), all over one {@linkcode Store} in shared memory
 * under one {@linkcode RwLock}, counting in one {@linkcode Stats}. This
 * thread only starts them, sweeps expired items, and stops them.
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
  #workers: Worker[];
  #port: number;
  #hostname: string;
  #log: (line: string) => void;
  #sweeper: ReturnType<typeof setInterval>;
  /** Publishes an injected clock to the workers (tests). */
  #clockTicker: ReturnType<typeof setInterval> | undefined;
  #clock: SharedArrayBuffer | undefined;
  /**
   * Keeps this thread's event loop alive while the server runs, as a
   * listener does for a one-thread server: workers do not.
   */
  #alive: ReturnType<typeof setInterval> = setInterval(() => {}, 1 << 30);
  #closing: Promise<void> | undefined;
  #finished: PromiseWithResolvers<void> = Promise.withResolvers();
  #closed: (() => void)[] = [];
  #failed = false;

  /** Starts the workers and resolves once every one of them listens. */
  static async start(
    options: ServerOptions,
    extra: ThreadedServerOptions = {},
  ): Promise<ThreadedServer> {
    const hostname = options.hostname ?? "127.0.0.1";
    const port = probe(hostname, options.port ?? 11211);
    const server = new ThreadedServer(options, { hostname, port });
    await server.#spawn(options, extra.workerUrl ?? new URL("./server_worker.ts", import.meta.url));
    return server;
  }

  private constructor(options: ServerOptions, address: { hostname: string; port: number }) {
    const now = Math.floor(Date.now() / 1000);
    this.threads = Math.max(1, options.threads ?? 1);
    this.#hostname = address.hostname;
    this.#port = address.port;
    this.#log = options.log ?? ((line) => console.error(line));
    this.store = Store.create({
      now,
      memoryLimit: (options.memoryLimitMiB ?? 64) * 1024 * 1024,
      maxItemSize: options.maxItemSize ?? 1024 * 1024,
      evict: !options.noEvict,
    });
    this.lock = new RwLock();
    // This thread counts nothing; it reads the totals through the first block.
    this.stats = new Stats({ buffer: Stats.allocate({ workers: this.threads, startedAt: now }) });
    this.#workers = [];
    const clock = options.clock;
    if (clock) {
      // A function cannot cross to a worker: its time is published in shared memory.
      this.#clock = new SharedArrayBuffer(8);
      const time = new Float64Array(this.#clock);
      time[0] = clock();
      this.#clockTicker = setInterval(() => time[0] = clock(), 1);
    }
    this.#sweeper = setInterval(() => sweep(this, clock ?? Date.now), SWEEP_INTERVAL_MS);
    Deno.unrefTimer(this.#sweeper as unknown as number);
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
    this.#finished.resolve();
  }

  async #spawn(options: ServerOptions, workerUrl: URL): Promise<void> {
    const { log: _log, clock: _clock, ...plain } = options;
    // No polling: a worker that waits for the lock has a whole event loop of
    // other connections, and under load polling only takes the core from
    // the holder (measured: slower at any polling time).
    const spinMicros = 0;
    const listening: Promise<void>[] = [];
    for (let i = 0; i < this.threads; i++) {
      const worker = new Worker(workerUrl.href, { type: "module", name: `mbserver worker ${i}` });
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
          },
        } satisfies ToWorker,
      );
    }
    try {
      await Promise.all(listening);
    } catch (err) {
      this.#stop();
      throw err;
    }
  }

  /** A worker failed: the store may be half changed, so everything stops. */
  #fail(error: Error): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#log(error.message);
    this.#stop();
    this.#finished.reject(error);
  }

  #stop(): void {
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
