/**
 * Runs `main.ts` as a subprocess on a free port, for CLI, signal and TLS tests.
 *
 * @module
 */
import { freePort } from "../_support/memcached.ts";

/** A running `main.ts`. */
export interface MainProcess extends AsyncDisposable {
  port: number;
  child: Deno.ChildProcess;
  /** Collected stderr (complete once the process has exited). */
  stderr(): Promise<string>;
}

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

/**
 * Starts `deno run --allow-net [--allow-read] main.ts -p PORT ...args` and
 * waits until it accepts TCP connections.
 */
export async function startMain(
  args: string[],
  options: { allowRead?: boolean } = {},
): Promise<MainProcess> {
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      ...(options.allowRead ? ["--allow-read"] : []),
      MAIN,
      "-p",
      String(port),
      ...args,
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const deadline = Date.now() + 15_000;
  while (true) {
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
      break;
    } catch {
      if (Date.now() > deadline) {
        child.kill("SIGKILL");
        await child.status;
        throw new Error(`main.ts did not listen on ${port} within 15 s: ${await stderr}`);
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  return {
    port,
    child,
    stderr: () => stderr,
    async [Symbol.asyncDispose]() {
      try {
        child.kill("SIGKILL");
      } catch {
        // already exited
      }
      await child.status;
      await stderr;
    },
  };
}
