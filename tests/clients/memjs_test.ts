import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import memjs from "npm:memjs@1.3.2";
import { startServer } from "../../lib/mod.ts";
import { binaryRequest, RawClient, words } from "../_support/raw_client.ts";
import { THREADS } from "../_support/threads.ts";

/** A memjs client on our server, closed with it. */
async function withClient(
  threads: number,
  fn: (client: memjs.Client, port: number) => Promise<void>,
): Promise<void> {
  const server = await startServer({ port: 0, threads });
  const client = memjs.Client.create(`127.0.0.1:${server.port}`, {
    retries: 0,
    timeout: 5,
    logger: { log: () => {} },
  });
  try {
    await fn(client, server.port);
  } finally {
    client.close();
    await server.close();
  }
}

for (const threads of THREADS) {
  Deno.test(`memjs sets, gets and deletes values with flags (-t ${threads})`, async () => {
    await withClient(threads, async (client) => {
      assert.equal(await client.set("greeting", "hello", { expires: 0 }), true);
      const got = await client.get("greeting");
      assert.equal(got.value?.toString(), "hello");
      assert.ok(got.flags instanceof Buffer);
      assert.equal(await client.delete("greeting"), true);
      assert.equal((await client.get("greeting")).value, null);
      assert.equal(await client.delete("greeting"), false);
    });
  });

  Deno.test(`memjs keeps binary values and key bytes above 0x7f intact (-t ${threads})`, async () => {
    await withClient(threads, async (client) => {
      const value = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      assert.equal(await client.set("bin\u00e9", value, {}), true);
      const got = await client.get("bin\u00e9");
      assert.deepEqual(got.value, value);
    });
  });

  Deno.test(`memjs add and replace follow memcached's rules (-t ${threads})`, async () => {
    await withClient(threads, async (client) => {
      assert.equal(await client.add("k", "1", {}), true);
      assert.equal(await client.add("k", "2", {}), false);
      assert.equal(await client.replace("k", "3", {}), true);
      assert.equal(await client.replace("missing", "3", {}), false);
      assert.equal((await client.get("k")).value?.toString(), "3");
    });
  });

  Deno.test(`memjs increments and decrements, with an initial value (-t ${threads})`, async () => {
    await withClient(threads, async (client) => {
      const created = await client.increment("n", 5, { initial: 10 });
      assert.equal(created.success, true);
      assert.equal(created.value, 10);
      assert.equal((await client.increment("n", 5, {})).value, 15);
      assert.equal((await client.decrement("n", 20, {})).value, 0);
      await client.set("text", "abc", {});
      await assert.rejects(() => client.increment("text", 1, {}));
    });
  });

  Deno.test(`memjs appends and touches (its prepend sends APPEND, so not tested) (-t ${threads})`, async () => {
    // memjs 1.3.2, the newest release, encodes prepend with opcode 0x0e (APPEND).
    await withClient(threads, async (client) => {
      await client.set("s", "start", {});
      assert.equal(await client.append("s", "-end"), true);
      assert.equal((await client.get("s")).value?.toString(), "start-end");
      // memcached answers "Not stored." (0x0005), which memjs raises.
      await assert.rejects(() => client.append("nothing", "x"), /Item not stored/);
      assert.equal(await client.touch("s", 100), true);
      assert.equal(await client.touch("nothing", 100), false);
    });
  });

  Deno.test(`memjs reads flags another client stored (-t ${threads})`, async () => {
    await withClient(threads, async (client, port) => {
      await using raw = await RawClient.connect(port);
      await raw.send(
        binaryRequest({ opcode: 0x01, key: "flagged", extras: words(0xdeadbeef, 0), value: "v" }),
      );
      assert.equal((await raw.readBinary()).status, 0);
      const got = await client.get("flagged");
      assert.deepEqual(got.flags, Buffer.from([0xde, 0xad, 0xbe, 0xef]));
      assert.equal(got.value?.toString(), "v");
    });
  });

  Deno.test(`memjs reads stats and flushes (it has no getMulti or version) (-t ${threads})`, async () => {
    await withClient(threads, async (client) => {
      await client.set("f", "x", {});
      const stats = await new Promise<Record<string, string>>((resolve, reject) => {
        client.stats(
          (err: Error | null, _server: string, stats: Record<string, string> | null) =>
            err ? reject(err) : resolve(stats ?? {}),
        );
      });
      assert.equal(stats.curr_items, "1");
      assert.match(stats.version, /^1\.6/);
      const flushed = await client.flush();
      assert.ok(Object.values(flushed).every((ok) => ok === true));
      assert.equal((await client.get("f")).value, null);
    });
  });
}
