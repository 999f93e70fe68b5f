/**
 * Helpers for server subprocesses (real memcached, `main.ts`, benchmark
 * servers): wait until one accepts connections, stop it once.
 *
 * @module
 */

/** Finds a free TCP port on 127.0.0.1. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/**
 * Waits until 127.0.0.1:`port` accepts a TCP connection. Past `timeoutMs`
 * the child is killed and the error names `what` and adds `detail()`.
 */
export async function waitForPort(
  port: number,
  child: Deno.ChildProcess,
  what: string,
  timeoutMs: number,
  detail: () => Promise<string> | string = () => "",
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
      return;
    } catch {
      if (Date.now() > deadline) {
        await stop(child, "SIGKILL");
        const more = await detail();
        throw new Error(
          `${what} did not accept connections on port ${port} within ${timeoutMs} ms` +
            (more ? `: ${more}` : ""),
        );
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/** Sends `signal` (if the child still runs) and waits for it to exit. */
export async function stop(
  child: Deno.ChildProcess,
  signal: Deno.Signal = "SIGTERM",
): Promise<void> {
  try {
    child.kill(signal);
  } catch {
    // already exited
  }
  await child.status;
}

/** An idempotent `close()` that stops the child with SIGTERM. */
export function closer(child: Deno.ChildProcess): () => Promise<void> {
  let closed: Promise<void> | undefined;
  return () => closed ??= stop(child);
}
