import { AcceptLoop } from "./accept_loop.ts";
import { AuthFile } from "./auth_file.ts";
import { CoarseClock } from "./coarse_clock.ts";
import { CommandContext, type CommandSettings, type SnapshotFigures } from "./command_context.ts";
import { hostPort, type ServerOptions, VERSION } from "./config.ts";
import { Connection, type ConnectionShared } from "./connection.ts";
import { ConnectionLimits } from "./connection_limits.ts";
import { ConnectionRoster } from "./connection_roster.ts";
import { ConnectionSet } from "./connection_set.ts";
import { MemoryReclaimer } from "./memory_reclaimer.ts";
import { COMMAND_NAMES } from "./metrics/command_series.ts";
import { LatencyHistogram } from "./metrics/latency_histogram.ts";
import { ServerMetrics } from "./metrics/server_metrics.ts";
import { PrefixStats, type PrefixStatsMemory } from "./prefix_stats.ts";
import { RwLock } from "./rw_lock.ts";
import type { SlabClassesOptions } from "./slab_classes.ts";
import { Snapshotter } from "./snapshot/snapshotter.ts";
import { storeSnapshot } from "./snapshot/store_snapshot.ts";
import { Stats } from "./stats.ts";
import { Store, type StoreMemory } from "./store/store.ts";

/** What a server is built on; {@linkcode Server.start} prepares them. */
export interface ServerParts {
  store: Store;
  lock: RwLock;
  stats: Stats;
  /** The clock the store reads. */
  clock: () => number;
  /** The clock to stop on close, when the server made one. */
  coarseClock?: CoarseClock;
  /** Warm restarts, already restored into `store`. */
  snapshotter?: Snapshotter;
  /** In a worker of a server with several: what it attached to. */
  worker?: WorkerSetup;
}

/**
 * What a server in a worker attaches to instead of making its own: the
 * shared store, lock and counters of a server with several workers.
 */
export interface WorkerSetup {
  store: StoreMemory;
  lock: SharedArrayBuffer;
  stats: SharedArrayBuffer;
  /** This worker's number (its block of counters). */
  worker: number;
  /** Number of workers (connection numbers are unique across them). */
  threads: number;
  /** The lock's polling before sleeping in this worker, in µs. */
  spinMicros: number;
  /**
   * The time (ms, a float64 at 0) the main thread publishes for every
   * worker: one clock, so workers agree on the second (flush_all, expiry).
   */
  clock: SharedArrayBuffer;
  /** With a metrics endpoint: one latency histogram per worker, this worker's at its number. */
  durations?: SharedArrayBuffer;
  /** With `-e`: the snapshot figures the main thread publishes ({@linkcode SnapshotFigures}). */
  snapshotFigures?: SharedArrayBuffer;
  /** Every worker's connections, for `stats conns` ({@linkcode ConnectionRoster.allocate}). */
  roster?: SharedArrayBuffer;
  /** Every worker's `stats detail` counts ({@linkcode PrefixStats.allocate}). */
  detail?: PrefixStatsMemory;
  /** Called for the text `shutdown` command: the whole server stops, not one worker. */
  shutdown(): void;
}

const TOO_MANY = new TextEncoder().encode("ERROR Too many open connections\r\n");

/** Milliseconds between sweeps of expired items. */
const SWEEP_INTERVAL_MS = 1000;

/** Items a sweep visits at most (memcached's crawler also goes a slice at a time). */
const SWEEP_LIMIT = 50_000;

/**
 * A listening memcached-compatible server: accepts connections and runs each
 * through decoder → dispatcher → encoder over one shared store. In a worker
 * of a server with several ({@linkcode WorkerSetup}, {@linkcode Server.inWorker}),
 * it listens with `reusePort` beside the others and attaches to their
 * shared store, lock and counters; the main thread sweeps, snapshots and
 * serves metrics.
 *
 * Use {@linkcode startServer} from `mod.ts` to create one.
 *
 * @example Usage
 * ```ts
 * import { Server } from "./server.ts";
 *
 * const server = new Server({ port: 0 });
 * console.log(server.port);
 * await server.close();
 * ```
 */
export class Server {
  /** The item store every connection shares. */
  readonly store: Store;
  /** Server-wide counters. */
  readonly stats: Stats;
  /** The store lock: hold it for writing to keep connections out across `await`s. */
  readonly lock: RwLock;
  /** Warm restarts (`memoryFile`): what was restored, snapshot figures. */
  readonly snapshotter: Snapshotter | undefined;
  /** In a worker: the number of this worker. */
  readonly worker: number | undefined;
  #listener: Deno.Listener;
  #settings: CommandSettings;
  #context: CommandContext;
  #log: (line: string) => void;
  #connections: ConnectionSet;
  /** Refusals still writing their one line. */
  #refusals = new Set<Promise<void>>();
  #metrics: ServerMetrics | undefined;
  #nextId: number;
  #idStep: number;
  #sweeper: ReturnType<typeof setInterval> | undefined;
  #coarseClock: CoarseClock | undefined;
  #closing: Promise<void> | undefined;
  #accepting: AcceptLoop;
  #limits: ConnectionLimits;
  #graceMs: number;
  /** What every connection shares. */
  #shared: ConnectionShared;

  /**
   * Builds a server and listens at once. With `memoryFile`, use
   * {@linkcode Server.start} (or `startServer`): it restores the snapshot
   * first.
   */
  constructor(options: ServerOptions = {}, parts: ServerParts = Server.#parts(options)) {
    this.#log = options.log ?? ((line) => console.error(line));
    this.#coarseClock = parts.coarseClock;
    const clock = parts.clock;
    this.store = parts.store;
    this.lock = parts.lock;
    this.snapshotter = parts.snapshotter;
    this.stats = parts.stats;
    const worker = parts.worker;
    this.worker = worker?.worker;
    // memcached counts its listening socket as a connection (one, whatever its threads).
    if ((worker?.worker ?? 0) === 0) this.stats.c.total_connections = 1;
    this.#listener = listen(options, worker !== undefined);
    this.#nextId = (worker?.worker ?? 0) + 1;
    this.#idStep = worker?.threads ?? 1;
    const addr = this.#listener.addr as Deno.NetAddr;
    this.#settings = commandSettings(options, addr);
    const figures = worker?.snapshotFigures;
    this.#context = new CommandContext({
      store: this.store,
      stats: this.stats,
      settings: this.#settings,
      log: this.#log,
      shutdown: worker ? () => worker.shutdown() : () => void this.close(),
      snapshotStats: figures
        ? () => readSnapshotFigures(figures)
        : this.snapshotter && (() => this.snapshotter!.stats),
      detail: new PrefixStats({
        delimiter: options.prefixDelimiter,
        enabled: options.prefixDelimiter !== undefined,
        memory: worker?.detail,
        worker: worker?.worker,
      }),
      connections: () => this.#connections.infos(),
      clock,
    });
    if (options.metricsPort !== undefined && !worker) {
      try {
        this.#metrics = new ServerMetrics({
          hostname: addr.hostname,
          port: options.metricsPort,
          context: this.#context,
        });
      } catch (err) {
        this.#listener.close();
        this.#coarseClock?.close();
        throw new Error(
          `Cannot serve metrics on ${addr.hostname}:${options.metricsPort}: ${
            (err as Error).message
          }`,
        );
      }
    }
    this.#limits = new ConnectionLimits({
      idleTimeoutMs: this.#settings.idleTimeout * 1000,
      frameTimeoutMs: (options.frameTimeout ?? 30) * 1000,
      clock,
      checkIntervalMs: options.timeoutCheckIntervalMs,
      onIdleKick: () => this.stats.c.idle_kicks++,
      onFrameTimeout: () => {
        if (this.#settings.verbose > 0) this.#log("closing a connection stuck in a partial frame");
      },
    });
    this.#graceMs = options.shutdownGraceMs ?? 3000;
    if (!worker) {
      this.#sweeper = setInterval(() => sweep(this, clock), SWEEP_INTERVAL_MS);
      Deno.unrefTimer(this.#sweeper as unknown as number);
    }
    const reclaimer = new MemoryReclaimer();
    this.#shared = {
      context: this.#context,
      lock: this.lock,
      limits: this.#limits,
      maxPendingOutput: options.maxPendingOutput ?? 1024 * 1024,
      durations: worker?.durations
        ? new LatencyHistogram({
          series: COMMAND_NAMES.length,
          buffer: worker.durations,
          byteOffset: worker.worker * LatencyHistogram.byteLength(COMMAND_NAMES.length),
        })
        : this.#metrics?.durations,
      now: () => performance.now(),
      reclaimer,
    };
    this.#connections = new ConnectionSet({
      idleCheckMs: options.idleCheckIntervalMs,
      reclaimer,
      roster: worker?.roster &&
        new ConnectionRoster(worker.roster, { worker: worker.worker, workers: worker.threads }),
      onClosed: () => {
        this.stats.c.curr_connections--;
        this.stats.leave();
        this.#accepting.resume();
      },
    });
    this.#accepting = new AcceptLoop(this.#listener, {
      onConn: (conn) => this.#admit(conn),
      stats: this.stats.c,
      log: this.#log,
    });
  }

  /**
   * Builds a server: restores `memoryFile` (when given) into its store
   * before it listens, so no client ever sees a half-loaded cache.
   *
   * @throws {Error} One line: the snapshot's permissions, or another server using it.
   */
  static async start(options: ServerOptions = {}): Promise<Server> {
    const parts = Server.#parts(options);
    if (options.memoryFile === undefined) return new Server(options, parts);
    try {
      parts.snapshotter = await Snapshotter.open({
        path: options.memoryFile,
        store: storeSnapshot(parts.store, () => Math.floor(parts.clock() / 1000)),
        share: async (fn) => {
          using _share = parts.lock.tryRead() ?? await parts.lock.read();
          return fn();
        },
        clock: parts.clock,
        intervalSeconds: options.snapshotInterval,
        log: options.log ?? ((line) => console.error(line)),
      });
      return new Server(options, parts);
    } catch (err) {
      await parts.snapshotter?.close({ snapshot: false });
      parts.coarseClock?.close();
      throw err;
    }
  }

  /**
   * Builds the server of one worker of a server with several, over the
   * shared store, lock and counters of `setup`; it listens at once, with
   * `reusePort`.
   */
  static inWorker(options: ServerOptions, setup: WorkerSetup): Server {
    const time = new Float64Array(setup.clock);
    return new Server(options, {
      store: new Store(setup.store, { worker: setup.worker }),
      lock: new RwLock(setup.lock, { spinMicros: setup.spinMicros }),
      stats: new Stats({ buffer: setup.stats, worker: setup.worker }),
      clock: () => time[0],
      worker: setup,
    });
  }

  static #parts(options: ServerOptions): ServerParts {
    const coarseClock = options.clock ? undefined : new CoarseClock();
    const clock = options.clock ?? coarseClock!.now;
    const now = Math.floor(clock() / 1000);
    return {
      store: Store.create(storeOptions(options, { now, workers: 1 })),
      lock: new RwLock(),
      stats: new Stats({ startedAt: now }),
      clock,
      coarseClock,
    };
  }

  /** The bound port (useful with port 0). */
  get port(): number {
    return (this.#listener.addr as Deno.NetAddr).port;
  }

  /** The port of the metrics endpoint (`metricsPort`), if there is one. */
  get metricsPort(): number | undefined {
    return this.#metrics?.port;
  }

  /** The bound address. */
  get hostname(): string {
    return (this.#listener.addr as Deno.NetAddr).hostname;
  }

  /** Resolves when the server has closed. */
  get finished(): Promise<void> {
    return this.#accepting.done.then(() => this.#closing);
  }

  /**
   * Shuts down gracefully: stops accepting, stops reading requests, answers
   * every request already read, then closes each connection. Connections
   * whose answers cannot be delivered within `shutdownGraceMs` (a client
   * that does not read) are closed anyway. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    clearInterval(this.#sweeper);
    const metricsClosed = this.#metrics?.close();
    this.#limits.close();
    this.#accepting.close();
    await this.#accepting.done;
    this.#connections.stopAll();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const grace = new Promise<void>((resolve) => timer = setTimeout(resolve, this.#graceMs));
    await Promise.race([this.#connections.settled(), grace]);
    clearTimeout(timer);
    this.#connections.closeAll();
    await this.#connections.settled();
    await Promise.all(this.#refusals);
    this.#connections.close();
    await metricsClosed;
    // Nothing changes the store any more: the last snapshot.
    const snapshot = await this.snapshotter?.close();
    if (snapshot && this.#settings.verbose > 0) {
      this.#log(
        `snapshot written: ${snapshot.items} items, ${snapshot.bytes} bytes in ` +
          `${Math.round(snapshot.durationMs)} ms`,
      );
    }
    this.#coarseClock?.close();
  }

  #admit(conn: Deno.Conn): void {
    const c = this.stats.c;
    if (this.#closing) {
      closeQuietly(conn);
      return;
    }
    if (!this.stats.admit(this.#settings.maxConnections)) {
      c.rejected_connections++;
      const refusal = conn.write(TOO_MANY).then(() => {}, () => {}).finally(() => {
        closeQuietly(conn);
        this.#refusals.delete(refusal);
      });
      this.#refusals.add(refusal);
      return;
    }
    if ("setNoDelay" in conn) (conn as Deno.TcpConn).setNoDelay(true);
    c.curr_connections++;
    c.total_connections++;
    c.connection_structures = Math.max(c.connection_structures, c.curr_connections);
    const id = this.#nextId;
    this.#nextId += this.#idStep;
    this.#connections.add(new Connection(conn, this.#shared, id));
  }
}

/** The settings commands read, from the server's options and bound address. */
export function commandSettings(options: ServerOptions, addr: Deno.NetAddr): CommandSettings {
  return {
    version: VERSION,
    sasl: options.sasl ?? false,
    credentials: options.authFile === undefined
      ? new Map()
      : AuthFile.read(options.authFile).credentials,
    enableShutdown: options.enableShutdown ?? false,
    maxConnections: options.maxConnections ?? 1024,
    listenBacklog: options.listenBacklog ?? 1024,
    maxItemSize: options.maxItemSize ?? 1024 * 1024,
    idleTimeout: options.idleTimeout ?? 0,
    evict: !options.noEvict,
    verbose: options.verbose ?? 0,
    port: addr.port,
    hostname: addr.hostname,
    growthFactor: options.growthFactor ?? 1.25,
    minSpace: options.minSpace ?? 48,
    slabChunkMax: slabChunkMax(options),
    dumpEnabled: !options.disableDumping,
    reqsPerEvent: options.reqsPerEvent ?? 20,
    tls: options.tls ? { certFile: options.tlsCertFile!, keyFile: options.tlsKeyFile! } : undefined,
    authFile: options.sasl ? options.authFile : undefined,
  };
}

/** The store a server's options ask for, made at `now` for `workers` workers. */
export function storeOptions(
  options: ServerOptions,
  at: { now: number; workers: number },
): Parameters<typeof Store.create>[0] {
  const maxItemSize = options.maxItemSize ?? 1024 * 1024;
  const classes: SlabClassesOptions = {
    growthFactor: options.growthFactor,
    minSpace: options.minSpace,
    slabChunkMax: slabChunkMax(options),
    maxItemSize,
  };
  return {
    now: at.now,
    memoryLimit: (options.memoryLimitMiB ?? 64) * 1024 * 1024,
    maxItemSize,
    evict: !options.noEvict,
    classes,
    workers: at.workers,
  };
}

function slabChunkMax(options: ServerOptions): number {
  return options.slabChunkMax ?? Math.min(512 * 1024, options.maxItemSize ?? 1024 * 1024);
}

/**
 * Unlinks expired items, a bounded number at a time (memcached's crawler
 * goes a slice at a time too), when the store is free to write.
 *
 * @example Usage
 * ```ts ignore
 * setInterval(() => sweep(server, Date.now), 1000);
 * ```
 */
export function sweep(server: { store: Store; lock: RwLock }, clock: () => number): void {
  using write = server.lock.tryWrite();
  if (write) server.store.sweep({ now: Math.floor(clock() / 1000), limit: SWEEP_LIMIT });
}

/** Float64 places of the snapshot figures a main thread publishes to its workers. */
const FIGURES = ["lastAt", "lastDurationMs", "lastBytes", "lastItems", "failures"] as const;

/**
 * Copies snapshot figures into `buffer` (made with `figures` float64s of
 * room) for workers to read with {@linkcode readSnapshotFigures}.
 *
 * @example Usage
 * ```ts
 * import { publishSnapshotFigures, readSnapshotFigures } from "./server.ts";
 * import assert from "node:assert/strict";
 *
 * const buffer = new SharedArrayBuffer(8 * 8);
 * const figures = { lastAt: 1, lastDurationMs: 2, lastBytes: 3, lastItems: 4, failures: 0, writing: true };
 * publishSnapshotFigures(buffer, figures);
 * assert.deepEqual(readSnapshotFigures(buffer), figures);
 * ```
 */
export function publishSnapshotFigures(buffer: SharedArrayBuffer, figures: SnapshotFigures): void {
  const f = new Float64Array(buffer);
  FIGURES.forEach((name, i) => f[i] = figures[name]);
  f[FIGURES.length] = figures.writing ? 1 : 0;
}

/** The snapshot figures last published into `buffer` ({@linkcode publishSnapshotFigures}). */
export function readSnapshotFigures(buffer: SharedArrayBuffer): SnapshotFigures {
  const f = new Float64Array(buffer);
  const figures = { writing: f[FIGURES.length] === 1 } as {
    -readonly [K in keyof SnapshotFigures]: SnapshotFigures[K];
  };
  FIGURES.forEach((name, i) => figures[name] = f[i]);
  return figures;
}

/**
 * Listens as the options say; beside other listeners on the same port when
 * `reusePort` (the workers of one server). A port in use fails with
 * memcached's words.
 */
function listen(options: ServerOptions, reusePort: boolean): Deno.Listener {
  const port = options.port ?? 11211;
  const hostname = options.hostname ?? "127.0.0.1";
  // memcached's -b, default 1024; the kernel caps it at net.core.somaxconn.
  const tcpBacklog = options.listenBacklog ?? 1024;
  const reuse = reusePort ? { reusePort: true } : {};
  try {
    if (options.tls) {
      if (!options.tlsCertFile || !options.tlsKeyFile) {
        throw new Error("Cannot serve TLS: both tlsCertFile and tlsKeyFile are needed");
      }
      return Deno.listenTls(
        {
          port,
          hostname,
          cert: Deno.readTextFileSync(options.tlsCertFile),
          key: Deno.readTextFileSync(options.tlsKeyFile),
          tcpBacklog,
          ...reuse,
        } as Deno.ListenTlsOptions & Deno.TlsCertifiedKeyPem,
      );
    }
    return Deno.listen({ port, hostname, transport: "tcp", tcpBacklog, ...reuse });
  } catch (err) {
    throw listenError(err, hostname, port);
  }
}

/**
 * A listen failure as memcached words it (`failed to listen on TCP port
 * 11211: Address already in use`), with the address; other errors as they are.
 *
 * @example Usage
 * ```ts
 * import { listenError } from "./server.ts";
 * import assert from "node:assert/strict";
 *
 * const err = listenError(new Deno.errors.AddrInUse("Address already in use (os error 98)"), "127.0.0.1", 11211);
 * assert.equal(err.message, "Failed to listen on 127.0.0.1:11211: Address already in use");
 * ```
 */
export function listenError(err: unknown, hostname: string, port: number): Error {
  if (!(err instanceof Deno.errors.AddrInUse)) return err as Error;
  return new Error(`Failed to listen on ${hostPort(hostname, port)}: Address already in use`);
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // already closed
  }
}
