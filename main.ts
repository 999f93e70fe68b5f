/**
 * mbserver's command line: `deno run --allow-net main.ts [flags] [HOST:PORT]`.
 *
 * `-Y FILE` (auth file) and `-Z` (TLS certificate and key files) also need
 * `--allow-read` for those files, `-e FILE` (snapshot) `--allow-read` and
 * `--allow-write` on its directory; a missing permission is refused with one
 * line naming the flag, never prompted for. Once listening it writes one
 * start-up line to stderr (`--quiet`: none). SIGINT and SIGTERM shut down
 * gracefully: stop accepting, answer what was already read, close, write the
 * snapshot (`-e`), exit 0.
 *
 * @module
 */
import { checkPermissions } from "./lib/check_permissions.ts";
import { FlagError, neededPermissions, parseFlags, USAGE, VERSION } from "./lib/config.ts";
import { type RunningServer, type ServerOptions, startServer } from "./lib/mod.ts";
import { startupLine } from "./lib/startup_line.ts";

/** Exit status for a usage error (sysexits' EX_USAGE). */
const EX_USAGE = 64;

/**
 * Runs the command line `args` to its end; returns the exit status. `start`
 * starts the server (tests give one whose workers fail).
 */
export async function main(
  args: string[],
  start: (options: ServerOptions) => Promise<RunningServer> = startServer,
): Promise<number> {
  let cli;
  try {
    cli = parseFlags(args);
  } catch (err) {
    if (!(err instanceof FlagError)) throw err;
    console.error(`mbserver: ${err.message} (see --help)`);
    return EX_USAGE;
  }
  if (cli.action === "help") {
    console.log(USAGE);
    return 0;
  }
  if (cli.action === "version") {
    console.log(`mbserver ${VERSION}`);
    return 0;
  }
  const missing = checkPermissions(neededPermissions(cli.options));
  if (missing !== undefined) {
    console.error(`mbserver: ${missing}`);
    return 1;
  }
  // Signals are heard from the start: workers may listen (and clients
  // connect) before every one of them is up.
  let server: RunningServer | undefined;
  let stopping = false;
  const stop = () => {
    stopping = true;
    void server?.close();
  };
  const signals = ["SIGINT", "SIGTERM"] as const;
  for (const signal of signals) Deno.addSignalListener(signal, stop);
  try {
    try {
      server = await start(cli.options);
    } catch (err) {
      console.error(`mbserver: ${(err as Error).message}`);
      return 1;
    }
    if (stopping) void server.close();
    else if (!cli.quiet) {
      console.error(
        startupLine({
          options: cli.options,
          hostname: server.hostname,
          port: server.port,
          metricsPort: server.metricsPort,
          restored: server.snapshotter?.restored,
        }),
      );
    }
    try {
      await server.finished;
    } catch {
      // A worker failed; the server logged it and stopped every worker.
      return 1;
    }
    // With -e, a failed last snapshot (already logged) is a failed stop.
    if (server.snapshotter && !(await server.snapshotter.close())) return 1;
    return 0;
  } finally {
    for (const signal of signals) Deno.removeSignalListener(signal, stop);
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
