/**
 * Differential test of the command counters: the same short scripts of text,
 * meta and binary commands sent to real memcached and to our server, then
 * every command counter of `stats` compared. Each script runs after a
 * `flush_all` and a `stats reset`, so it starts from an empty cache with
 * zeroed counters on both servers.
 */
import assert from "node:assert/strict";
import { startServer } from "../lib/mod.ts";
import { startMemcached } from "./_support/memcached.ts";
import { binaryRequest, concat, RawClient, words } from "./_support/raw_client.ts";
import { MEMCACHED, testWithTools } from "./_support/tools.ts";

/** The counters the command layer keeps (connection and byte counters are left out). */
const COUNTERS = [
  "cmd_get",
  "cmd_set",
  "cmd_flush",
  "cmd_touch",
  "get_hits",
  "get_misses",
  "delete_misses",
  "delete_hits",
  "incr_misses",
  "incr_hits",
  "decr_misses",
  "decr_hits",
  "cas_misses",
  "cas_hits",
  "cas_badval",
  "touch_hits",
  "touch_misses",
  "store_too_large",
  "cmd_meta",
];

const BIG = 2 * 1024 * 1024;
/** Fits an item; 200 bytes more do not. */
const NEAR = 1024 * 1024 - 200;

/** A text or meta command (`{cas:key}` stands for the key's current CAS), or a binary frame. */
type Step = string | Uint8Array;

const bin = {
  get: (key: string) => binaryRequest({ opcode: 0x00, key }),
  getk: (key: string) => binaryRequest({ opcode: 0x0c, key }),
  set: (key: string, value: string, cas = 0n) =>
    binaryRequest({ opcode: 0x01, key, extras: words(0, 0), value, cas }),
  add: (key: string, value: string) =>
    binaryRequest({ opcode: 0x02, key, extras: words(0, 0), value }),
  replace: (key: string, value: string) =>
    binaryRequest({ opcode: 0x03, key, extras: words(0, 0), value }),
  append: (key: string, value: string) => binaryRequest({ opcode: 0x0e, key, value }),
  delete: (key: string, cas = 0n) => binaryRequest({ opcode: 0x04, key, cas }),
  incr: (key: string, expiry = 0) =>
    binaryRequest({ opcode: 0x05, key, extras: words(0, 1, 0, 5, expiry) }),
  decr: (key: string) => binaryRequest({ opcode: 0x06, key, extras: words(0, 1, 0, 0, 0) }),
  touch: (key: string) => binaryRequest({ opcode: 0x1c, key, extras: words(100) }),
  gat: (key: string) => binaryRequest({ opcode: 0x1d, key, extras: words(100) }),
  flush: () => binaryRequest({ opcode: 0x08 }),
};

const SCRIPTS: Record<string, Step[]> = {
  "text get family": [
    "set a 0 0 1\r\n1\r\n",
    "get a b a\r\n",
    "gets a b\r\n",
    "gat 100 a b\r\n",
    "gats 100 b\r\n",
    "touch a 100\r\n",
    "touch b 100\r\n",
  ],
  "text storage": [
    "set a 0 0 1\r\n1\r\n",
    "add a 0 0 1\r\n1\r\n",
    "replace b 0 0 1\r\n1\r\n",
    "append b 0 0 1\r\n1\r\n",
    "prepend a 0 0 1\r\n1\r\n",
    "cas a 0 0 1 {cas:a}\r\n2\r\n",
    "cas a 0 0 1 1\r\n2\r\n",
    "cas b 0 0 1 1\r\n2\r\n",
    `set big 0 0 ${BIG}\r\n${"x".repeat(BIG)}\r\n`,
    "set a 0 0 1\r\nxyz\r\n",
    `set near 0 0 ${NEAR}\r\n${"x".repeat(NEAR)}\r\n`,
    "append near 0 0 200\r\n" + "y".repeat(200) + "\r\n",
  ],
  "text arithmetic, delete and flush": [
    "set n 0 0 2\r\n10\r\n",
    "set s 0 0 1\r\nx\r\n",
    "incr n 5\r\n",
    "decr n 1\r\n",
    "incr nope 1\r\n",
    "decr nope 1\r\n",
    "incr s 1\r\n",
    "delete n\r\n",
    "delete n\r\n",
    "flush_all\r\n",
    "flush_all soon\r\n",
  ],
  "meta get": [
    "ms a 1\r\n1\r\n",
    "mg a v\r\n",
    "mg b v\r\n",
    "mg a T30 v\r\n",
    "mg b T30 v\r\n",
    "mg c N30 v\r\n",
    "mg a q k\r\n",
  ],
  "meta set": [
    "ms a 1\r\n1\r\n",
    "ms a 1 ME\r\n1\r\n",
    "ms b 1 MR\r\n1\r\n",
    "ms a 1 C{cas:a}\r\n2\r\n",
    "ms a 1 C1\r\n2\r\n",
    "ms b 1 C1\r\n2\r\n",
    "ms a 1 MA\r\n2\r\n",
    `ms big ${BIG}\r\n${"x".repeat(BIG)}\r\n`,
    "ms a 1 I C1\r\n3\r\n",
    `ms near ${NEAR}\r\n${"x".repeat(NEAR)}\r\n`,
    "ms near 200 MA\r\n" + "y".repeat(200) + "\r\n",
    "me a\r\n",
    "me nope\r\n",
  ],
  "meta delete and arithmetic": [
    "ms n 2\r\n10\r\n",
    "ms d 1\r\n1\r\n",
    "ma n\r\n",
    "ma n MD\r\n",
    "ma nope\r\n",
    "ma nope MD\r\n",
    "ma viv N0 J7\r\n",
    "ma n C1\r\n",
    "md d C1\r\n",
    "md d I\r\n",
    "md d\r\n",
    "md nope\r\n",
  ],
  "binary": [
    bin.set("a", "1"),
    bin.get("a"),
    bin.get("b"),
    bin.getk("b"),
    bin.touch("a"),
    bin.touch("b"),
    bin.gat("a"),
    bin.gat("b"),
    bin.add("a", "1"),
    bin.replace("b", "1"),
    bin.append("b", "1"),
    bin.set("a", "2", 1n),
    bin.set("b", "2", 1n),
    bin.set("n", "10"),
    bin.incr("n"),
    bin.decr("n"),
    bin.incr("fresh"),
    bin.incr("nope", 0xffffffff),
    bin.delete("a", 1n),
    bin.delete("a"),
    bin.delete("a"),
    bin.flush(),
    bin.set("near", "x".repeat(NEAR)),
    bin.append("near", "y".repeat(200)),
    // Over the item size, under the body size the binary decoder accepts before closing.
    binaryRequest({ opcode: 0x01, key: "big", extras: words(0, 0), value: "x".repeat(1 << 20) }),
  ],
};

/** Runs one step and waits for all of its replies (a trailing `mn` / NOOP marks the end). */
async function run(client: RawClient, step: Step): Promise<void> {
  if (typeof step === "string") {
    let command = step;
    for (const [whole, key] of step.matchAll(/\{cas:(\w+)\}/g)) {
      await client.send(`mg ${key} c\r\n`);
      const line = await client.readLine();
      command = command.replace(whole, line.match(/ c(\d+)/)?.[1] ?? "0");
    }
    await client.send(command + "mn\r\n");
    await client.readUntil("MN\r\n", 5000);
    return;
  }
  await client.send(concat(step, binaryRequest({ opcode: 0x0a, opaque: 0xfeed })));
  while (true) {
    const reply = await client.readBinary();
    if (reply.opcode === 0x0a && reply.opaque === 0xfeed) return;
  }
}

async function counters(port: number, steps: Step[]): Promise<Record<string, string>> {
  await using control = await RawClient.connect(port);
  await control.send("flush_all\r\nstats reset\r\n");
  assert.equal(await control.readUntil("RESET\r\n"), "OK\r\nRESET\r\n");
  // Each script runs on a connection of its own: binary scripts need one.
  await using client = await RawClient.connect(port);
  for (const step of steps) await run(client, step);
  await control.send("stats\r\n");
  const text = await control.readUntil("END\r\n");
  const out: Record<string, string> = {};
  for (const line of text.split("\r\n")) {
    const [, name, value] = line.split(" ");
    if (COUNTERS.includes(name)) out[name] = value;
  }
  return out;
}

testWithTools(
  "Command counters match memcached's after the same text, meta and binary commands",
  [MEMCACHED],
  async (t) => {
    await using memcached = await startMemcached(["-o", "no_lru_maintainer,no_lru_crawler"]);
    const server = await startServer({ port: 0 });
    try {
      for (const [name, steps] of Object.entries(SCRIPTS)) {
        await t.step(name, async () => {
          const expected = await counters(memcached.port, steps);
          const actual = await counters(server.port, steps);
          assert.deepEqual(actual, expected);
        });
      }
    } finally {
      await server.close();
    }
  },
);
