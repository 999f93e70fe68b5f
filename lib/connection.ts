import type { CommandContext } from "./command_context.ts";
import type { ConnectionInfo } from "./connection_info.ts";
import type { ConnectionLimits, LimitedConnection } from "./connection_limits.ts";
import { ConnectionState } from "./connection_state.ts";
import { Dispatcher } from "./dispatcher.ts";
import { type Duplex, isDisconnect } from "./duplex.ts";
import { FrameDecoder, type Parser } from "./frame_decoder.ts";
import { FrameEncoder } from "./frame_encoder.ts";
import type { MemoryReclaimer } from "./memory_reclaimer.ts";
import type { LatencyHistogram } from "./metrics/latency_histogram.ts";
import { ReadArena } from "./read_arena.ts";
import type { RwLock } from "./rw_lock.ts";

/** What every connection of a server shares: one object for all of them. */
export interface ConnectionShared {
  /** The server's command context: store, counters, settings, log. */
  context: CommandContext;
  lock: RwLock;
  limits: ConnectionLimits;
  /** Bytes of replies one connection may have pending (see `DispatcherOptions`). */
  maxPendingOutput: number;
  /** Where dispatchers record how long requests take (the metrics endpoint), if anywhere. */
  durations?: LatencyHistogram;
  /** Monotonic time in ms. */
  now(): number;
  /** Told of every pipeline that ends: each leaves garbage. */
  reclaimer: MemoryReclaimer;
}

/**
 * Bytes that come sooner than this (ms) after a connection's last pipeline
 * for one batch ended get a pipeline that stays; later ones get another
 * pipeline for one batch.
 */
export const HOT_MS = 100;

/**
 * One client connection, from accept to close. Every request goes through
 * a FrameDecoder → Dispatcher → FrameEncoder pipeline, but a connection only
 * has one while it has something to do, so thousands of idle connections
 * cost little more than their pending read:
 *
 * - bytes that come after a pause (or first) get a pipeline for one batch:
 *   once it has decoded what was read and nothing is half read, it ends
 *   instead of reading on, and its objects die young;
 * - bytes that come within {@linkcode HOT_MS} of the last pipeline's end get
 *   a pipeline that stays: a busy connection pays nothing per request. It is
 *   let go once the connection has waited for its next request through a
 *   whole {@linkcode Connection.releaseIfIdle} period.
 *
 * The read pending when the pipeline is let go is not lost: its bytes start
 * the next pipeline. The parser (protocol and any request half read) and
 * the connection's protocol state (authentication) are handed from one
 * pipeline to the next.
 *
 * @example Usage
 * ```ts ignore
 * const connection = new Connection(conn, shared, 1);
 * setInterval(() => connection.releaseIfIdle(), 1000);
 * await connection.done;
 * ```
 */
export class Connection {
  /** Settles once the connection has closed. */
  readonly done: Promise<void>;
  #io: Duplex;
  #shared: ConnectionShared;
  #state: ConnectionState;
  #limited: LimitedConnection;
  #protocol: "binary" | "text" | undefined;
  #arena = new ReadArena();
  #parser: Parser | undefined;
  /** The live pipeline's input, while there is one. */
  #input: WritableStreamDefaultWriter<Uint8Array> | undefined;
  /** The pipeline's pending read; the next pipeline's first bytes if the pipeline is let go. */
  #inflight: Promise<Uint8Array | null> | undefined;
  /** A pipeline read completed since the last idle check. */
  #fresh = false;
  /** When the last pipeline for one batch ended; -Infinity after a pipeline was let go idle. */
  #endedAt = -Infinity;
  #pipelines = 0;
  #ended = false;
  #stopped = false;
  #wake: ((chunk: null) => void) | undefined;

  constructor(io: Duplex, shared: ConnectionShared, id: number) {
    this.#io = io;
    this.#shared = shared;
    this.#state = new ConnectionState({ id, context: shared.context });
    this.#limited = shared.limits.add(() => this.close());
    this.done = this.#serve();
  }

  /** What `stats conns` shows of this connection. */
  info(): ConnectionInfo {
    return {
      id: this.#state.id,
      addr: address(this.#io.remoteAddr),
      listenAddr: address(this.#io.localAddr),
      ...this.activity(),
    };
  }

  /** The part of {@linkcode Connection.info} that changes: its last command, and whether it holds part of a request. */
  activity(): Pick<ConnectionInfo, "lastCommand" | "partial"> {
    return { lastCommand: this.#limited.lastCommand, partial: this.#limited.partialSince >= 0 };
  }

  /** How many pipelines this connection has built. */
  get pipelines(): number {
    return this.#pipelines;
  }

  /**
   * Lets the pipeline go if the connection has been waiting for bytes since
   * the previous call; call it periodically. Returns whether it did.
   */
  releaseIfIdle(): boolean {
    if (this.#input === undefined || this.#inflight === undefined) return false;
    if (this.#fresh) {
      this.#fresh = false;
      return false;
    }
    this.#endedAt = -Infinity;
    this.#endInput();
    return true;
  }

  /** Stops reading requests; those already read are answered, then the connection closes. */
  stop(): void {
    this.#stopped = true;
    this.#endInput();
    this.#wake?.(null);
  }

  /** Closes the connection at once. */
  close(): void {
    try {
      this.#io.close();
    } catch {
      // already closed
    }
  }

  async #serve(): Promise<void> {
    const { settings, log } = this.#shared.context;
    const id = this.#state.id;
    if (settings.verbose > 1) log(`<${id} new auto-negotiating client connection`);
    try {
      while (!this.#stopped) {
        const chunk = await this.#idleRead();
        if (chunk === null || await this.#pipeline(chunk)) break;
      }
    } catch (err) {
      if (!isDisconnect(err) && settings.verbose > 0) {
        log(`connection ${id} failed: ${(err as Error).message}`);
      }
    } finally {
      this.#limited.remove();
      this.close();
      if (this.#protocol) this.#shared.context.stats.protocolClosed(this.#protocol);
    }
    if (settings.verbose > 1) log(`<${id} connection closed.`);
  }

  /** The next bytes while no pipeline runs; null at the end (or on stop). */
  #idleRead(): Promise<Uint8Array | null> {
    const read = this.#inflight ?? this.#read(true);
    this.#inflight = undefined;
    return new Promise((resolve, reject) => {
      this.#wake = resolve;
      read.then(resolve, reject);
    }).finally(() => this.#wake = undefined) as Promise<Uint8Array | null>;
  }

  /**
   * Runs one pipeline from `first` until it is let go (false) or the
   * connection ends (true). Bytes are written into the decoder and the
   * encoder's chunks read out to the socket by two loops of our own: fewer
   * objects to build than a source stream and a sink stream piped on.
   */
  async #pipeline(first: Uint8Array): Promise<boolean> {
    const shared = this.#shared;
    const { settings, stats } = shared.context;
    const decoder = new FrameDecoder({
      maxItemSize: settings.maxItemSize,
      onDecoded: this.#limited.decoded,
      parser: this.#parser,
      onProtocol: (protocol) => {
        this.#protocol = protocol;
        stats.protocolOpened(protocol);
      },
    });
    const encoder = new FrameEncoder();
    const output = decoder.readable
      .pipeThrough(
        new Dispatcher(shared.context, shared.lock, {
          maxPendingOutput: shared.maxPendingOutput,
          connection: this.#state,
          durations: shared.durations,
          now: shared.now,
        }),
      )
      .pipeThrough(encoder)
      .getReader();
    const input = decoder.writable.getWriter();
    this.#input = input;
    this.#fresh = true;
    this.#pipelines++;
    const oneBatch = shared.now() - this.#endedAt >= HOT_MS ? decoder : undefined;
    void this.#feed(input, first, oneBatch);
    try {
      await this.#send(output, encoder);
    } catch (err) {
      this.#ended = true;
      if (!isDisconnect(err) && settings.verbose > 0) {
        shared.context.log(`connection ${this.#state.id} failed: ${(err as Error).message}`);
      }
    } finally {
      this.#endInput();
      this.#parser = decoder.parser;
      shared.reclaimer.note();
    }
    return this.#ended || encoder.closeRequested;
  }

  /**
   * Writes `first`, then each read, into the pipeline until the connection
   * ends or the input is ended from outside (let go, stopped: the pending
   * read then starts the next pipeline). A pipeline for one batch
   * (`oneBatch`, its decoder) ends its input instead of reading on, unless a
   * request is half read.
   */
  async #feed(
    input: WritableStreamDefaultWriter<Uint8Array>,
    first: Uint8Array,
    oneBatch: FrameDecoder | undefined,
  ): Promise<void> {
    let chunk: Uint8Array | null = first;
    try {
      while (chunk !== null) {
        input.write(chunk).catch(() => {}); // a failure shows in `ready`
        await input.ready;
        if (input !== this.#input) return;
        if (oneBatch !== undefined && !oneBatch.parser?.buffered) {
          this.#endedAt = this.#shared.now();
          break;
        }
        const read = this.#read();
        this.#inflight = read;
        chunk = await read;
        if (input !== this.#input) return; // let go: the read starts the next pipeline
        this.#inflight = undefined;
        this.#fresh = true;
      }
      if (chunk === null) this.#ended = true;
      this.#endInput();
    } catch (err) {
      if (input !== this.#input) return;
      this.#input = undefined;
      this.#inflight = undefined;
      input.abort(err).catch(() => {});
    }
  }

  /** Writes each chunk the encoder makes to the socket, whole, until the output ends. */
  async #send(
    output: ReadableStreamDefaultReader<Uint8Array>,
    encoder: FrameEncoder,
  ): Promise<void> {
    const stats = this.#shared.context.stats.c;
    try {
      while (true) {
        const { done, value } = await output.read();
        if (done) return;
        this.#limited.writing(true);
        // Counted before the write: a client that has its reply never reads a
        // `stats` that lacks it (another worker may answer it meanwhile).
        stats.bytes_written += value.length;
        let written = 0;
        try {
          while (written < value.length) {
            written += await this.#io.write(written === 0 ? value : value.subarray(written));
          }
        } catch (err) {
          stats.bytes_written -= value.length - written;
          throw err;
        } finally {
          this.#limited.writing(false);
        }
        encoder.recycle(value);
      }
    } catch (err) {
      output.cancel(err).catch(() => {});
      throw err;
    }
  }

  /** Reads into the arena; `idle`: a read that may wait long, into a small arena. */
  #read(idle = false): Promise<Uint8Array | null> {
    const arena = this.#arena;
    return this.#io.read(idle ? arena.idleWindow() : arena.window()).then((n) => {
      if (n === null) return null;
      this.#shared.context.stats.c.bytes_read += n;
      return arena.commit(n);
    }, (err) => {
      if (isDisconnect(err)) return null;
      throw err;
    });
  }

  /** Ends the live pipeline's input: what it has read is still answered. */
  #endInput(): void {
    const input = this.#input;
    if (input === undefined) return;
    this.#input = undefined;
    input.close().catch(() => {});
  }
}

/** `tcp:HOST:PORT`, as memcached writes an address in `stats conns`. */
function address(addr: Deno.Addr | undefined): string {
  if (addr === undefined) return "unknown";
  return addr.transport === "tcp" ? `tcp:${addr.hostname}:${addr.port}` : addr.transport;
}
