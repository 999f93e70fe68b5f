/**
 * A server worker for the test of a failure during start: the worker
 * numbered 1 of a {@linkcode ThreadedServer} throws just after it listens,
 * while every other worker takes its start message 2 s late.
 *
 * @module
 */
import "../../lib/server_worker.ts";

const scope = self as unknown as {
  name: string;
  onmessage: ((event: MessageEvent<{ kind: string }>) => void) | null;
};
const handle = scope.onmessage!;
if (scope.name.endsWith(" 1")) {
  scope.onmessage = (event) => {
    handle(event);
    if (event.data.kind !== "start") return;
    setTimeout(() => {
      throw new Error("Deliberate failure of a test worker");
    }, 50);
  };
} else {
  scope.onmessage = (event) => setTimeout(() => handle(event), 2000);
}
