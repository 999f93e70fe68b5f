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

/** Options of {@linkcode startMain}. */
export interface StartMainOptions {
  /** Pass `--allow-read`. @default {false} */
  allowRead?: boolean;
  /** More `deno run` flags, e.g. `--allow-write=DIR`. @default {[]} */
  denoFlags?: string[];
  /** The port (a restart on the same one). @default {a free port} */
  port?: number;
  /** How long to wait for it to accept connections. @default {15000} */
  timeoutMs?: number;
  /** Run under this limit of open files (`ulimit -n` in `sh`). */
  fdLimit?: number;
}

/**
 * Starts `deno run --allow-net [--allow-read] main.ts -p PORT ...args` and
 * waits until it accepts TCP connections.
 */
export async function startMain(
  args: string[],
  options: StartMainOptions = {},
): Promise<MainProcess> {
  const port = options.port ?? freePort();
  const deno = [
    Deno.execPath(),
    "run",
    "--allow-net",
    ...(options.allowRead ? ["--allow-read"] : []),
    ...(options.denoFlags ?? []),
    MAIN,
    "-p",
    String(port),
    ...args,
  ];
  // `exec` keeps one process: the pid is the server's, signals reach it.
  const argv = options.fdLimit === undefined
    ? deno
    : ["sh", "-c", `ulimit -n ${options.fdLimit} && exec "$0" "$@"`, ...deno];
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  await waitForPort(port, child, "main.ts", options.timeoutMs ?? 15_000, () => stderr);
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
