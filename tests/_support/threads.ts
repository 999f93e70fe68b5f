/**
 * The thread counts the whole-server suites run at: `-t 1` (one event loop,
 * no worker) and `-t 4` (four workers over one shared store: more than this
 * machine's two cores, so they interleave).
 *
 * @module
 */
export const THREADS = [1, 4] as const;
