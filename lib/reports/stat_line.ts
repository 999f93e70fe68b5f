/**
 * One `STAT name value` line of a stats report, as every report returns it
 * and the stats command hands it to the protocols.
 *
 * @module
 */

/** One `STAT name value` line. */
export type StatLine = [name: string, value: string];
