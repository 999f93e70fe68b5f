/** The byte-level side of a connection: a `Deno.Conn`, or a double in tests and benches. */
export interface Duplex {
  read(p: Uint8Array): Promise<number | null>;
  write(p: Uint8Array): Promise<number>;
  close(): void;
  /** The peer's address, for `stats conns`. */
  readonly remoteAddr?: Deno.Addr;
  /** The address the peer connected to. */
  readonly localAddr?: Deno.Addr;
}

/**
 * Whether an error only means the peer or the server closed the connection.
 *
 * @example Usage
 * ```ts
 * import { isDisconnect } from "./duplex.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(isDisconnect(new Deno.errors.ConnectionReset("reset")), true);
 * assert.equal(isDisconnect(new Error("bad")), false);
 * ```
 */
export function isDisconnect(err: unknown): boolean {
  return err instanceof Deno.errors.ConnectionReset ||
    err instanceof Deno.errors.BrokenPipe ||
    err instanceof Deno.errors.BadResource ||
    err instanceof Deno.errors.Interrupted ||
    err instanceof Deno.errors.NotConnected ||
    err instanceof Deno.errors.ConnectionAborted;
}
