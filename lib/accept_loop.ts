import { isDisconnect } from "./duplex.ts";
import type { StatCounters } from "./stats.ts";

/** Options of an {@linkcode AcceptLoop}. */
export interface AcceptLoopOptions {
  /** Takes each accepted connection. */
  onConn(conn: Deno.Conn): void;
  /** Counters: `accepting_conns`, `listen_disabled_num`, `time_in_listen_disabled_us`. */
  stats: Pick<
    StatCounters,
    "accepting_conns" | "listen_disabled_num" | "time_in_listen_disabled_us"
  >;
  /** Where the one line per episode of running out of descriptors goes. */
  log(line: string): void;
  /** First pause after running out of descriptors, in ms; doubles up to `maxRetryMs`. @default {10} */
  retryMs?: number;
  /** Longest pause between tries while out of descriptors, in ms. @default {1000} */
  maxRetryMs?: number;
  /** Monotonic time in ms. @default {performance.now} */
  now?: () => number;
}

/** One episode, for the log: pauses this close together are one. */
const EPISODE_MS = 10_000;

/** Accept errors that mean "no descriptor (or kernel memory) for a new socket now". */
const EXHAUSTED = new Set(["EMFILE", "ENFILE", "ENOBUFS", "ENOMEM"]);

/**
 * Accepts connections until its listener closes. When the process or the
 * system runs out of file descriptors, accepting would fail at once again
 * and again (the connection waits in the kernel's queue), so the loop stops
 * accepting, as memcached disables its listener: it counts the pause in
 * `listen_disabled_num` and tries again after a while (10 ms, doubling up to
 * 1 s) or as soon as {@linkcode AcceptLoop.resume} says a descriptor was
 * freed. The time spent so goes to `time_in_listen_disabled_us`. While
 * connections keep waiting, each freed descriptor admits one and accepting
 * pauses again: such pauses within 10 s of each other are one episode,
 * logged in one line.
 *
 * @example Usage
 * ```ts
 * import { AcceptLoop } from "./accept_loop.ts";
 * import assert from "node:assert/strict";
 *
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const stats = { accepting_conns: 1, listen_disabled_num: 0, time_in_listen_disabled_us: 0 };
 * const loop = new AcceptLoop(listener, { onConn: (conn) => conn.close(), stats, log: console.error });
 * const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
 * client.close();
 * loop.close();
 * await loop.done;
 * assert.equal(stats.listen_disabled_num, 0);
 * ```
 */
export class AcceptLoop {
  /** Settles once the listener has closed. */
  readonly done: Promise<void>;
  #listener: Deno.Listener;
  #options: AcceptLoopOptions;
  #wake: (() => void) | undefined;

  constructor(listener: Deno.Listener, options: AcceptLoopOptions) {
    this.#listener = listener;
    this.#options = options;
    this.done = this.#run();
  }

  /** A descriptor was freed: if accepting is paused, try again now. */
  resume(): void {
    this.#wake?.();
  }

  /** Closes the listener and ends the loop. */
  close(): void {
    try {
      this.#listener.close();
    } catch {
      // already closed
    }
    this.resume();
  }

  async #run(): Promise<void> {
    const { onConn, stats, log } = this.#options;
    const now = this.#options.now ?? (() => performance.now());
    const retryMs = this.#options.retryMs ?? 10;
    let delay = retryMs;
    let disabledSince = -1;
    let lastPause = -Infinity;
    while (true) {
      let conn: Deno.Conn;
      try {
        conn = await this.#listener.accept();
      } catch (err) {
        if (isDisconnect(err)) return;
        const code = (err as { code?: string }).code ?? "";
        if (!EXHAUSTED.has(code)) {
          log(`accept failed: ${(err as Error).message}`);
          continue;
        }
        if (disabledSince < 0) {
          disabledSince = now();
          stats.listen_disabled_num++;
          stats.accepting_conns = 0;
          if (disabledSince - lastPause >= EPISODE_MS) {
            log(
              `Too many open connections: accept failed (${(err as Error).message}); ` +
                "not accepting until descriptors are freed",
            );
          }
        }
        await this.#pause(delay);
        delay = Math.min(delay * 2, this.#options.maxRetryMs ?? 1000);
        continue;
      }
      if (disabledSince >= 0) {
        lastPause = now();
        stats.time_in_listen_disabled_us += Math.round((lastPause - disabledSince) * 1000);
        stats.accepting_conns = 1;
        disabledSince = -1;
        delay = retryMs;
      }
      onConn(conn);
    }
  }

  #pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.#wake!(), ms);
      this.#wake = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
    });
  }
}
