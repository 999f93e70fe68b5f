/**
 * A source of the current time in milliseconds since the Unix epoch.
 *
 * The store reads time only through a `Clock`, so tests can move time forward
 * without sleeping.
 *
 * @example Usage
 * ```ts
 * import type { Clock } from "./clock.ts";
 *
 * let now = 1_700_000_000_000;
 * const clock: Clock = () => now;
 * now += 5_000; // five seconds later, instantly
 * ```
 */
export type Clock = () => number;

/** The wall clock: `Date.now`. */
export const systemClock: Clock = () => Date.now();
