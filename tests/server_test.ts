import assert from "node:assert/strict";
import { startServer } from "../lib/mod.ts";
import { binaryRequest, RawClient, toLatin1 } from "./_support/raw_client.ts";

Deno.test("Server answers a binary VERSION on port 0 and closes cleanly", async () => {
  const server = await startServer({ port: 0 });
  const client = await RawClient.connect(server.port);
  await client.send(binaryRequest({ opcode: 0x0b, opaque: 7 }));
  const reply = await client.readBinary();
  assert.deepEqual(reply.status, 0);
  assert.deepEqual(reply.opaque, 7);
  assert.deepEqual(toLatin1(reply.value).startsWith("1.6"), true);
  client.close();
  await server.close();
  await server.close();
});
