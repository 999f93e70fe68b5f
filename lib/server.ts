import type { CommandContext, CommandSettings, Session } from "./command_context.ts";
import { type ServerOptions, VERSION } from "./config.ts";
import { connReadable, connWritable, isDisconnect } from "./conn_streams.ts";
import { Dispatcher } from "./dispatcher.ts";
import { FrameDecoder } from "./frame_decoder.ts";
import { FrameEncoder } from "./frame_encoder.ts";
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
  #log: (line: string) => void;
  #conns = new Set<Deno.Conn>();
  #tasks = new Set<Promise<void>>();
  #nextId = 1;
  #sweeper: ReturnType<typeof setInterval>;
  #closing: Promise<void> | undefined;
  #accepting: Promise<void>;

  constructor(options: ServerOptions = {}) {
    this.#log = options.log ?? ((line) => console.error(line));
    const clock = options.clock ?? Date.now;
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
      credentials: parseAuthFile(options.authFile),
      enableShutdown: options.enableShutdown ?? false,
      maxConnections: options.maxConnections ?? 1024,
      maxItemSize: options.maxItemSize ?? 1024 * 1024,
      idleTimeout: options.idleTimeout ?? 0,
      evict: !options.noEvict,
      verbose: options.verbose ?? 0,
      port: addr.port,
      hostname: addr.hostname,
    };
    this.#sweeper = setInterval(() => this.store.sweep(10_000), SWEEP_INTERVAL_MS);
    Deno.unrefTimer(this.#sweeper as unknown as number);
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

  /** Stops accepting, closes every connection and waits for them. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    clearInterval(this.#sweeper);
    try {
      this.#listener.close();
    } catch {
      // already closed
    }
    await this.#accepting;
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
    const session: Session = { id: this.#nextId++, authenticated: false, saslStarted: false };
    const ctx: CommandContext = {
      store: this.store,
      stats: this.stats,
      settings: this.#settings,
      session,
      log: this.#log,
      shutdown: () => void this.close(),
    };
    const c = this.stats.c;
    if (this.#settings.verbose > 1) {
      this.#log(`<${session.id} new auto-negotiating client connection`);
    }
    try {
      await connReadable(conn, { onRead: (n) => c.bytes_read += n })
        .pipeThrough(new FrameDecoder({ maxItemSize: this.#settings.maxItemSize }))
        .pipeThrough(new Dispatcher(ctx, this.lock))
        .pipeThrough(new FrameEncoder())
        .pipeTo(connWritable(conn, { onWrite: (n) => c.bytes_written += n }));
    } catch (err) {
      if (!isDisconnect(err) && this.#settings.verbose > 0) {
        this.#log(`connection ${session.id} failed: ${(err as Error).message}`);
      }
    }
    if (this.#settings.verbose > 1) this.#log(`<${session.id} connection closed.`);
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
  return Deno.listen({ port, hostname, transport: "tcp" });
}

/** Parses memcached's auth file: `user:password` per line. */
export function parseAuthFile(path: string | undefined): Map<string, string> {
  const credentials = new Map<string, string>();
  if (path === undefined) return credentials;
  const text = Deno.readTextFileSync(path);
  for (const line of text.split(/\r?\n/)) {
    if (line === "") continue;
    const colon = line.indexOf(":");
    if (colon <= 0) throw new Error(`Cannot read auth file ${path}: bad line "${line}"`);
    credentials.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return credentials;
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // already closed
  }
}
