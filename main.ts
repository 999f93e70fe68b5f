/**
 * mbserver's command line: `deno run --allow-net main.ts [flags] [HOST:PORT]`.
 *
 * `-Y FILE` (auth file) and `-Z` (TLS certificate and key files) also need
 * `--allow-read` for those files; a missing permission is refused with one
 * line naming the flag, never prompted for. Once listening it writes one
 * start-up line to stderr (`--quiet`: none). SIGINT and SIGTERM shut down
 * gracefully: stop accepting, answer what was already read, close, exit 0.
 *
 * @module
 */
import { checkPermissions } from "./lib/check_permissions.ts";
import { FlagError, neededPermissions, parseFlags, USAGE, VERSION } from "./lib/config.ts";
import { startServer } from "./lib/mod.ts";
import { startupLine } from "./lib/startup_line.ts";

/** Exit status for a usage error (sysexits' EX_USAGE). */
const EX_USAGE = 64;

async function main(args: string[]): Promise<number> {
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
  let server;
  try {
    server = await startServer(cli.options);
  } catch (err) {
    console.error(`mbserver: ${(err as Error).message}`);
    return 1;
  }
  const stop = () => void server.close();
  const signals = ["SIGINT", "SIGTERM"] as const;
  for (const signal of signals) Deno.addSignalListener(signal, stop);
  if (!cli.quiet) {
    console.error(
      startupLine({
        options: cli.options,
        hostname: server.hostname,
        port: server.port,
        metricsPort: server.metricsPort,
      }),
    );
  }
  await server.finished;
  for (const signal of signals) Deno.removeSignalListener(signal, stop);
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
