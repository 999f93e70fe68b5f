/**
 * mbserver: a memcached-compatible cache server for Deno, speaking the
 * binary, text and meta protocols on one port.
 *
 * @example Embedding
 * ```ts
 * import { startServer } from "./mod.ts";
 *
 * const server = await startServer({ port: 0 });
 * const conn = await Deno.connect({ port: server.port });
 * await conn.write(new TextEncoder().encode("version\r\n"));
 * conn.close();
 * await server.close();
 * ```
 *
 * @module
 */
import type { ServerOptions } from "./config.ts";
import { Server } from "./server.ts";
import { ThreadedServer } from "./threaded_server.ts";

export type { ServerOptions } from "./config.ts";
export { Server } from "./server.ts";
export { ThreadedServer } from "./threaded_server.ts";
export { Store } from "./store/store.ts";
export type { Clock } from "./clock.ts";

/** A running server: one thread ({@linkcode Server}), or several ({@linkcode ThreadedServer}). */
export type RunningServer = Server | ThreadedServer;

/**
 * Starts a server and resolves once it is listening.
 *
 * With `threads` over 1 it starts that many workers over one shared store
 * (needs read permission for the worker code, `lib/`); else it serves in
 * this thread.
 *
 * @param options Port (0 for any free one), address, limits, protocol options, threads.
 * @returns The server: `port`, `store`, `stats`, `lock`, `finished`, an idempotent `close()`.
 *
 * @example Usage
 * ```ts
 * import { startServer } from "./mod.ts";
 *
 * const server = await startServer({ port: 0, memoryLimitMiB: 16 });
 * console.log(`listening on ${server.port}`);
 * await server.close();
 * ```
 */
export async function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  if ((options.threads ?? 1) > 1) return await ThreadedServer.start(options);
  return await Server.start(options);
}
