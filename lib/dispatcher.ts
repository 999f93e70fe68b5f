import { executeBinary } from "./binary/execute_binary.ts";
import type { CommandContext } from "./command_context.ts";
import type { Request, Response } from "./messages.ts";
import type { RwLock } from "./rw_lock.ts";
import { executeText } from "./text/execute_text.ts";

/**
 * Runs each batch of requests against the store, in order, under a read
 * share of the store lock, and emits the batch's responses as one array.
 * Stops at the first request that closes the connection.
 *
 * @example Usage
 * ```ts ignore
 * const dispatcher = new Dispatcher(ctx, lock);
 * decoded.pipeThrough(dispatcher).pipeThrough(new FrameEncoder());
 * ```
 */
export class Dispatcher extends TransformStream<Request[], Response[]> {
  constructor(ctx: CommandContext, lock: RwLock) {
    let closed = false;
    const run = (batch: Request[], controller: TransformStreamDefaultController<Response[]>) => {
      const out: Response[] = [];
      closed = dispatch(batch, ctx, out);
      if (out.length > 0) controller.enqueue(out);
    };
    super({
      transform(batch, controller) {
        if (closed) return;
        const guard = lock.tryRead();
        if (guard) {
          try {
            run(batch, controller);
          } finally {
            guard.release();
          }
          return;
        }
        return lock.read().then((guard) => {
          try {
            run(batch, controller);
          } finally {
            guard.release();
          }
        });
      },
    });
  }
}

/** Runs a batch into `out`; returns true when the connection must close. */
export function dispatch(batch: Request[], ctx: CommandContext, out: Response[]): boolean {
  for (const req of batch) {
    switch (req.kind) {
      case "binary":
        executeBinary(req, ctx, out);
        break;
      case "text":
        executeText(req, ctx, out);
        break;
      case "close":
        if (req.reply) out.push(req.reply);
        out.push({ kind: "close" });
        break;
    }
    const last = out[out.length - 1];
    if (last !== undefined && last.kind === "close") return true;
  }
  return false;
}
