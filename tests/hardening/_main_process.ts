/**
 * Runs `main.ts` as a subprocess on a free port, for CLI, signal and TLS tests.
 *
 * @module
 */
import { freePort, stop, waitForPort } from "../_support/child_server.ts";

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
  await waitForPort(port, child, "main.ts", 15_000, () => stderr);
  return {
    port,
    child,
    stderr: () => stderr,
    async [Symbol.asyncDispose]() {
      await stop(child, "SIGKILL");
      await stderr;
    },
  };
}
