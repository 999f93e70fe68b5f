import type { Connection } from "./connection.ts";
import type { ConnectionInfo } from "./connection_info.ts";
import type { ConnectionRoster } from "./connection_roster.ts";
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
  /**
   * In a worker of a server with several: where this worker lists its
   * connections for the others, and reads theirs ({@linkcode ConnectionSet.infos}).
   * Their last commands are refreshed with the idle checks.
   */
  roster?: ConnectionRoster;
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
  /** Each live connection, with its slot in the roster (-1 without one). */
  #live = new Map<Connection, number>();
  #roster: ConnectionRoster | undefined;
  #onClosed: () => void;
  #reclaimer: MemoryReclaimer;
  #timer: ReturnType<typeof setInterval>;

  constructor(options: ConnectionSetOptions = {}) {
    this.#onClosed = options.onClosed ?? (() => {});
    this.#reclaimer = options.reclaimer ?? new MemoryReclaimer();
    this.#roster = options.roster;
    this.#timer = setInterval(() => {
      this.releaseIdle();
      this.#refreshRoster();
    }, options.idleCheckMs ?? 1000);
    Deno.unrefTimer(this.#timer as unknown as number);
  }

  /** How many connections are open. */
  get size(): number {
    return this.#live.size;
  }

  /**
   * What `stats conns` shows of each connection: this set's, then those the
   * other workers listed in the roster (their last commands as of their
   * last idle check).
   */
  infos(): ConnectionInfo[] {
    const own = [...this.#live.keys()].map((connection) => connection.info());
    return this.#roster ? own.concat(this.#roster.others()) : own;
  }

  /** Tracks `connection` until it closes. */
  add(connection: Connection): void {
    const slot = this.#roster?.add(connection.info()) ?? -1;
    this.#live.set(connection, slot);
    connection.done.then(() => {
      this.#live.delete(connection);
      this.#roster?.remove(slot);
      this.#reclaimer.note();
      this.#onClosed();
    });
  }

  /** Lets go the pipelines of connections idle since the last call; returns how many. */
  releaseIdle(): number {
    let released = 0;
    for (const connection of this.#live.keys()) if (connection.releaseIfIdle()) released++;
    this.#reclaimer.tick();
    return released;
  }

  /** Stops reading on every connection: requests already read are answered, then each closes. */
  stopAll(): void {
    for (const connection of this.#live.keys()) connection.stop();
  }

  /** Closes every connection at once. */
  closeAll(): void {
    for (const connection of this.#live.keys()) connection.close();
  }

  /** Resolves once every connection open now has closed. */
  async settled(): Promise<void> {
    await Promise.all([...this.#live.keys()].map((connection) => connection.done));
  }

  /** Notes each connection's last command and state in the roster, for the other workers. */
  #refreshRoster(): void {
    const roster = this.#roster;
    if (!roster) return;
    for (const [connection, slot] of this.#live) roster.update(slot, connection.activity());
  }

  /** Stops the idle checks. */
  close(): void {
    clearInterval(this.#timer);
  }
}
