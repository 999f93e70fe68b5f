/**
 * The code of one worker of a server with several ({@linkcode ThreadedServer}
 * starts it): a {@linkcode Server} listening with `reusePort` beside the
 * other workers, attached to their shared store, lock and counters. It talks
 * to the main thread with the messages below; an uncaught error reaches the
 * main thread as the worker's `error` event, and the whole server stops.
 *
 * @module
 */
import type { ServerOptions } from "./config.ts";
import { Server, type WorkerSetup } from "./server.ts";

/** What the main thread sends: first the setup, later `"close"`. */
export type ToWorker =
  | {
    kind: "start";
    /** The server's options (without functions: logs go back to the main thread). */
    options: ServerOptions;
    setup: Omit<WorkerSetup, "shutdown">;
  }
  | { kind: "close" };

/** What a worker sends back. */
export type FromWorker =
  | { kind: "listening" }
  | { kind: "failed"; message: string }
  | { kind: "crashed"; message: string }
  | { kind: "log"; line: string }
  | { kind: "shutdown" }
  | { kind: "closed" };

/** The worker's side of its channel (the window types do not know it). */
const port = self as unknown as {
  onmessage: ((event: MessageEvent<ToWorker>) => void) | null;
  postMessage(message: FromWorker): void;
  close(): void;
};

// An uncaught error or rejection: the main thread stops the whole server
// (and says so once); this worker's state, and the store's, is unknown.
self.addEventListener("error", (event) => {
  event.preventDefault();
  port.postMessage({ kind: "crashed", message: event.message });
});
self.addEventListener("unhandledrejection", (event) => {
  event.preventDefault();
  const reason = event.reason;
  port.postMessage({ kind: "crashed", message: String(reason?.stack ?? reason) });
});

let server: Server | undefined;

port.onmessage = async (event) => {
  const message = event.data;
  if (message.kind === "start") {
    try {
      server = Server.inWorker({
        ...message.options,
        log: (line) => port.postMessage({ kind: "log", line }),
      }, { ...message.setup, shutdown: () => port.postMessage({ kind: "shutdown" }) });
    } catch (err) {
      port.postMessage({ kind: "failed", message: (err as Error).message });
      return;
    }
    port.postMessage({ kind: "listening" });
    return;
  }
  await server?.close();
  port.postMessage({ kind: "closed" });
  port.close();
};
