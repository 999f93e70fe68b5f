import { AcceptLoop } from "./accept_loop.ts";
import { AuthFile } from "./auth_file.ts";
import { CoarseClock } from "./coarse_clock.ts";
import type { CommandSettings } from "./command_context.ts";
import { type ServerOptions, VERSION } from "./config.ts";
import { Connection, type ConnectionShared } from "./connection.ts";
import { ConnectionLimits } from "./connection_limits.ts";
import { ConnectionSet } from "./connection_set.ts";
import { MemoryReclaimer } from "./memory_reclaimer.ts";
import { RwLock } from "./rw_lock.ts";
import { Stats } from "./stats.ts";
import { Store } from "./store.ts";

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
  readonly lock: RwLock = new RwLock();
  #listener: Deno.Listener;
  #settings: CommandSettings;
  #shared: ConnectionShared;
  #connections: ConnectionSet;
  /** Refusals still writing their one line. */
  #refusals = new Set<Promise<void>>();
  #nextId = 1;
  #sweeper: ReturnType<typeof setInterval>;
  #coarseClock: CoarseClock | undefined;
  #closing: Promise<void> | undefined;
  #accepting: AcceptLoop;
  #limits: ConnectionLimits;
  #graceMs: number;

  constructor(options: ServerOptions = {}) {
    const log = options.log ?? ((line) => console.error(line));
    this.#coarseClock = options.clock ? undefined : new CoarseClock();
    const clock = options.clock ?? this.#coarseClock!.now;
    this.store = new Store({
      memoryLimit: (options.memoryLimitMiB ?? 64) * 1024 * 1024,
      maxItemSize: options.maxItemSize ?? 1024 * 1024,
      evict: !options.noEvict,
      clock,
    });
    this.stats = new Stats(Math.floor(clock() / 1000));
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
    };
    this.#limits = new ConnectionLimits({
      idleTimeoutMs: this.#settings.idleTimeout * 1000,
      frameTimeoutMs: (options.frameTimeout ?? 30) * 1000,
      clock,
      checkIntervalMs: options.timeoutCheckIntervalMs,
      onIdleKick: () => this.stats.c.idle_kicks++,
      onFrameTimeout: () => {
        if (this.#settings.verbose > 0) log("closing a connection stuck in a partial frame");
      },
    });
    const reclaimer = new MemoryReclaimer();
    this.#shared = {
      store: this.store,
      stats: this.stats,
      settings: this.#settings,
      lock: this.lock,
      limits: this.#limits,
      maxPendingOutput: options.maxPendingOutput ?? 1024 * 1024,
      log,
      shutdown: () => void this.close(),
      now: () => performance.now(),
      reclaimer,
    };
    this.#graceMs = options.shutdownGraceMs ?? 3000;
    this.#sweeper = setInterval(() => this.store.sweep(10_000), SWEEP_INTERVAL_MS);
    Deno.unrefTimer(this.#sweeper as unknown as number);
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
      log,
    });
  }

  /** The bound port (useful with port 0). */
  get port(): number {
    return (this.#listener.addr as Deno.NetAddr).port;
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
    this.#coarseClock?.close();
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
