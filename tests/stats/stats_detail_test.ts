/**
 * `stats detail on|off|dump` and `-D`: per-prefix get/hit/set/delete counts,
 * which commands memcached 1.6.18 counts in them (text and binary storage,
 * retrieval, touch and delete; not meta, not incr/decr, not text touch), and
 * the order of the dump (memcached's prefix hash table: murmur3 of the
 * prefix modulo 256, newest first within a bucket).
 */
import assert from "node:assert/strict";
import { binaryRequest, RawClient, words } from "../_support/raw_client.ts";
import { binaryStats, statMap, textStats } from "../_support/stats.ts";
import { testEachTarget } from "./_targets.ts";

const USAGE = "CLIENT_ERROR usage: stats detail on|off|dump\r\n";

/** Text commands and their replies, sent while detail is on. */
const TEXT: [string, string][] = [
  ["set p1:a 0 0 1\r\nx\r\n", "STORED\r\n"],
  ["add p2:a 0 0 1\r\nx\r\n", "STORED\r\n"],
  ["add p1:a 0 0 1\r\nx\r\n", "NOT_STORED\r\n"],
  ["replace p1:a 0 0 1\r\nx\r\n", "STORED\r\n"],
  ["append p1:a 0 0 1\r\nx\r\n", "STORED\r\n"],
  ["cas p1:a 0 0 1 999\r\nx\r\n", "EXISTS\r\n"],
  ["get p1:a\r\n", "VALUE p1:a 0 2\r\nxx\r\nEND\r\n"],
  ["gets p3:a\r\n", "END\r\n"],
  ["gat 0 p1:a p4:b\r\n", "VALUE p1:a 0 2\r\nxx\r\nEND\r\n"],
  ["touch p1:a 0\r\n", "TOUCHED\r\n"],
  ["incr p6:a 1\r\n", "NOT_FOUND\r\n"],
  ["delete p2:a\r\n", "DELETED\r\n"],
  ["delete p5:a\r\n", "NOT_FOUND\r\n"],
  ["mg p1:a v\r\n", "VA 2\r\nxx\r\n"],
  ["ms p7:a 1\r\nx\r\n", "HD\r\n"],
  ["md p7:a\r\n", "HD\r\n"],
  ["get :x a:b:c plain user:1 sess:9\r\n", "END\r\n"],
  ["set user:2 0 0 1 noreply\r\nx\r\n", ""],
  ["mn\r\n", "MN\r\n"],
];

/** Binary requests sent while detail is on (each gets one response). */
const BINARY: Uint8Array[] = [
  binaryRequest({ opcode: 0x01, key: "q1:a", extras: words(0, 0), value: "x" }),
  binaryRequest({ opcode: 0x00, key: "q1:a" }),
  binaryRequest({ opcode: 0x0c, key: "q2:a" }),
  binaryRequest({ opcode: 0x02, key: "q1:a", extras: words(0, 0), value: "x" }),
  binaryRequest({ opcode: 0x0e, key: "q1:a", value: "y" }),
  binaryRequest({ opcode: 0x05, key: "q8:a", extras: words(0, 1, 0, 0, 0) }),
  binaryRequest({ opcode: 0x04, key: "q1:a" }),
  binaryRequest({ opcode: 0x1c, key: "q1:a", extras: words(0) }),
  binaryRequest({ opcode: 0x1d, key: "q3:a", extras: words(0) }),
];

/** memcached 1.6.18's dump after the commands above. */
const DUMP = "PREFIX  get 1 hit 0 set 0 del 0\r\n" +
  "PREFIX user get 1 hit 0 set 1 del 0\r\n" +
  "PREFIX p5 get 0 hit 0 set 0 del 1\r\n" +
  "PREFIX q3 get 1 hit 0 set 0 del 0\r\n" +
  "PREFIX p3 get 1 hit 0 set 0 del 0\r\n" +
  "PREFIX q2 get 1 hit 0 set 0 del 0\r\n" +
  "PREFIX p4 get 1 hit 0 set 0 del 0\r\n" +
  "PREFIX p1 get 2 hit 2 set 5 del 0\r\n" +
  "PREFIX a get 1 hit 0 set 0 del 0\r\n" +
  "PREFIX sess get 1 hit 0 set 0 del 0\r\n" +
  "PREFIX q1 get 2 hit 1 set 3 del 1\r\n" +
  "PREFIX p2 get 0 hit 0 set 1 del 1\r\n" +
  "END\r\n";

async function sendAll(client: RawClient, script: [string, string][]): Promise<void> {
  for (const [send, reply] of script) {
    await client.send(send);
    if (reply !== "") assert.equal(await client.readExact(reply.length).then(latin), reply, send);
  }
}

function latin(bytes: Uint8Array): string {
  return String.fromCharCode(...bytes);
}

testEachTarget(
  "stats detail counts gets, hits, sets and deletes per key prefix",
  async (target) => {
    await using server = await target.start([]);
    await using text = await RawClient.connect(server.port);
    await using binary = await RawClient.connect(server.port);
    await sendAll(text, [
      ["stats detail\r\n", USAGE],
      ["stats detail foo\r\n", USAGE],
      ["stats detail dump\r\n", "END\r\n"],
      ["stats detail on\r\n", "OK\r\n"],
    ]);
    assert.equal(statMap(await textStats(text, "stats settings")).get("detail_enabled"), "yes");
    await sendAll(text, TEXT);
    for (const frame of BINARY) {
      await binary.send(frame);
      await binary.readBinary();
    }
    await text.send("stats detail dump\r\n");
    const dump = await text.readUntil("END\r\n");
    assert.equal(dump, DUMP);
    assert.deepEqual(await binaryStats(binary, "detail dump"), {
      status: 0,
      pairs: [["detailed", DUMP]],
      last: "",
    });
    // Off: nothing more is counted, the figures stay.
    await sendAll(text, [["stats detail off\r\n", "OK\r\n"], [
      "get p1:a\r\n",
      "VALUE p1:a 0 2\r\nxx\r\nEND\r\n",
    ]]);
    assert.equal(statMap(await textStats(text, "stats settings")).get("detail_enabled"), "no");
    await sendAll(text, [["stats detail dump\r\n", DUMP]]);
    // Binary switches it too.
    assert.deepEqual(await binaryStats(binary, "detail on"), { status: 0, pairs: [], last: "" });
    assert.equal(statMap(await textStats(text, "stats settings")).get("detail_enabled"), "yes");
    assert.deepEqual(await binaryStats(binary, "detail off"), { status: 0, pairs: [], last: "" });
    // stats reset forgets the prefixes.
    await sendAll(text, [["stats reset\r\n", "RESET\r\n"], ["stats detail dump\r\n", "END\r\n"]]);
    assert.deepEqual(await binaryStats(binary, "detail dump"), {
      status: 0,
      pairs: [["detailed", "END\r\n"]],
      last: "",
    });
  },
);

testEachTarget("-D sets the prefix delimiter and turns detail on", async (target) => {
  await using server = await target.start(["-D", "/"]);
  await using client = await RawClient.connect(server.port);
  const settings = statMap(await textStats(client, "stats settings"));
  assert.equal(settings.get("stat_key_prefix"), "/");
  assert.equal(settings.get("detail_enabled"), "yes");
  await sendAll(client, [
    ["set a/b 0 0 1\r\nx\r\n", "STORED\r\n"],
    ["get a:b a/b\r\n", "VALUE a/b 0 1\r\nx\r\nEND\r\n"],
    ["stats detail dump\r\n", "PREFIX a get 1 hit 1 set 1 del 0\r\nEND\r\n"],
  ]);
});
