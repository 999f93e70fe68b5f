/**
 * For `bench/share_nothing.ts` only: one mbserver worker with a store, lock
 * and counters of its own, listening with `reusePort`, so that two of these
 * processes serve one port with nothing shared: the best any `-t 2` could do
 * under a one-port load. Two caches behind one port are wrong for clients;
 * this exists to size the measurement, never to serve.
 *
 * ```sh
 * deno run --allow-net bench/_lone_worker.ts PORT
 * ```
 *
 * @module
 */
import { Server, storeOptions } from "../lib/server.ts";
import { Stats } from "../lib/stats.ts";
import { RwLock } from "../lib/rw_lock.ts";
import { Store } from "../lib/store/store.ts";

const port = Number(Deno.args[0]);
if (!Number.isInteger(port) || port <= 0) {
  throw new Error(`Usage: _lone_worker.ts PORT (a port number, not "${Deno.args[0]}")`);
}
const options = { port, hostname: "127.0.0.1", memoryLimitMiB: 1024 };
const now = Math.floor(Date.now() / 1000);
const clock = new SharedArrayBuffer(8);
const time = new Float64Array(clock);
time[0] = Date.now();
setInterval(() => time[0] = Date.now(), 100);
const server = Server.inWorker(options, {
  store: Store.create(storeOptions(options, { now, workers: 1 })).memory,
  lock: new RwLock().buffer,
  stats: Stats.allocate({ workers: 1, startedAt: now }),
  worker: 0,
  threads: 1,
  spinMicros: 0,
  clock,
  shutdown: () => Deno.exit(0),
});
console.log(`listening on ${server.port}`);
Deno.addSignalListener("SIGTERM", () => server.close().then(() => Deno.exit(0)));
