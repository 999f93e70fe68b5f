/**
 * memcached's one rule for incr/decr results, across protocols: a counter
 * whose new digits fit is rewritten in place (space padded, keeping its meta
 * marks and fetched state) unless a reply not yet sent still holds the item,
 * when a fresh copy of just the digits replaces it. Binary requests change
 * the counters; text and meta requests on another connection look at them.
 * The same script runs against real memcached and our server.
 */
import assert from "node:assert/strict";
import { startServer } from "../lib/mod.ts";
import { startMemcached } from "./_support/memcached.ts";
import { binaryRequest, concat, RawClient, toLatin1, words } from "./_support/raw_client.ts";
import { MEMCACHED, testWithTools } from "./_support/tools.ts";

const GET = 0x00, DECR = 0x06, NOOP = 0x0a;

const decr = (key: string) => binaryRequest({ opcode: DECR, key, extras: words(0, 1, 0, 0, 0) });

/** Sends binary frames and a NOOP; returns the values of the replies before the NOOP's. */
async function binary(client: RawClient, ...frames: Uint8Array[]): Promise<string[]> {
  await client.send(concat(...frames, binaryRequest({ opcode: NOOP, opaque: 0xfeed })));
  const values: string[] = [];
  while (true) {
    const reply = await client.readBinary();
    if (reply.opcode === NOOP && reply.opaque === 0xfeed) return values;
    values.push(toLatin1(reply.value));
  }
}

/** Sends a text or meta line and reads through the `mn` after it. */
async function text(client: RawClient, line: string): Promise<string> {
  await client.send(line + "mn\r\n");
  return (await client.readUntil("MN\r\n")).slice(0, -4);
}

async function script(port: number): Promise<string[]> {
  await using bin = await RawClient.connect(port);
  await using txt = await RawClient.connect(port);
  const seen: string[] = [];
  seen.push(await text(txt, "set k 0 0 2\r\n10\r\nset j 0 0 2\r\n10\r\nmd j I\r\n"));
  // A GET answered before the decrement: "k" is rewritten in place and stays fetched.
  seen.push(...await binary(bin, binaryRequest({ opcode: GET, key: "k" })));
  seen.push(...await binary(bin, decr("k")));
  seen.push(await text(txt, "mg k h v\r\n"));
  // In place, the stale mark stays: the next mg wins the recache.
  seen.push(...await binary(bin, decr("j")));
  seen.push(await text(txt, "mg j v\r\n"));
  // A GET still queued in the same batch holds "j": the result is a fresh, unpadded copy.
  seen.push(...await binary(bin, binaryRequest({ opcode: GET, key: "j" }), decr("j")));
  seen.push(await text(txt, "mg j v h\r\n"));
  return seen;
}

testWithTools(
  "incr/decr rewrite a counter in place, keeping its marks, unless a queued reply holds it",
  [MEMCACHED],
  async () => {
    // The LRU maintainer thread briefly holds items, which makes memcached copy at random.
    await using memcached = await startMemcached(["-o", "no_lru_maintainer,no_lru_crawler"]);
    const server = await startServer({ port: 0 });
    try {
      const expected = await script(memcached.port);
      assert.deepEqual(await script(server.port), expected);
      assert.deepEqual(expected.slice(3), [
        "VA 2 h1\r\n9 \r\n",
        "\0\0\0\0\0\0\0\x09",
        "VA 2 X W\r\n9 \r\n",
        "9 ",
        "\0\0\0\0\0\0\0\x08",
        "VA 1 h0\r\n8\r\n",
      ]);
    } finally {
      await server.close();
    }
  },
);
