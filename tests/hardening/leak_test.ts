/**
 * Memory that outlives its connection: a closed connection must leave
 * nothing behind on the JS heap, however many reads it made. (A read raced
 * against one server-wide shutdown promise once left a reaction per read.)
 */
import assert from "node:assert/strict";
import { startServer } from "../../lib/mod.ts";
import { RawClient } from "../_support/raw_client.ts";

const gc = (globalThis as { gc?: () => void }).gc;

async function chatter(port: number, connections: number, reads: number): Promise<void> {
  await Promise.all(
    Array.from({ length: connections }, async () => {
      await using client = await RawClient.connect(port);
      for (let i = 0; i < reads; i++) {
        await client.send("mn\r\n");
        assert.equal(await client.readLine(), "MN\r\n");
      }
    }),
  );
}

function heapAfterGc(): number {
  gc!();
  return Deno.memoryUsage().heapUsed;
}

Deno.test({
  name: "Server keeps no heap memory for closed connections, however many reads they made" +
    (gc ? "" : " [skipped: needs --v8-flags=--expose-gc, which deno task test passes]"),
  ignore: !gc,
  async fn() {
    const server = await startServer({ port: 0 });
    try {
      await chatter(server.port, 20, 200); // warm up: JIT, pools
      await new Promise((r) => setTimeout(r, 50));
      const before = heapAfterGc();
      await chatter(server.port, 20, 2000); // 40,000 reads
      await new Promise((r) => setTimeout(r, 50));
      const grown = heapAfterGc() - before;
      assert.ok(grown < 4 * 1024 * 1024, `heap grew ${(grown / 2 ** 20).toFixed(1)} MiB`);
    } finally {
      await server.close();
    }
  },
});
