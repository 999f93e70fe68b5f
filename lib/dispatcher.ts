import { drained } from "./backpressure.ts";
import { executeBinary } from "./binary/execute_binary.ts";
import type { CommandContext } from "./command_context.ts";
import { ConnectionState } from "./connection_state.ts";
import type { Request, Response } from "./messages.ts";
import { commandSeries } from "./metrics/command_series.ts";
import type { LatencyHistogram } from "./metrics/latency_histogram.ts";
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
  /** The connection's number, for logs (without `connection`). @default {0} */
  connectionId?: number;
  /**
   * The connection's protocol state, when it outlives this dispatcher (a
   * connection that builds a new pipeline after a pause keeps its
   * authentication). @default {a new one}
   */
  connection?: ConnectionState;
  /**
   * Where to record how long each request takes, from the dispatcher taking
   * it up to its replies queued for the writer, by command
   * (`COMMAND_NAMES`). @default {not timed}
   */
  durations?: LatencyHistogram;
}

/**
 * Runs each batch of requests in order, under a read share of the store
 * lock, and emits the batch's responses as one array. It owns the
 * connection's {@linkcode ConnectionState} (or is handed it, by a connection
 * that outlives its pipelines); the protocols run each command
 * through the command layer, where each command says which share of the
 * lock it needs (`Command.access`). Stops at the first request that closes
 * the connection. A batch whose responses pass `maxPendingOutput` bytes is
 * emitted in parts, each waiting until the previous one has been taken
 * downstream.
 *
 * @example Usage
 * ```ts
 * import { CommandContext } from "./command_context.ts";
 * import { Dispatcher } from "./dispatcher.ts";
 * import { RwLock } from "./rw_lock.ts";
 * import assert from "node:assert/strict";
 *
 * const batches = await Array.fromAsync(
 *   ReadableStream.from([[{ kind: "text" as const, words: ["version"] }]])
 *     .pipeThrough(new Dispatcher(new CommandContext(), new RwLock())),
 * );
 * assert.equal(batches[0][0].kind, "text");
 * ```
 */
export class Dispatcher extends TransformStream<Request[], Response[]> {
  constructor(ctx: CommandContext, lock: RwLock, options: DispatcherOptions = {}) {
    const budget = options.maxPendingOutput ?? 1024 * 1024;
    const durations = options.durations;
    const connection = options.connection ??
      new ConnectionState({ id: options.connectionId ?? 0, context: ctx });
    let closed = false;
    /** Runs `batch` from `start` until done or over budget; returns where to resume. */
    const run = (
      batch: Request[],
      start: number,
      controller: TransformStreamDefaultController<Response[]>,
    ) => {
      const out = connection.begin();
      const next = runSome(batch, { start, connection, out, budget, durations });
      closed = connection.closing;
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

/** Where {@linkcode runSome} starts, what it runs on, and how much it may queue. */
interface RunOptions {
  /** Index of the first request to run. */
  start: number;
  connection: ConnectionState;
  /** Where the connection queues replies (from its `begin()`). */
  out: Response[];
  /** Bytes of responses after which it stops. */
  budget: number;
  /** Where to record each request's duration, if anywhere. */
  durations: LatencyHistogram | undefined;
}

/**
 * Runs `batch` from `start`, queueing replies on the connection, until it
 * ends, a request closes the connection, or the replies pass `budget` bytes;
 * returns the index of the first request not run (`batch.length` when none
 * is left).
 */
function runSome(batch: Request[], options: RunOptions): number {
  const { connection, out, budget, durations } = options;
  let bytes = 0;
  let started = durations ? performance.now() : 0;
  for (let i = options.start; i < batch.length; i++) {
    const req = batch[i];
    const before = out.length;
    switch (req.kind) {
      case "binary":
        executeBinary(req, connection);
        break;
      case "text":
        executeText(req, connection);
        break;
      case "close":
        if (req.reply) connection.reply(req.reply);
        connection.close();
        break;
    }
    if (durations) {
      const now = performance.now();
      durations.record(commandSeries(req), (now - started) * 1000);
      started = now;
    }
    if (connection.closing) return batch.length;
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
