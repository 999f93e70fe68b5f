/**
 * A known sequence of text, meta and binary commands, and the stats a server
 * reports after it: every group, text and binary. Run against real
 * memcached 1.6.18 and against our server, the result is checked by the
 * same expectations (`_expected.ts`).
 *
 * @module
 */
import { binaryRequest, RawClient, words } from "../_support/raw_client.ts";
import {
  type BinaryStats,
  binaryStats,
  parseStatLines,
  type StatPair,
  textStats,
} from "../_support/stats.ts";

/** Text commands, each with the reply it gets (both servers answer the same). */
const TEXT_SCRIPT: [send: string, reply: string][] = [
  ["set foo:a 5 0 3\r\nabc\r\n", "STORED\r\n"],
  [`set foo:b 0 0 100\r\n${"x".repeat(100)}\r\n`, "STORED\r\n"],
  [`set bar:c 0 0 1000\r\n${"y".repeat(1000)}\r\n`, "STORED\r\n"],
  [`set big 0 0 600000\r\n${"z".repeat(600000)}\r\n`, "STORED\r\n"],
  [
    `set huge 0 0 2000000\r\n${"h".repeat(2000000)}\r\n`,
    "SERVER_ERROR object too large for cache\r\n",
  ],
  [
    "get foo:a foo:b nope:x\r\n",
    `VALUE foo:a 5 3\r\nabc\r\nVALUE foo:b 0 100\r\n${"x".repeat(100)}\r\nEND\r\n`,
  ],
  ["gat 100 foo:b nope:g\r\n", `VALUE foo:b 0 100\r\n${"x".repeat(100)}\r\nEND\r\n`],
  ["touch foo:a 0\r\n", "TOUCHED\r\n"],
  ["touch nope:t 0\r\n", "NOT_FOUND\r\n"],
  ["delete bar:c\r\n", "DELETED\r\n"],
  ["delete nope:d\r\n", "NOT_FOUND\r\n"],
  ["incr cnt 1\r\n", "NOT_FOUND\r\n"],
  ["set cnt 0 0 2\r\n10\r\n", "STORED\r\n"],
  ["incr cnt 5\r\n", "15\r\n"],
  ["decr cnt 100\r\n", "0\r\n"],
  ["decr nope:n 1\r\n", "NOT_FOUND\r\n"],
  ["cas foo:a 0 0 1 999999\r\nq\r\n", "EXISTS\r\n"],
  ["cas nope:c 0 0 1 1\r\nq\r\n", "NOT_FOUND\r\n"],
  ["add foo:a 0 0 1\r\na\r\n", "NOT_STORED\r\n"],
  ["replace nope:r 0 0 1\r\na\r\n", "NOT_STORED\r\n"],
  ["append foo:b 0 0 2\r\nab\r\n", "STORED\r\n"],
  ["prepend nope:p 0 0 1\r\na\r\n", "NOT_STORED\r\n"],
  ["mg foo:a v\r\n", "VA 3\r\nabc\r\n"],
  ["mg nope:m v\r\n", "EN\r\n"],
  ["ms meta:1 2\r\nhi\r\n", "HD\r\n"],
  ["md meta:1\r\n", "HD\r\n"],
  ["ma cnt\r\n", "HD\r\n"],
  ["mn\r\n", "MN\r\n"],
];

/** Binary requests, each answered by one response (checked for its status). */
const BINARY_SCRIPT: { frame: Uint8Array; status: number }[] = [
  {
    frame: binaryRequest({ opcode: 0x01, key: "bin:1", extras: words(0, 0), value: "v" }),
    status: 0,
  },
  { frame: binaryRequest({ opcode: 0x00, key: "bin:1" }), status: 0 },
  { frame: binaryRequest({ opcode: 0x0c, key: "nope:b" }), status: 1 },
  { frame: binaryRequest({ opcode: 0x04, key: "bin:1" }), status: 0 },
  // incr with an initial value: a miss that creates the counter
  { frame: binaryRequest({ opcode: 0x05, key: "bin:n", extras: words(0, 1, 0, 5, 0) }), status: 0 },
  { frame: binaryRequest({ opcode: 0x05, key: "bin:n", extras: words(0, 1, 0, 5, 0) }), status: 0 },
  { frame: binaryRequest({ opcode: 0x1c, key: "nope:bt", extras: words(0) }), status: 1 },
  { frame: binaryRequest({ opcode: 0x0a }), status: 0 },
];

/** The text groups read after the script, in this order. */
export const TEXT_GROUPS = ["settings", "items", "slabs", "sizes", "conns"] as const;

/** Binary STAT keys asked after the script (besides `""`), with their outcome. */
export const BINARY_KEYS = ["settings", "items", "slabs", "sizes"] as const;

/** Everything the scenario saw. */
export interface ScenarioResult {
  /** `stats` before the script. */
  before: StatPair[];
  /** `stats` after the script. */
  after: StatPair[];
  /** Bytes of the reply to the first `stats`, counted in `bytes_written` after it. */
  beforeReplyBytes: number;
  /** `stats <group>` after the script. */
  groups: Record<(typeof TEXT_GROUPS)[number], StatPair[]>;
  /** Binary STAT `""` after the script. */
  binaryGeneral: BinaryStats;
  /** Binary STAT of each of `BINARY_KEYS`. */
  binaryGroups: Record<(typeof BINARY_KEYS)[number], BinaryStats>;
  /** The clients' addresses, as `stats conns` names them. */
  clients: { text: string; binary: string };
}

/** Runs the script on a fresh server at `port` and reads every stats group. */
export async function runScenario(port: number): Promise<ScenarioResult> {
  await using text = await RawClient.connect(port);
  await using binary = await RawClient.connect(port);
  await text.send("stats\r\n");
  const beforeReply = await text.readUntil("END\r\n");
  const before = parseStatLines(beforeReply);
  for (const [send, reply] of TEXT_SCRIPT) {
    await text.send(send);
    const got = await text.readExact(reply.length);
    const gotText = new TextDecoder("latin1").decode(got);
    if (gotText !== reply) {
      throw new Error(
        `Command ${JSON.stringify(send.slice(0, 40))} got ${JSON.stringify(gotText)}`,
      );
    }
  }
  for (const { frame, status } of BINARY_SCRIPT) {
    await binary.send(frame);
    const reply = await binary.readBinary();
    if (reply.status !== status) {
      throw new Error(`Binary opcode 0x${frame[1].toString(16)} got status ${reply.status}`);
    }
  }
  const after = await textStats(text);
  const groups = {} as ScenarioResult["groups"];
  for (const group of TEXT_GROUPS) groups[group] = await textStats(text, `stats ${group}`);
  const binaryGeneral = await binaryStats(binary, "");
  const binaryGroups = {} as ScenarioResult["binaryGroups"];
  for (const key of BINARY_KEYS) binaryGroups[key] = await binaryStats(binary, key);
  return {
    before,
    after,
    beforeReplyBytes: beforeReply.length,
    groups,
    binaryGeneral,
    binaryGroups,
    clients: { text: text.address, binary: binary.address },
  };
}
