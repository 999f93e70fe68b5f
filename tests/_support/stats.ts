/**
 * Reading `stats` replies (text and binary) as name/value lists, for tests
 * that compare our server's stats with real memcached's.
 *
 * @module
 */
import { binaryRequest, latin1, RawClient, toLatin1 } from "./raw_client.ts";

/** One `STAT name value` line, in the order the server sent it. */
export type StatPair = [name: string, value: string];

/** Sends a text `stats ...` line and returns its `STAT` lines, up to `END`. */
export async function textStats(client: RawClient, line = "stats"): Promise<StatPair[]> {
  await client.send(`${line}\r\n`);
  const reply = await client.readUntil("END\r\n");
  return parseStatLines(reply);
}

/** Parses `STAT name value` lines (ending in `END`) into pairs; throws on anything else. */
export function parseStatLines(reply: string): StatPair[] {
  const lines = reply.split("\r\n");
  const out: StatPair[] = [];
  for (const line of lines) {
    if (line === "END" || line === "") continue;
    const match = /^STAT (\S+) (.*)$/.exec(line);
    if (!match) throw new Error(`Expected a STAT line, got ${JSON.stringify(line)}`);
    out.push([match[1], match[2]]);
  }
  return out;
}

/** What a binary STAT request got back. */
export interface BinaryStats {
  /** Status of the last response (0 = success, 1 = not found). */
  status: number;
  /** The key/value packets before the empty terminator (or the error). */
  pairs: StatPair[];
  /** The last response's value (the error text when `status` is not 0). */
  last: string;
}

/** Sends a binary STAT with `key` and reads packets up to the empty one or an error. */
export async function binaryStats(client: RawClient, key: string): Promise<BinaryStats> {
  await client.send(binaryRequest({ opcode: 0x10, key, opaque: 0x5747 }));
  const pairs: StatPair[] = [];
  while (true) {
    const reply = await client.readBinary();
    if (reply.status !== 0 || reply.key === "") {
      return { status: reply.status, pairs, last: toLatin1(reply.value) };
    }
    pairs.push([reply.key, toLatin1(reply.value)]);
  }
}

/** The pairs as a map (later names win). */
export function statMap(pairs: StatPair[]): Map<string, string> {
  return new Map(pairs);
}

/** Sends text commands one at a time, each awaited by the given reply terminator. */
export async function textCommand(
  client: RawClient,
  line: string,
  until = "\r\n",
): Promise<string> {
  await client.send(latin1(line));
  return await client.readUntil(until);
}
