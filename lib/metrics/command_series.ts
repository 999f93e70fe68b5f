import { Op } from "../binary/constants.ts";
import type { Request } from "../messages.ts";

/**
 * The `command` label values of `mbserver_command_duration_seconds`, one
 * series each: memcached's command names, binary opcodes folded into them
 * (GETQ, GETK and GETKQ are `get`; GAT and its forms `gat`; SASL `auth`).
 */
export const COMMAND_NAMES = [
  "get",
  "gets",
  "gat",
  "gats",
  "set",
  "add",
  "replace",
  "append",
  "prepend",
  "cas",
  "delete",
  "incr",
  "decr",
  "touch",
  "flush_all",
  "mg",
  "ms",
  "md",
  "ma",
  "mn",
  "me",
  "noop",
  "stats",
  "version",
  "verbosity",
  "quit",
  "auth",
  "other",
] as const;

const index = (name: (typeof COMMAND_NAMES)[number]) => COMMAND_NAMES.indexOf(name);
const OTHER = index("other");

const TEXT = new Map<string, number>(COMMAND_NAMES.map((name, i) => [name, i]));
TEXT.set("bget", index("get"));
for (const name of ["noop", "auth", "other"]) TEXT.delete(name);

const BINARY = new Int8Array(256).fill(OTHER);
const FOLD: [number[], (typeof COMMAND_NAMES)[number]][] = [
  [[Op.GET, Op.GETQ, Op.GETK, Op.GETKQ], "get"],
  [[Op.SET, Op.SETQ], "set"],
  [[Op.ADD, Op.ADDQ], "add"],
  [[Op.REPLACE, Op.REPLACEQ], "replace"],
  [[Op.APPEND, Op.APPENDQ], "append"],
  [[Op.PREPEND, Op.PREPENDQ], "prepend"],
  [[Op.DELETE, Op.DELETEQ], "delete"],
  [[Op.INCREMENT, Op.INCREMENTQ], "incr"],
  [[Op.DECREMENT, Op.DECREMENTQ], "decr"],
  [[Op.TOUCH], "touch"],
  [[Op.GAT, Op.GATQ, Op.GATK, Op.GATKQ], "gat"],
  [[Op.FLUSH, Op.FLUSHQ], "flush_all"],
  [[Op.NOOP], "noop"],
  [[Op.STAT], "stats"],
  [[Op.VERSION], "version"],
  [[Op.VERBOSITY], "verbosity"],
  [[Op.QUIT, Op.QUITQ], "quit"],
  [[Op.SASL_LIST_MECHS, Op.SASL_AUTH, Op.SASL_STEP], "auth"],
];
for (const [opcodes, name] of FOLD) for (const op of opcodes) BINARY[op] = index(name);

/**
 * The series (index into {@linkcode COMMAND_NAMES}) a request is timed in.
 *
 * @example Usage
 * ```ts
 * import { COMMAND_NAMES, commandSeries } from "./command_series.ts";
 * import assert from "node:assert/strict";
 *
 * const series = commandSeries({ kind: "text", words: ["get", "", ""], keys: [] });
 * assert.equal(COMMAND_NAMES[series], "get");
 * ```
 */
export function commandSeries(req: Request): number {
  if (req.kind === "binary") return BINARY[req.opcode];
  if (req.kind === "text") return TEXT.get(req.words[0]) ?? OTHER;
  return OTHER;
}
