/**
 * Starts real memcached (the behaviour oracle) on a free loopback port.
 *
 * @module
 */

/** A running memcached process. */
export interface RealMemcached extends AsyncDisposable {
  port: number;
  close(): Promise<void>;
}

/** Finds a free TCP port on 127.0.0.1. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
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
  const deadline = Date.now() + 10_000;
  while (true) {
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
      break;
    } catch {
      if (Date.now() > deadline) {
        try {
          child.kill("SIGKILL");
        } catch {
          // already exited
        }
        await child.status;
        throw new Error(`memcached did not accept connections on port ${port} within 10 s`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= (async () => {
      try {
        child.kill("SIGTERM");
      } catch {
        // already gone
      }
      await child.status;
    })();
    return closed;
  };
  return { port, close, [Symbol.asyncDispose]: close };
}
