import assert from "node:assert/strict";
import { startServer } from "../../lib/mod.ts";
import { startMemcached } from "../_support/memcached.ts";
import { RawClient } from "../_support/raw_client.ts";
import { MEMCACHED, testWithTools } from "../_support/tools.ts";

/** Exchanges and the replies memcached -Y gives them (each sent and answered in turn). */
const STEPS: [send: string, expect: string][] = [
  ["get a\r\n", "CLIENT_ERROR unauthenticated\r\n"],
  ["set x 0 0 9\r\nuser nope\r\n", "CLIENT_ERROR authentication failure\r\n"],
  ["set x 0 0 3\r\nabcde", "CLIENT_ERROR bad command line termination\r\n"],
  ["set x 0 0 4\r\nuser\r\n", "CLIENT_ERROR bad authentication token format\r\n"],
  ["set x 0 0 9\r\nuser pass\r\n", "STORED\r\n"],
  ["set a 0 0 1\r\nx\r\nget a\r\n", "STORED\r\nVALUE a 0 1\r\nx\r\nEND\r\n"],
];

async function exercise(port: number): Promise<void> {
  const client = await RawClient.connect(port);
  try {
    for (const [send, expect] of STEPS) {
      await client.send(send);
      assert.equal(new TextDecoder().decode(await client.readExact(expect.length)), expect, send);
    }
    // Pipelined, memcached writes each auth reply over the one before: only the last is sent.
    const other = await RawClient.connect(port);
    await other.send("get a\r\nset x 0 0 9\r\nuser nope\r\nset x 0 0 9\r\nuser pass\r\nget a\r\n");
    const want = "STORED\r\nVALUE a 0 1\r\nx\r\nEND\r\n";
    assert.equal(new TextDecoder().decode(await other.readExact(want.length)), want);
    other.close();
  } finally {
    client.close();
  }
}

async function withAuthFile(fn: (path: string) => Promise<void>): Promise<void> {
  const path = await Deno.makeTempFile({ suffix: ".auth" });
  await Deno.writeTextFile(path, "user:pass\n");
  await Deno.chmod(path, 0o644);
  try {
    await fn(path);
  } finally {
    await Deno.remove(path);
  }
}

Deno.test("Text authentication (-Y) accepts only the first set's user and password", async () => {
  await withAuthFile(async (authFile) => {
    const server = await startServer({ port: 0, sasl: true, authFile });
    try {
      await exercise(server.port);
    } finally {
      await server.close();
    }
  });
});

testWithTools(
  "Text authentication expectations are memcached -Y's answers",
  [MEMCACHED],
  async () => {
    await withAuthFile(async (authFile) => {
      await using memcached = await startMemcached(["-Y", authFile]);
      await exercise(memcached.port);
    });
  },
);
