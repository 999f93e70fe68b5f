/**
 * A server worker that throws once it has served for a moment: the worker
 * numbered 1 of a {@linkcode ThreadedServer}, for the tests of a failing
 * worker. The others serve as usual.
 *
 * @module
 */
import "../../lib/server_worker.ts";

if ((self as unknown as { name: string }).name.endsWith(" 1")) {
  setTimeout(() => {
    throw new Error("Deliberate failure of a test worker");
  }, 500);
}
