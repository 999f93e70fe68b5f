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

export type { ServerOptions } from "./config.ts";
export { Server } from "./server.ts";
export { Store } from "./store.ts";
export type { Clock } from "./clock.ts";

/**
 * Starts a server and resolves once it is listening.
 *
 * @param options Port (0 for any free one), address, limits, protocol options.
 * @returns The server: `port`, `store`, `stats`, `lock`, an idempotent `close()`.
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
export function startServer(options: ServerOptions = {}): Promise<Server> {
  return Server.start(options);
}
