import type { Connection } from "./connection.ts";
import type { ConnectionInfo } from "./connection_info.ts";
import { MemoryReclaimer } from "./memory_reclaimer.ts";

/** Options of a {@linkcode ConnectionSet}. */
export interface ConnectionSetOptions {
  /**
   * How often idle connections are checked, in ms: a connection waiting for
   * bytes through a whole period lets its pipeline go. @default {1000}
   */
  idleCheckMs?: number;
  /** Called after each connection has closed and left the set. */
  onClosed?: () => void;
  /**
   * Told of every connection that closes, and ticked with the idle checks
   * (connections tell it of their pipelines that end). @default {a MemoryReclaimer}
   */
  reclaimer?: MemoryReclaimer;
}

/**
 * The live connections of a listener: lets idle ones' pipelines go every
 * `idleCheckMs`, gives memory back after bursts of closes and ended
 * pipelines (see {@linkcode MemoryReclaimer}), and stops or closes them all
 * on shutdown.
 *
 * @example Usage
 * ```ts ignore
 * const connections = new ConnectionSet({ onClosed: () => acceptLoop.resume() });
 * connections.add(new Connection(conn, shared, 1));
 * connections.stopAll();
 * await connections.settled();
 * connections.close();
 * ```
 */
export class ConnectionSet {
  #live = new Set<Connection>();
  #onClosed: () => void;
  #reclaimer: MemoryReclaimer;
  #timer: ReturnType<typeof setInterval>;

  constructor(options: ConnectionSetOptions = {}) {
    this.#onClosed = options.onClosed ?? (() => {});
    this.#reclaimer = options.reclaimer ?? new MemoryReclaimer();
    this.#timer = setInterval(() => this.releaseIdle(), options.idleCheckMs ?? 1000);
    Deno.unrefTimer(this.#timer as unknown as number);
  }

  /** How many connections are open. */
  get size(): number {
    return this.#live.size;
  }

  /** What `stats conns` shows of each connection. */
  infos(): ConnectionInfo[] {
    return [...this.#live].map((connection) => connection.info());
  }

  /** Tracks `connection` until it closes. */
  add(connection: Connection): void {
    this.#live.add(connection);
    connection.done.then(() => {
      this.#live.delete(connection);
      this.#reclaimer.note();
      this.#onClosed();
    });
  }

  /** Lets go the pipelines of connections idle since the last call; returns how many. */
  releaseIdle(): number {
    let released = 0;
    for (const connection of this.#live) if (connection.releaseIfIdle()) released++;
    this.#reclaimer.tick();
    return released;
  }

  /** Stops reading on every connection: requests already read are answered, then each closes. */
  stopAll(): void {
    for (const connection of this.#live) connection.stop();
  }

  /** Closes every connection at once. */
  closeAll(): void {
    for (const connection of this.#live) connection.close();
  }

  /** Resolves once every connection open now has closed. */
  async settled(): Promise<void> {
    await Promise.all([...this.#live].map((connection) => connection.done));
  }

  /** Stops the idle checks. */
  close(): void {
    clearInterval(this.#timer);
  }
}
