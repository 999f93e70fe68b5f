import type { Clock } from "./clock.ts";

/** Options of a {@linkcode CoarseClock}. */
export interface CoarseClockOptions {
  /** How often the time is re-read, in ms. @default {100} */
  intervalMs?: number;
  /** The clock it samples. @default {Date.now} */
  source?: Clock;
}

/**
 * A clock that reads the time on a timer instead of on every call, as
 * memcached keeps `current_time` (it ticks once a second; this ticks every
 * 100 ms by default). A multi-get of 50 keys then costs no clock reads.
 * The timer does not keep the process alive; call `close()` to stop it.
 *
 * @example Usage
 * ```ts
 * import { CoarseClock } from "./coarse_clock.ts";
 * import assert from "node:assert/strict";
 *
 * const clock = new CoarseClock();
 * assert.ok(Math.abs(clock.now() - Date.now()) < 1000);
 * clock.close();
 * ```
 */
export class CoarseClock {
  #time: number;
  #timer: ReturnType<typeof setInterval>;

  constructor(options: CoarseClockOptions = {}) {
    const source = options.source ?? Date.now;
    this.#time = source();
    this.#timer = setInterval(() => this.#time = source(), options.intervalMs ?? 100);
    Deno.unrefTimer(this.#timer as unknown as number);
  }

  /** The time as last read, in ms since the epoch; usable as a {@linkcode Clock}. */
  readonly now: Clock = () => this.#time;

  /** Stops the timer. */
  close(): void {
    clearInterval(this.#timer);
  }
}
