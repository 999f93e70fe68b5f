/**
 * `stats cachedump CLASS LIMIT`: the items of one slab class, most recently
 * stored first, as memcached 1.6.18 lists them. memcached lists only its
 * COLD LRU, so it runs here with `-o no_lru_maintainer` (one LRU, as ours).
 */
import assert from "node:assert/strict";
import { RawClient } from "../_support/raw_client.ts";
import { testEachTarget } from "./_targets.ts";

async function ask(client: RawClient, line: string): Promise<string> {
  await client.send(`${line}\r\n`);
  const first = await client.readLine();
  if (!first.startsWith("ITEM ")) return first;
  return first + await client.readUntil("END\r\n");
}

testEachTarget(
  "stats cachedump lists a class's items, newest first, up to a limit",
  async (target) => {
    await using server = await target.start(["-o", "no_lru_maintainer"]);
    await using client = await RawClient.connect(server.port);
    const set = async (line: string, value: string) => {
      await client.send(`${line}\r\n${value}\r\n`);
      assert.equal(await client.readLine(), "STORED\r\n", line);
    };
    await set("set c1 0 0 1", "a");
    await set("set c2 0 100 2", "ab");
    const storedAt = Math.floor(Date.now() / 1000);
    await set("set c3 7 0 3", "abc");
    await set("set foo 0 0 100", "x".repeat(100));
    await set("set big 0 0 600000", "z".repeat(600000));
    await client.send("get c1\r\n");
    await client.readUntil("END\r\n");

    const all = await ask(client, "stats cachedump 1 0");
    const match =
      /^ITEM c3 \[3 b; 0 s\]\r\nITEM c2 \[2 b; (\d+) s\]\r\nITEM c1 \[1 b; 0 s\]\r\nEND\r\n$/
        .exec(all);
    assert.ok(match, all);
    const expires = Number(match[1]);
    assert.ok(Math.abs(expires - (storedAt + 100)) <= 2, `expiry ${expires} is about now + 100`);
    assert.equal(
      await ask(client, "stats cachedump 1 2"),
      `ITEM c3 [3 b; 0 s]\r\nITEM c2 [2 b; ${expires} s]\r\nEND\r\n`,
    );
    assert.equal(await ask(client, "stats cachedump 1 1 extra"), "ITEM c3 [3 b; 0 s]\r\nEND\r\n");
    assert.equal(await ask(client, "stats cachedump 4 0"), "ITEM foo [100 b; 0 s]\r\nEND\r\n");
    assert.equal(await ask(client, "stats cachedump 39 0"), "ITEM big [600000 b; 0 s]\r\nEND\r\n");
    // The chunked item's header chunk sits in class 2, but no item is listed there.
    assert.equal(await ask(client, "stats cachedump 2 0"), "END\r\n");
    assert.equal(await ask(client, "stats cachedump 63 0"), "END\r\n");
    assert.equal(await ask(client, "stats cachedump 0 1"), "END\r\n");

    await client.send("delete c2\r\n");
    assert.equal(await client.readLine(), "DELETED\r\n");
    assert.equal(
      await ask(client, "stats cachedump 1 0"),
      "ITEM c3 [3 b; 0 s]\r\nITEM c1 [1 b; 0 s]\r\nEND\r\n",
    );
  },
);

testEachTarget("stats cachedump refuses bad arguments as memcached does", async (target) => {
  await using server = await target.start(["-o", "no_lru_maintainer"]);
  await using client = await RawClient.connect(server.port);
  const cases: [string, string][] = [
    ["stats cachedump", "CLIENT_ERROR bad command line\r\n"],
    ["stats cachedump 1", "CLIENT_ERROR bad command line\r\n"],
    ["stats cachedump 64 1", "CLIENT_ERROR Illegal slab id\r\n"],
    ["stats cachedump x 1", "CLIENT_ERROR bad command line format\r\n"],
    ["stats cachedump 1 x", "CLIENT_ERROR bad command line format\r\n"],
    ["stats cachedump -1 1", "CLIENT_ERROR bad command line format\r\n"],
    ["stats cachedump 1 -1", "CLIENT_ERROR bad command line format\r\n"],
  ];
  for (const [line, reply] of cases) assert.equal(await ask(client, line), reply, line);
});

testEachTarget("-X disables stats cachedump", async (target) => {
  await using server = await target.start(["-X"]);
  await using client = await RawClient.connect(server.port);
  assert.equal(
    await ask(client, "stats cachedump 1 0"),
    "CLIENT_ERROR stats cachedump not allowed\r\n",
  );
});
