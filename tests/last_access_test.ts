/**
 * An item's last access, with the injected clock: a fetch renews it only
 * when it is more than 60 s old (memcached's `ITEM_UPDATE_INTERVAL`, the
 * same rule that limits LRU bumps); `mg` `h` says whether the item was
 * fetched before and `l` the seconds since its last access, both as they
 * were before this fetch; `me` shows `la` and `fetch` as they are.
 */
import assert from "node:assert/strict";
import { startServer } from "../lib/mod.ts";
import { RawClient } from "./_support/raw_client.ts";

Deno.test("A fetch renews an item's last access at most once a minute", async () => {
  let now = 1_700_000_000_000;
  const server = await startServer({ port: 0, clock: () => now });
  try {
    await using client = await RawClient.connect(server.port);
    const ask = async (line: string) => {
      await client.send(`${line}\r\nmn\r\n`);
      return (await client.readUntil("MN\r\n")).slice(0, -"MN\r\n".length);
    };
    const at = (seconds: number) => now = 1_700_000_000_000 + seconds * 1000;
    assert.equal(await ask("set k 0 0 1\r\nx"), "STORED\r\n");
    assert.equal(await ask("me k"), "ME k exp=-1 la=0 cas=1 fetch=no cls=1 size=61\r\n");
    at(30);
    assert.equal(await ask("mg k h l"), "HD h0 l30\r\n", "not fetched before; 30 s since the set");
    assert.equal(await ask("me k"), "ME k exp=-1 la=30 cas=1 fetch=yes cls=1 size=61\r\n");
    at(60);
    assert.equal(await ask("mg k h l"), "HD h1 l60\r\n", "exactly 60 s: not renewed");
    assert.match(await ask("me k"), / la=60 /);
    at(61);
    assert.equal(await ask("get k"), "VALUE k 0 1\r\nx\r\nEND\r\n");
    assert.match(await ask("me k"), / la=0 /, "61 s old: the get renewed it");
    at(100);
    assert.equal(await ask("mg k h l"), "HD h1 l39\r\n", "reported as before this fetch");
    assert.match(await ask("me k"), / la=39 /, "39 s old: not renewed");
    at(200);
    assert.equal(await ask("mg k l"), "HD l139\r\n");
    assert.equal(await ask("mg k l"), "HD l0\r\n", "the previous mg renewed it");
    at(230);
    assert.equal(await ask("touch k 0"), "TOUCHED\r\n");
    assert.equal(await ask("mg k l"), "HD l30\r\n", "a touch within the minute leaves it");
  } finally {
    await server.close();
  }
});
