import { AcceptLoop } from "./accept_loop.ts";
import { AuthFile } from "./auth_file.ts";
import { CoarseClock } from "./coarse_clock.ts";
import { CommandContext, type CommandSettings } from "./command_context.ts";
import { type ServerOptions, VERSION } from "./config.ts";
import { Connection, type ConnectionShared } from "./connection.ts";
import { ConnectionLimits } from "./connection_limits.ts";
import { ConnectionSet } from "./connection_set.ts";
import { MemoryReclaimer } from "./memory_reclaimer.ts";
import { ServerMetrics } from "./metrics/server_metrics.ts";
import { PrefixStats } from "./prefix_stats.ts";
import { RwLock } from "./rw_lock.ts";
import { SlabClasses } from "./slab_classes.ts";
import { SlabStats } from "./slab_stats.ts";
import { Snapshotter } from "./snapshot/snapshotter.ts";
import { storeSnapshot } from "./snapshot/store_snapshot.ts";
import { Stats } from "./stats.ts";
import { Store } from "./store.ts";

/** What a server is built on; {@linkcode Server.start} prepares them. */
export interface ServerParts {
  store: Store;
  lock: RwLock;
  /** The clock the store reads. */
  clock: () => number;
  /** The clock to stop on close, when the server made one. */
  coarseClock?: CoarseClock;
  /** Warm restarts, already restored into `store`. */
  snapshotter?: Snapshotter;
}

const TOO_MANY = new TextEncoder().encode("ERROR Too many open connections\r\n");

/** Seconds between sweeps of expired items. */
const SWEEP_INTERVAL_MS = 1000;

/**
 * A listening memcached-compatible server: accepts connections and runs each
 * through decoder → dispatcher → encoder over one shared store.
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
  #listener: Deno.Listener;
  #settings: CommandSettings;
  #context: CommandContext;
  #log: (line: string) => void;
  #connections: ConnectionSet;
  /** Refusals still writing their one line. */
  #refusals = new Set<Promise<void>>();
  #metrics: ServerMetrics | undefined;
  #nextId = 1;
  #sweeper: ReturnType<typeof setInterval>;
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
    this.stats = new Stats(Math.floor(clock() / 1000));
    // memcached counts its listening socket as a connection.
    this.stats.c.total_connections = 1;
    this.#listener = listen(options);
    const addr = this.#listener.addr as Deno.NetAddr;
    this.#settings = {
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
      slabChunkMax: options.slabChunkMax ??
        Math.min(512 * 1024, options.maxItemSize ?? 1024 * 1024),
      dumpEnabled: !options.disableDumping,
      reqsPerEvent: options.reqsPerEvent ?? 20,
      tls: options.tls
        ? { certFile: options.tlsCertFile!, keyFile: options.tlsKeyFile! }
        : undefined,
      authFile: options.sasl ? options.authFile : undefined,
    };
    this.#context = new CommandContext({
      store: this.store,
      stats: this.stats,
      settings: this.#settings,
      log: this.#log,
      shutdown: () => void this.close(),
      snapshotStats: this.snapshotter && (() => this.snapshotter!.stats),
      detail: new PrefixStats({
        delimiter: options.prefixDelimiter,
        enabled: options.prefixDelimiter !== undefined,
      }),
      connections: () => this.#connections.infos(),
    });
    if (options.metricsPort !== undefined) {
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
    this.#sweeper = setInterval(() => this.store.sweep(10_000), SWEEP_INTERVAL_MS);
    Deno.unrefTimer(this.#sweeper as unknown as number);
    const reclaimer = new MemoryReclaimer();
    this.#shared = {
      context: this.#context,
      lock: this.lock,
      limits: this.#limits,
      maxPendingOutput: options.maxPendingOutput ?? 1024 * 1024,
      durations: this.#metrics?.durations,
      now: () => performance.now(),
      reclaimer,
    };
    this.#connections = new ConnectionSet({
      idleCheckMs: options.idleCheckIntervalMs,
      reclaimer,
      onClosed: () => {
        this.stats.c.curr_connections--;
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
        store: storeSnapshot(parts.store),
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

  static #parts(options: ServerOptions): ServerParts {
    const coarseClock = options.clock ? undefined : new CoarseClock();
    const clock = options.clock ?? coarseClock!.now;
    const maxItemSize = options.maxItemSize ?? 1024 * 1024;
    const slabChunkMax = options.slabChunkMax ?? Math.min(512 * 1024, maxItemSize);
    const classes = new SlabClasses({
      growthFactor: options.growthFactor,
      minSpace: options.minSpace,
      slabChunkMax,
      maxItemSize,
    });
    const store = new Store({
      memoryLimit: (options.memoryLimitMiB ?? 64) * 1024 * 1024,
      maxItemSize,
      evict: !options.noEvict,
      clock,
      slabStats: new SlabStats(classes),
    });
    return { store, lock: new RwLock(), clock, coarseClock };
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
    if (this.#connections.size >= this.#settings.maxConnections) {
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
    this.#connections.add(new Connection(conn, this.#shared, this.#nextId++));
  }
}

function listen(options: ServerOptions): Deno.Listener {
  const port = options.port ?? 11211;
  const hostname = options.hostname ?? "127.0.0.1";
  // memcached's -b, default 1024; the kernel caps it at net.core.somaxconn.
  const tcpBacklog = options.listenBacklog ?? 1024;
  if (options.tls) {
    if (!options.tlsCertFile || !options.tlsKeyFile) {
      throw new Error("Cannot serve TLS: both tlsCertFile and tlsKeyFile are needed");
    }
    return Deno.listenTls({
      port,
      hostname,
      cert: Deno.readTextFileSync(options.tlsCertFile),
      key: Deno.readTextFileSync(options.tlsKeyFile),
      tcpBacklog,
    });
  }
  return Deno.listen({ port, hostname, transport: "tcp", tcpBacklog });
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // already closed
  }
}
