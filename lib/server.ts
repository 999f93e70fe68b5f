import { CoarseClock } from "./coarse_clock.ts";
import { AuthFile } from "./auth_file.ts";
import { CommandContext, type CommandSettings } from "./command_context.ts";
import { hostPort, type ServerOptions, VERSION } from "./config.ts";
import { ConnectionLimits, type LimitedConnection } from "./connection_limits.ts";
import { connReadable, connWritable, type Duplex, isDisconnect } from "./conn_streams.ts";
import { Dispatcher } from "./dispatcher.ts";
import { FrameDecoder } from "./frame_decoder.ts";
import { FrameEncoder } from "./frame_encoder.ts";
import { RwLock } from "./rw_lock.ts";
import { Stats } from "./stats.ts";
import { Store, type StoreMemory } from "./store/store.ts";

const TOO_MANY = new TextEncoder().encode("ERROR Too many open connections\r\n");

/** Milliseconds between sweeps of expired items. */
const SWEEP_INTERVAL_MS = 1000;

/** Items a sweep visits at most (memcached's crawler also goes a slice at a time). */
const SWEEP_LIMIT = 50_000;

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
   * The time (ms, a float64 at 0) as the main thread's injected clock gives
   * it, for tests; absent: this worker's own clock.
   */
  clock?: SharedArrayBuffer;
  /** Called for the text `shutdown` command: the whole server stops, not one worker. */
  shutdown(): void;
}

/**
 * A listening memcached-compatible server: accepts connections and runs each
 * through decoder → dispatcher → encoder over one shared store. In a worker
 * of a server with several ({@linkcode WorkerSetup}), it listens with
 * `reusePort` beside the others and attaches to their shared store, lock and
 * counters; the main thread sweeps.
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
  #listener: Deno.Listener;
  #settings: CommandSettings;
  #context: CommandContext;
  #log: (line: string) => void;
  #conns = new Set<Deno.Conn>();
  #tasks = new Set<Promise<void>>();
  #nextId: number;
  #idStep: number;
  #sweeper: ReturnType<typeof setInterval> | undefined;
  #coarseClock: CoarseClock | undefined;
  #closing: Promise<void> | undefined;
  #accepting: Promise<void>;
  #limits: ConnectionLimits;
  #maxPendingOutput: number;
  #graceMs: number;
  /** One per live connection: ends its reads (graceful shutdown). */
  #stopReaders = new Set<() => void>();

  constructor(options: ServerOptions = {}, worker?: WorkerSetup) {
    this.#log = options.log ?? ((line) => console.error(line));
    const shared = worker?.clock ? new Float64Array(worker.clock) : undefined;
    const injected = shared ? () => shared[0] : options.clock;
    this.#coarseClock = injected ? undefined : new CoarseClock();
    const clock = injected ?? this.#coarseClock!.now;
    const now = Math.floor(clock() / 1000);
    this.store = worker ? new Store(worker.store) : Store.create({
      now,
      memoryLimit: (options.memoryLimitMiB ?? 64) * 1024 * 1024,
      maxItemSize: options.maxItemSize ?? 1024 * 1024,
      evict: !options.noEvict,
    });
    this.stats = worker
      ? new Stats({ buffer: worker.stats, worker: worker.worker })
      : new Stats({ startedAt: now });
    this.lock = worker ? new RwLock(worker.lock, { spinMicros: worker.spinMicros }) : new RwLock();
    this.#listener = listen(options, worker !== undefined);
    this.#nextId = (worker?.worker ?? 0) + 1;
    this.#idStep = worker?.threads ?? 1;
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
    };
    this.#context = new CommandContext({
      store: this.store,
      stats: this.stats,
      settings: this.#settings,
      log: this.#log,
      shutdown: worker ? () => worker.shutdown() : () => void this.close(),
      clock,
    });
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
    if (!worker) {
      this.#sweeper = setInterval(() => sweep(this, clock), SWEEP_INTERVAL_MS);
      Deno.unrefTimer(this.#sweeper as unknown as number);
    }
    this.#accepting = this.#acceptLoop();
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
    this.#coarseClock?.close();
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
    if (!this.stats.admit(this.#settings.maxConnections)) {
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
        this.stats.leave();
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
    const id = this.#nextId;
    this.#nextId += this.#idStep;
    const c = this.stats.c;
    if (this.#settings.verbose > 1) {
      this.#log(`<${id} new auto-negotiating client connection`);
    }
    const limited = this.#limits.add(() => closeQuietly(conn));
    const { duplex, stop } = this.#duplex(conn, limited);
    this.#stopReaders.add(stop);
    const encoder = new FrameEncoder();
    try {
      await connReadable(duplex, { onRead: (n) => c.bytes_read += n })
        .pipeThrough(
          new FrameDecoder({
            maxItemSize: this.#settings.maxItemSize,
            onDecoded: limited.decoded,
          }),
        )
        .pipeThrough(
          new Dispatcher(this.#context, this.lock, {
            maxPendingOutput: this.#maxPendingOutput,
            connectionId: id,
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

/**
 * Listens as the options say; beside other listeners on the same port when
 * `reusePort` (the workers of one server). A port in use fails with
 * memcached's words.
 */
function listen(options: ServerOptions, reusePort: boolean): Deno.Listener {
  const port = options.port ?? 11211;
  const hostname = options.hostname ?? "127.0.0.1";
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
          ...(reusePort ? { reusePort: true } : {}),
        } as Deno.ListenTlsOptions & Deno.TlsCertifiedKeyPem,
      );
    }
    return Deno.listen({ port, hostname, transport: "tcp", ...(reusePort ? { reusePort } : {}) });
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
