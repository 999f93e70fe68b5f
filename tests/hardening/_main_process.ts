/**
 * Runs `main.ts` as a subprocess, for CLI, signal and TLS tests: on port 0,
 * with the port it bound read back from its start-up line, so no port picked
 * beforehand can be taken in between (but with `--quiet`, which prints none).
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
  /**
   * The first match of `pattern` in stderr as it arrives, e.g. in the
   * start-up line; rejects if the process exits without printing it, or
   * after `timeoutMs` (default 15 s).
   */
  stderrMatch(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
}

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

/** Options of {@linkcode startMain}. */
export interface StartMainOptions {
  /** Pass `--allow-read`. @default {false} */
  allowRead?: boolean;
  /** More `deno run` flags, e.g. `--allow-write=DIR`. @default {[]} */
  denoFlags?: string[];
  /** The port (a restart on the same one). @default {0: one the system picks; with `--quiet`, a free one picked here} */
  port?: number;
  /** How long to wait for it to accept connections. @default {15000} */
  timeoutMs?: number;
  /** Run under this limit of open files (`ulimit -n` in `sh`). */
  fdLimit?: number;
}

/**
 * Starts `deno run --allow-net [--allow-read] main.ts -p PORT ...args` and
 * waits until it accepts TCP connections. With port 0 (the default) the
 * port is the one its start-up line names; with `--quiet` (no such line) a
 * free port is picked beforehand.
 *
 * @throws {Error} When it exits or times out before it listens (the child is killed).
 */
export async function startMain(
  args: string[],
  options: StartMainOptions = {},
): Promise<MainProcess> {
  const requested = options.port ?? (args.includes("--quiet") ? freePort() : 0);
  const deno = [
    Deno.execPath(),
    "run",
    "--allow-net",
    ...(options.allowRead ? ["--allow-read"] : []),
    ...(options.denoFlags ?? []),
    MAIN,
    "-p",
    String(requested),
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
  const watch = watchStderr(child.stderr);
  const stderr = watch.all;
  const timeoutMs = options.timeoutMs ?? 15_000;
  let port = requested;
  if (port === 0) {
    try {
      port = Number((await watch.match(/ listening on \S+:(\d+) /, timeoutMs))[1]);
    } catch (err) {
      await stop(child, "SIGKILL");
      throw err;
    }
  }
  await waitForPort(port, child, "main.ts", timeoutMs, () => stderr);
  return {
    port,
    child,
    stderr: () => stderr,
    stderrMatch: watch.match,
    async [Symbol.asyncDispose]() {
      await stop(child, "SIGKILL");
      await stderr;
    },
  };
}

/** Collects a stream's text, and finds patterns in it as it arrives. */
function watchStderr(stream: ReadableStream<Uint8Array>): {
  all: Promise<string>;
  match: (pattern: RegExp, timeoutMs?: number) => Promise<RegExpMatchArray>;
} {
  let text = "";
  const waiters = new Set<() => void>();
  const all = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      text += decoder.decode(chunk, { stream: true });
      for (const check of waiters) check();
    }
    text += decoder.decode();
    return text;
  })();
  const match = (pattern: RegExp, timeoutMs = 15_000) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const fail = (why: string) => {
        if (!waiters.delete(check)) return;
        clearTimeout(timer);
        reject(new Error(`main.ts ${why} without printing ${pattern}; stderr: ${text}`));
      };
      const timer = setTimeout(() => fail(`ran ${timeoutMs} ms`), timeoutMs);
      const check = () => {
        const found = text.match(pattern);
        if (!found) return;
        waiters.delete(check);
        clearTimeout(timer);
        resolve(found);
      };
      waiters.add(check);
      check();
      all.then(() => fail("exited"), reject);
    });
  return { all, match };
}
