import type { Clock } from "./clock.ts";

/** Options of {@linkcode ConnectionLimits}. */
export interface ConnectionLimitsOptions {
  /** Close a connection that has sent no complete command for this long; 0 = never. @default {0} */
  idleTimeoutMs?: number;
  /** Close a connection that holds a partial frame for this long; 0 = never. @default {30000} */
  frameTimeoutMs?: number;
  /** Time source, in ms. @default {Date.now} */
  clock?: Clock;
  /** How often connections are checked. @default {1000} */
  checkIntervalMs?: number;
  /** Called when a connection is closed for being idle (memcached's `idle_kicks`). */
  onIdleKick?: () => void;
  /** Called when a connection is closed for holding a partial frame too long. */
  onFrameTimeout?: () => void;
}

/** One connection as {@linkcode ConnectionLimits} sees it. */
export interface LimitedConnection {
  /** When it last completed a command (or finished writing), in clock ms. */
  readonly lastCommand: number;
  /** Since when it holds a partial frame, in clock ms; -1 when it holds none. */
  readonly partialSince: number;
  /** Report a decoded chunk: how many requests it completed and how many bytes wait for more. */
  decoded(requests: number, buffered: number): void;
  /** Report that output is being written (true) or all written (false). */
  writing(busy: boolean): void;
  /** Stop watching this connection. */
  remove(): void;
}

interface Entry extends LimitedConnection {
  lastCommand: number;
  partialSince: number;
  busy: boolean;
  kick: () => void;
}

/**
 * Deadlines for connections, checked by one timer for all of them:
 *
 * - idle timeout (memcached's `-o idle_timeout=N`): no complete command for
 *   N seconds while the server is not busy writing to the client → close and
 *   count an idle kick;
 * - partial-frame deadline (slowloris): a frame started and not finished
 *   within the deadline → close, however slowly bytes trickle in.
 *
 * The clock and the check interval are injectable, so tests move time
 * instead of sleeping.
 *
 * @example Usage
 * ```ts
 * import { ConnectionLimits } from "./connection_limits.ts";
 * import assert from "node:assert/strict";
 *
 * let now = 0;
 * let closed = false;
 * const limits = new ConnectionLimits({ idleTimeoutMs: 5000, clock: () => now });
 * limits.add(() => closed = true);
 * now = 6000;
 * limits.check();
 * assert.equal(closed, true);
 * limits.close();
 * ```
 */
export class ConnectionLimits {
  #idleMs: number;
  #frameMs: number;
  #clock: Clock;
  #entries = new Set<Entry>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #intervalMs: number;
  #onIdleKick: () => void;
  #onFrameTimeout: () => void;

  constructor(options: ConnectionLimitsOptions = {}) {
    this.#idleMs = options.idleTimeoutMs ?? 0;
    this.#frameMs = options.frameTimeoutMs ?? 30_000;
    this.#clock = options.clock ?? Date.now;
    this.#intervalMs = options.checkIntervalMs ?? 1000;
    this.#onIdleKick = options.onIdleKick ?? (() => {});
    this.#onFrameTimeout = options.onFrameTimeout ?? (() => {});
  }

  /** Whether any deadline is enabled. */
  get enabled(): boolean {
    return this.#idleMs > 0 || this.#frameMs > 0;
  }

  /** Starts watching a connection; `kick` closes it. */
  add(kick: () => void): LimitedConnection {
    const clock = this.#clock;
    const entries = this.#entries;
    const entry: Entry = {
      lastCommand: clock(),
      partialSince: -1,
      busy: false,
      kick,
      decoded(requests, buffered) {
        if (requests > 0) entry.lastCommand = clock();
        if (buffered === 0) entry.partialSince = -1;
        else if (requests > 0 || entry.partialSince < 0) entry.partialSince = clock();
      },
      writing(busy) {
        entry.busy = busy;
        if (!busy) entry.lastCommand = clock();
      },
      remove() {
        entries.delete(entry);
      },
    };
    if (this.enabled) {
      entries.add(entry);
      this.#start();
    }
    return entry;
  }

  /** Closes every connection past a deadline (the timer calls this). */
  check(): void {
    const now = this.#clock();
    for (const entry of [...this.#entries]) {
      if (
        this.#frameMs > 0 && entry.partialSince >= 0 && now - entry.partialSince > this.#frameMs
      ) {
        this.#entries.delete(entry);
        this.#onFrameTimeout();
        entry.kick();
      } else if (this.#idleMs > 0 && !entry.busy && now - entry.lastCommand > this.#idleMs) {
        this.#entries.delete(entry);
        this.#onIdleKick();
        entry.kick();
      }
    }
  }

  /** Stops the timer. */
  close(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#entries.clear();
  }

  #start(): void {
    if (this.#timer !== undefined) return;
    const timer = setInterval(() => this.check(), this.#intervalMs);
    Deno.unrefTimer(timer);
    this.#timer = timer;
  }
}
