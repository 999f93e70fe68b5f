/**
 * One client connection as `stats conns` shows it.
 *
 * @example Usage
 * ```ts
 * import type { ConnectionInfo } from "./connection_info.ts";
 *
 * const info: ConnectionInfo = {
 *   id: 7,
 *   addr: "tcp:127.0.0.1:53120",
 *   listenAddr: "tcp:127.0.0.1:11211",
 *   lastCommand: Date.now(),
 *   partial: false,
 * };
 * ```
 */
export interface ConnectionInfo {
  /** The connection's number (its id in logs; memcached shows its file descriptor). */
  id: number;
  /** The client's address, `tcp:HOST:PORT`. */
  addr: string;
  /** The address it connected to, `tcp:HOST:PORT`. */
  listenAddr: string;
  /** When it last completed a command, in ms since the epoch. */
  lastCommand: number;
  /** It holds part of a request, waiting for the rest (memcached's `conn_nread`). */
  partial: boolean;
}
