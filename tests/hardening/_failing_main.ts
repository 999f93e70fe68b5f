/**
 * `main.ts` whose worker 1 throws (`throwing_worker.ts`): how the command
 * line ends when a worker fails.
 *
 * @module
 */
import { ThreadedServer } from "../../lib/threaded_server.ts";
import { main } from "../../main.ts";

const workerUrl = new URL("../_support/throwing_worker.ts", import.meta.url);
Deno.exit(await main(Deno.args, (options) => ThreadedServer.start(options, { workerUrl })));
