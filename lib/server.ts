import { CoarseClock } from "./coarse_clock.ts";
import { AuthFile } from "./auth_file.ts";
import { CommandContext, type CommandSettings } from "./command_context.ts";
import { type ServerOptions, VERSION } from "./config.ts";
import { ConnectionLimits, type LimitedConnection } from "./connection_limits.ts";
import { connReadable, connWritable, type Duplex, isDisconnect } from "./conn_streams.ts";
import { Dispatcher } from "./dispatcher.ts";
import { FrameDecoder } from "./frame_decoder.ts";
import { FrameEncoder } from "./frame_encoder.ts";
import type { ConnectionInfo } from "./connection_info.ts";
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
  #conns = new Set<Deno.Conn>();
  /** What `stats conns` shows of each client connection, by connection number. */
  #clients = new Map<number, () => ConnectionInfo>();
  #metrics: ServerMetrics | undefined;
  #tasks = new Set<Promise<void>>();
  #nextId = 1;
  #sweeper: ReturnType<typeof setInterval>;
  #coarseClock: CoarseClock | undefined;
  #closing: Promise<void> | undefined;
  #accepting: Promise<void>;
  #limits: ConnectionLimits;
  #maxPendingOutput: number;
  #graceMs: number;
  /** One per live connection: ends its reads (graceful shutdown). */
  #stopReaders = new Set<() => void>();

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
      connections: () => [...this.#clients.values()].map((info) => info()),
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
    this.#maxPendingOutput = options.maxPendingOutput ?? 1024 * 1024;
    this.#graceMs = options.shutdownGraceMs ?? 3000;
    this.#sweeper = setInterval(() => this.store.sweep(10_000), SWEEP_INTERVAL_MS);
    Deno.unrefTimer(this.#sweeper as unknown as number);
    this.#accepting = this.#acceptLoop();
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
    return this.#accepting.then(() => this.#closing);
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
    try {
      this.#listener.close();
    } catch {
      // already closed
    }
    await this.#accepting;
    for (const stop of this.#stopReaders) stop();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const grace = new Promise<void>((resolve) => timer = setTimeout(resolve, this.#graceMs));
    await Promise.race([Promise.allSettled(this.#tasks), grace]);
    clearTimeout(timer);
    for (const conn of this.#conns) closeQuietly(conn);
    await Promise.allSettled(this.#tasks);
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

  async #acceptLoop(): Promise<void> {
    while (true) {
      let conn: Deno.Conn;
      try {
        conn = await this.#listener.accept();
      } catch (err) {
        if (this.#closing || isDisconnect(err)) return;
        this.#log(`accept failed: ${(err as Error).message}`);
        continue;
      }
      this.#admit(conn);
    }
  }

  #admit(conn: Deno.Conn): void {
    const c = this.stats.c;
    if (this.#closing) {
      closeQuietly(conn);
      return;
    }
    if (this.#conns.size >= this.#settings.maxConnections) {
      c.rejected_connections++;
      const task = conn.write(TOO_MANY).catch(() => 0).then(() => closeQuietly(conn));
      this.#track(task);
      return;
    }
    this.#conns.add(conn);
    c.curr_connections++;
    c.total_connections++;
    c.connection_structures = Math.max(c.connection_structures, c.curr_connections);
    this.#track(
      this.#serve(conn).finally(() => {
        this.#conns.delete(conn);
        c.curr_connections--;
        closeQuietly(conn);
      }),
    );
  }

  #track(task: Promise<unknown>): void {
    const done = task.then(() => {}, () => {}).finally(() => this.#tasks.delete(done));
    this.#tasks.add(done);
  }

  async #serve(conn: Deno.Conn): Promise<void> {
    if ("setNoDelay" in conn) (conn as Deno.TcpConn).setNoDelay(true);
    const id = this.#nextId++;
    const c = this.stats.c;
    if (this.#settings.verbose > 1) {
      this.#log(`<${id} new auto-negotiating client connection`);
    }
    const limited = this.#limits.add(() => closeQuietly(conn));
    const { duplex, stop } = this.#duplex(conn, limited);
    this.#stopReaders.add(stop);
    this.#clients.set(id, () => ({
      id,
      addr: address(conn.remoteAddr),
      listenAddr: address(conn.localAddr),
      lastCommand: limited.lastCommand,
      partial: limited.partialSince >= 0,
    }));
    let protocol: "binary" | "text" | undefined;
    const encoder = new FrameEncoder();
    try {
      await connReadable(duplex, { onRead: (n) => c.bytes_read += n })
        .pipeThrough(
          new FrameDecoder({
            maxItemSize: this.#settings.maxItemSize,
            onDecoded: limited.decoded,
            onProtocol: (p) => {
              protocol = p;
              this.stats.protocols[p].current++;
              this.stats.protocols[p].total++;
            },
          }),
        )
        .pipeThrough(
          new Dispatcher(this.#context, this.lock, {
            maxPendingOutput: this.#maxPendingOutput,
            connectionId: id,
            durations: this.#metrics?.durations,
          }),
        )
        .pipeThrough(encoder)
        .pipeTo(connWritable(duplex, {
          onWrite: (n) => c.bytes_written += n,
          onWritten: (chunk) => encoder.recycle(chunk),
        }));
    } catch (err) {
      if (!isDisconnect(err) && this.#settings.verbose > 0) {
        this.#log(`connection ${id} failed: ${(err as Error).message}`);
      }
    } finally {
      limited.remove();
      this.#stopReaders.delete(stop);
      this.#clients.delete(id);
      if (protocol) this.stats.protocols[protocol].current--;
    }
    if (this.#settings.verbose > 1) this.#log(`<${id} connection closed.`);
  }

  /**
   * The connection as the streams see it, and a `stop()` that ends its reads
   * (the pending one resolves as end of stream) while writes go on.
   */
  #duplex(conn: Deno.Conn, limited: LimitedConnection): { duplex: Duplex; stop: () => void } {
    let stopped = false;
    let pending: ((n: null) => void) | undefined;
    const stop = () => {
      stopped = true;
      pending?.(null);
      pending = undefined;
    };
    const duplex: Duplex = {
      read(p) {
        if (stopped) return Promise.resolve(null);
        // After a stop the read is abandoned; it settles once the connection closes.
        return new Promise((resolve, reject) => {
          pending = resolve;
          conn.read(p).then((n) => {
            if (pending === resolve) pending = undefined;
            resolve(n);
          }, (err) => {
            if (pending === resolve) pending = undefined;
            reject(err);
          });
        });
      },
      async write(p) {
        limited.writing(true);
        try {
          return await conn.write(p);
        } finally {
          limited.writing(false);
        }
      },
    };
    return { duplex, stop };
  }
}

function listen(options: ServerOptions): Deno.Listener {
  const port = options.port ?? 11211;
  const hostname = options.hostname ?? "127.0.0.1";
  if (options.tls) {
    if (!options.tlsCertFile || !options.tlsKeyFile) {
      throw new Error("Cannot serve TLS: both tlsCertFile and tlsKeyFile are needed");
    }
    return Deno.listenTls({
      port,
      hostname,
      cert: Deno.readTextFileSync(options.tlsCertFile),
      key: Deno.readTextFileSync(options.tlsKeyFile),
    });
  }
  // memcached's default listen backlog (-b 1024), which `stats settings` reports.
  return Deno.listen({ port, hostname, transport: "tcp", tcpBacklog: 1024 });
}

/** `tcp:HOST:PORT`, as memcached writes an address in `stats conns`. */
function address(addr: Deno.Addr): string {
  return addr.transport === "tcp" ? `tcp:${addr.hostname}:${addr.port}` : addr.transport;
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // already closed
  }
}
