/**
 * mbserver's command line: `deno run --allow-net main.ts [flags] [HOST:PORT]`.
 *
 * `-Y FILE` (auth file) and `-Z` (TLS certificate and key files) also need
 * `--allow-read` for those files. SIGINT and SIGTERM shut down gracefully:
 * stop accepting, answer what was already read, close, exit 0.
 *
 * @module
 */
import { FlagError, parseFlags, USAGE, VERSION } from "./lib/config.ts";
import { startServer } from "./lib/mod.ts";

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
  if ((cli.options.verbose ?? 0) > 0) {
    console.error(`mbserver ${VERSION} listening on ${server.hostname}:${server.port}`);
  }
  await server.finished;
  for (const signal of signals) Deno.removeSignalListener(signal, stop);
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
