import { drained } from "./backpressure.ts";
import { binaryAccess, binaryReadsOnce, executeBinary } from "./binary/execute_binary.ts";
import type { Access, CommandContext } from "./command_context.ts";
import { ConnectionState } from "./connection_state.ts";
import type { Request, Response, ResponseBatch } from "./messages.ts";
import { commandSeries } from "./metrics/command_series.ts";
import type { LatencyHistogram } from "./metrics/latency_histogram.ts";
import type { RwLock, RwLockGuard } from "./rw_lock.ts";
import { type ReadCheck, ReadConflict } from "./store/read_conflict.ts";
import { executeText, textAccess, textReadsOnce } from "./text/execute_text.ts";

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
   * (`COMMAND_NAMES`); a request that waited for the store lock or for the
   * client to take earlier replies counts the wait. @default {not timed}
   */
  durations?: LatencyHistogram;
  /** The clock of `durations`, in milliseconds. @default {performance.now} */
  now?: () => number;
}

/**
 * Runs each batch of requests in order and emits the batch's responses as
 * one array. Each request runs under the share of the store lock its
 * command needs (`Command.access`, read or write): a run of requests keeps
 * the share it holds while the next needs no more, a read share is given up
 * for the write lock when a request needs that (which is then kept for the
 * rest of the batch), and every share is released before the responses go
 * downstream, so none is held across a socket write or an `await`. When a
 * share cannot be had at once, the batch waits for it in turn (a waiter
 * always takes and releases its turn, even if the connection closed). It
 * owns the connection's {@linkcode ConnectionState} (or is handed it, by a
 * connection that outlives its pipelines). Stops at the first request that
 * closes the connection. A batch whose responses pass `maxPendingOutput`
 * bytes is emitted in parts, each waiting until the previous one has been
 * taken downstream.
 *
 * @example Usage
 * ```ts
 * import { CommandContext } from "./command_context.ts";
 * import { Dispatcher } from "./dispatcher.ts";
 * import { RwLock } from "./rw_lock.ts";
 * import assert from "node:assert/strict";
 *
 * const batches = await Array.fromAsync(
 *   ReadableStream.from([[{ kind: "text" as const, words: ["version"], keys: [] }]])
 *     .pipeThrough(new Dispatcher(new CommandContext(), new RwLock())),
 * );
 * assert.equal(batches[0][0].kind, "text");
 * ```
 */
export class Dispatcher extends TransformStream<Request[], ResponseBatch> {
  constructor(ctx: CommandContext, lock: RwLock, options: DispatcherOptions = {}) {
    const budget = options.maxPendingOutput ?? 1024 * 1024;
    const durations = options.durations;
    const now = options.now ?? (() => performance.now());
    const connection = options.connection ??
      new ConnectionState({ id: options.connectionId ?? 0, context: ctx });
    connection.partLimit = budget;
    let closed = false;
    const check = new StampCheck(lock);
    /**
     * Runs `batch` from `start` holding `guard` (a share of `held`), taking
     * shares as requests need them, until done, over budget, or a share
     * cannot be had at once; emits the responses and releases the share.
     */
    const values = connection.values;
    const run = (
      batch: Request[],
      from: Held,
      controller: TransformStreamDefaultController<ResponseBatch>,
    ): Stop => {
      const out: ResponseBatch = connection.begin();
      const timing = durations && { histogram: durations, now, since: from.since ?? now() };
      const stop = runSome(batch, { from, lock, check, connection, out, budget, timing });
      closed = connection.closing;
      if (out.length > 0) {
        // The values copied for these replies are free once the encoder copied them on.
        const mark = values.seal();
        out.encoded = () => values.release(mark);
        controller.enqueue(out);
      }
      return closed ? { next: batch.length, need: "none", since: 0 } : stop;
    };
    const resume = async (
      batch: Request[],
      stop: Stop,
      controller: TransformStreamDefaultController<ResponseBatch>,
    ) => {
      while (stop.next < batch.length) {
        if (stop.need === "none") {
          if (!(await drained(controller))) return;
          stop = run(batch, { start: stop.next, held: "none", since: stop.since }, controller);
          continue;
        }
        // The turn is taken (and released by run) even if the stream ended meanwhile.
        const guard = await (stop.need === "write" ? lock.write() : lock.read());
        const from = { start: stop.next, held: stop.need, guard, since: stop.since };
        stop = run(batch, from, controller);
      }
    };
    super({
      transform(batch, controller) {
        if (closed) return;
        const stop = run(batch, { start: 0, held: "none" }, controller);
        return stop.next < batch.length ? resume(batch, stop, controller) : undefined;
      },
    });
  }
}

/**
 * Where a run starts, the share of the lock it starts with, and (when a
 * request there waited) since when that request has been waiting.
 */
type Held =
  | { start: number; held: "none"; since?: number }
  | { start: number; held: "read" | "write"; guard: RwLockGuard; since?: number };

/** Where a run stopped, and what the request there waits for ("none": output room). */
interface Stop {
  next: number;
  need: Access;
  /** When the request there was taken up (with timing): its duration counts the wait. */
  since: number;
}

/** How {@linkcode runSome} times requests. */
interface Timing {
  histogram: LatencyHistogram;
  now: () => number;
  /** When the first request of the run was taken up (earlier if it waited). */
  since: number;
}

/** What {@linkcode runSome} runs on, and how much it may queue. */
interface RunOptions {
  /** The first request and the share held for it. */
  from: Held;
  lock: RwLock;
  /** The check of an optimistic read, reused for every one. */
  check: StampCheck;
  connection: ConnectionState;
  /** Where the connection queues replies (from its `begin()`). */
  out: Response[];
  /** Bytes of responses after which it stops. */
  budget: number;
  /** Where and how to record each request's duration, if anywhere. */
  timing: Timing | undefined;
}

/**
 * Runs `batch` from `from.start`, queueing replies on the connection, until
 * it ends, a request closes the connection, the replies pass `budget` bytes,
 * or a request needs a share of the lock that cannot be had at once;
 * returns where it stopped and what for. Releases every share it held.
 */
function runSome(batch: Request[], options: RunOptions): Stop {
  const { connection, out, budget, lock, timing } = options;
  const ctx = connection.context;
  let held: Access = options.from.held;
  let guard = options.from.held === "none" ? undefined : options.from.guard;
  let bytes = 0;
  let started = timing ? timing.since : 0;
  try {
    for (let i = options.from.start; i < batch.length; i++) {
      const req = batch[i];
      const need = accessOf(req);
      const before = out.length;
      const ran = need === "read" && held === "none" && readsOnce(req, ctx) &&
        runOptimistic(req, options);
      if (!ran) {
        if (need === "write" ? held !== "write" : need === "read" && held === "none") {
          guard?.release();
          guard = need === "write" ? lock.tryWrite() : lock.tryRead();
          held = guard ? need : "none";
          if (!guard) return { next: i, need, since: started };
        }
        ctx.held = held;
        execute(req, connection);
      }
      if (connection.closing) return { next: batch.length, need: "none", since: 0 };
      // A request that stopped part way runs again once its part is taken.
      if (connection.resumeAt > 0) return { next: i, need: "none", since: started };
      if (timing) {
        const now = timing.now();
        timing.histogram.record(commandSeries(req), (now - started) * 1000);
        started = now;
      }
      for (let j = before; j < out.length; j++) bytes += responseSize(out[j]);
      if (bytes > budget) return { next: i + 1, need: "none", since: started };
    }
    return { next: batch.length, need: "none", since: 0 };
  } finally {
    ctx.held = undefined;
    guard?.release();
  }
}

/** Runs a request: decodes what it asks, runs its command, queues its replies. */
function execute(req: Request, connection: ConnectionState): void {
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
}

/**
 * Runs a one-key get holding no share of the lock, under a stamp of
 * {@linkcode RwLock.optimistic}: no thread's turn then waits for it, and it
 * writes nothing shared but a first fetch's mark. False when it could not (a
 * writer holds the lock, or one had a turn while it read, or the read would
 * have to bump the item or mark it dead): nothing was queued or counted, and
 * it is to run under a share.
 */
function runOptimistic(req: Request, options: RunOptions): boolean {
  const { check, connection, out } = options;
  if (!check.begin()) return false;
  const ctx = connection.context;
  const before = out.length;
  ctx.held = "read";
  ctx.check = check;
  try {
    execute(req, connection);
    return true;
  } catch (err) {
    if (!(err instanceof ReadConflict)) throw err;
    out.length = before;
    return false;
  } finally {
    ctx.check = undefined;
  }
}

/** The stamp of an optimistic read and its check ({@linkcode RwLock.optimistic}). */
class StampCheck implements ReadCheck {
  #lock: RwLock;
  #stamp = -1;

  constructor(lock: RwLock) {
    this.#lock = lock;
  }

  /** Takes a stamp; false when a writer holds the lock. */
  begin(): boolean {
    this.#stamp = this.#lock.optimistic();
    return this.#stamp >= 0;
  }

  valid(): boolean {
    return this.#lock.validate(this.#stamp);
  }
}

/** Whether a request may run optimistically (a one-key get), and logs nothing it would log twice. */
function readsOnce(req: Request, ctx: CommandContext): boolean {
  if (ctx.settings.verbose > 1) return false;
  if (req.kind === "binary") return binaryReadsOnce(req);
  return req.kind === "text" && textReadsOnce(req);
}

/** The share of the store lock a request needs. */
function accessOf(req: Request): Access {
  if (req.kind === "binary") return binaryAccess(req);
  if (req.kind === "text") return textAccess(req);
  return "none";
}
/** Roughly the bytes a response will take on the wire. */
function responseSize(res: Response): number {
  if (res.kind === "binary") return 24 + res.key.length + res.value.length;
  if (res.kind === "close") return 0;
  let n = 0;
  for (const part of res.parts) n += part.length;
  return n;
}
