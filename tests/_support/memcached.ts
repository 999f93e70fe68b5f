/**
 * Starts real memcached (the behaviour oracle) on a free loopback port.
 *
 * @module
 */
import { closer, freePort, waitForPort } from "./child_server.ts";

export { freePort };

/** A running memcached process. */
export interface RealMemcached extends AsyncDisposable {
  port: number;
  close(): Promise<void>;
}

/**
 * Starts `memcached -U 0 -l 127.0.0.1 -p PORT` plus `args` and waits until it
 * accepts connections.
 */
export async function startMemcached(args: string[] = []): Promise<RealMemcached> {
  const port = freePort();
  const child = new Deno.Command("memcached", {
    args: [
      "-U",
      "0",
      "-l",
      "127.0.0.1",
      "-p",
      String(port),
      "-t",
      "1",
      // memcached refuses to run as root unless told whom to become.
      ...(Deno.uid() === 0 ? ["-u", "nobody"] : []),
      ...args,
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  await waitForPort(port, child, "memcached", 10_000);
  const close = closer(child);
  return { port, close, [Symbol.asyncDispose]: close };
}
