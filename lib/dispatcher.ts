import { executeBinary } from "./binary/execute_binary.ts";
import type { CommandContext } from "./command_context.ts";
import type { Request, Response } from "./messages.ts";
import { drained } from "./backpressure.ts";
import type { RwLock } from "./rw_lock.ts";
import { executeText } from "./text/execute_text.ts";

/** Options of a {@linkcode Dispatcher}. */
export interface DispatcherOptions {
  /**
   * Bytes of responses one batch may produce before the rest of the batch
   * waits for the connection to take them: a client that pipelines without
   * reading is paused, not buffered without bound.
   * @default {1048576}
   */
  maxPendingOutput?: number;
}

/**
 * Runs each batch of requests against the store, in order, under a read
 * share of the store lock, and emits the batch's responses as one array.
 * Stops at the first request that closes the connection. A batch whose
 * responses pass `maxPendingOutput` bytes is emitted in parts, each waiting
 * until the previous one has been taken downstream.
 *
 * @example Usage
 * ```ts ignore
 * const dispatcher = new Dispatcher(ctx, lock);
 * decoded.pipeThrough(dispatcher).pipeThrough(new FrameEncoder());
 * ```
 */
export class Dispatcher extends TransformStream<Request[], Response[]> {
  constructor(ctx: CommandContext, lock: RwLock, options: DispatcherOptions = {}) {
    const budget = options.maxPendingOutput ?? 1024 * 1024;
    let closed = false;
    /** Runs `batch` from `start` until done or over budget; returns where to resume. */
    const run = (
      batch: Request[],
      start: number,
      controller: TransformStreamDefaultController<Response[]>,
    ) => {
      const out: Response[] = [];
      const next = dispatchSome(batch, start, ctx, out, budget);
      const last = out[out.length - 1];
      closed = last !== undefined && last.kind === "close";
      if (out.length > 0) controller.enqueue(out);
      return closed ? batch.length : next;
    };
    const resume = async (
      batch: Request[],
      start: number,
      controller: TransformStreamDefaultController<Response[]>,
    ) => {
      let next = start;
      while (next < batch.length) {
        if (next > 0 && !(await drained(controller))) return;
        const guard = await lock.read();
        try {
          next = run(batch, next, controller);
        } finally {
          guard.release();
        }
      }
    };
    super({
      transform(batch, controller) {
        if (closed) return;
        const guard = lock.tryRead();
        if (!guard) return resume(batch, 0, controller);
        let next: number;
        try {
          next = run(batch, 0, controller);
        } finally {
          guard.release();
        }
        return next < batch.length ? resume(batch, next, controller) : undefined;
      },
    });
  }
}

/**
 * Runs `batch` from `start` into `out` until it ends, a request closes the
 * connection, or the responses pass `budget` bytes; returns the index of the
 * first request not run (`batch.length` when none is left).
 */
export function dispatchSome(
  batch: Request[],
  start: number,
  ctx: CommandContext,
  out: Response[],
  budget: number,
): number {
  let bytes = 0;
  for (let i = start; i < batch.length; i++) {
    const req = batch[i];
    const before = out.length;
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
    if (last !== undefined && last.kind === "close") return batch.length;
    for (let j = before; j < out.length; j++) bytes += responseSize(out[j]);
    if (bytes > budget) return i + 1;
  }
  return batch.length;
}

/** Roughly the bytes a response will take on the wire. */
function responseSize(res: Response): number {
  if (res.kind === "binary") return 24 + res.key.length + res.value.length;
  if (res.kind === "close") return 0;
  let n = 0;
  for (const part of res.parts) n += part.length;
  return n;
}
