/**
 * mbserver's command line: `deno run --allow-net main.ts [flags] [HOST:PORT]`.
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
  const server = await startServer(cli.options);
  const stop = () => void server.close();
  for (const signal of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(signal, stop);
  if ((cli.options.verbose ?? 0) > 0) {
    console.error(`mbserver ${VERSION} listening on ${server.hostname}:${server.port}`);
  }
  await server.finished;
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
