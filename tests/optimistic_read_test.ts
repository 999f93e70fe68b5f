/**
 * One-key gets run optimistically (`RwLock.optimistic`): they take no turn
 * of the store lock, so they go on while a writer waits for its turn, and
 * wait only while a writer holds it. Checked on the wire against an
 * in-process server whose lock the test holds, by order, not time.
 */
import assert from "node:assert/strict";
import { startServer } from "../lib/mod.ts";
import { binaryRequest, RawClient } from "./_support/raw_client.ts";
import { until } from "./_support/workers.ts";

const GET = 0x00;

Deno.test("A one-key get is answered while a writer waits for readers, before the writer's turn", async () => {
  const server = await startServer({ port: 0 });
  try {
    await using client = await RawClient.connect(server.port);
    await using binary = await RawClient.connect(server.port); // a connection speaks one protocol
    await client.send("set k 0 0 3\r\nold\r\nget k\r\n");
    assert.equal(await client.readUntil("END\r\n"), "STORED\r\nVALUE k 0 3\r\nold\r\nEND\r\n");
    const read = server.lock.tryRead()!;
    let writing = false;
    const writer = server.lock.write().then((guard) => (writing = true, guard));
    try {
      assert.equal(server.lock.waiting, 1, "the writer waits behind the held read share");
      await client.send("get k\r\n");
      assert.equal(await client.readUntil("END\r\n", 2000), "VALUE k 0 3\r\nold\r\nEND\r\n");
      await binary.send(binaryRequest({ opcode: GET, key: "k" }));
      const reply = await binary.readBinary(2000);
      assert.equal(new TextDecoder().decode(reply.value), "old");
      assert.equal(writing, false, "both answered before the writer's turn");
    } finally {
      read.release();
      (await writer).release();
    }
  } finally {
    await server.close();
  }
});

Deno.test("A one-key get waits while a writer holds the lock, and reads what it wrote", async () => {
  const server = await startServer({ port: 0 });
  try {
    await using client = await RawClient.connect(server.port);
    await client.send("set k 0 0 3\r\nold\r\nget k\r\n");
    assert.equal(await client.readUntil("END\r\n"), "STORED\r\nVALUE k 0 3\r\nold\r\nEND\r\n");
    const write = await server.lock.write();
    await client.send("get k\r\n");
    await until(() => server.lock.waiting === 1, "the get queues behind the writer");
    const now = Math.floor(Date.now() / 1000);
    server.store.set(new TextEncoder().encode("k"), new TextEncoder().encode("new"), { now });
    write.release();
    assert.equal(await client.readUntil("END\r\n"), "VALUE k 0 3\r\nnew\r\nEND\r\n");
  } finally {
    await server.close();
  }
});
