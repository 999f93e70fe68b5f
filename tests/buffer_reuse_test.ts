import assert from "node:assert/strict";
import { OutputArena } from "../lib/frame_encoder.ts";
import { startServer } from "../lib/mod.ts";
import {
  binaryRequest,
  concat,
  latin1,
  RawClient,
  toLatin1,
  words,
} from "./_support/raw_client.ts";

Deno.test("OutputArena never hands out overlapping buffers, and reuses only recycled large ones", () => {
  const arena = new OutputArena();
  const small = Array.from({ length: 2000 }, (_, i) => arena.take(1 + (i % 200)));
  small.forEach((b, i) => b.fill(i & 0xff));
  small.forEach((b, i) => assert.ok(b.every((x) => x === (i & 0xff)), `buffer ${i} intact`));
  const large = arena.take(100_000);
  assert.notEqual(arena.take(100_000).buffer, large.buffer);
  arena.recycle(large);
  assert.equal(arena.take(90_000).buffer, large.buffer);
  assert.notEqual(arena.take(90_000).buffer, large.buffer, "a recycled buffer is handed out once");
});

/** A value that names its key, `n` bytes long. */
function valueOf(key: string, n: number): string {
  return `${key}:`.repeat(Math.ceil(n / (key.length + 1))).slice(0, n);
}

Deno.test("Server replies carry each key's own bytes while pipelined writes overwrite items", async () => {
  const server = await startServer({ port: 0 });
  try {
    const client = await RawClient.connect(server.port);
    const keys = Array.from({ length: 60 }, (_, i) => `key${i}`);
    const size = (i: number, round: number) => 500 + ((i * 37 + round * 101) % 3000);
    for (let round = 0; round < 20; round++) {
      // Overwrite every item, then read them back in one multi-get, in one write.
      let batch = "";
      for (let i = 0; i < keys.length; i++) {
        const v = valueOf(`${keys[i]}r${round}`, size(i, round));
        batch += `set ${keys[i]} ${round} 0 ${v.length} noreply\r\n${v}\r\n`;
      }
      batch += `get ${keys.join(" ")}\r\n`;
      await client.send(batch);
      for (let i = 0; i < keys.length; i++) {
        const v = valueOf(`${keys[i]}r${round}`, size(i, round));
        assert.equal(await client.readLine(), `VALUE ${keys[i]} ${round} ${v.length}\r\n`);
        assert.equal(toLatin1(await client.readExact(v.length + 2)), v + "\r\n");
      }
      assert.equal(await client.readLine(), "END\r\n");
    }
    client.close();

    const bin = await RawClient.connect(server.port);
    for (let round = 0; round < 10; round++) {
      const frames: Uint8Array[] = [];
      for (let i = 0; i < keys.length; i++) {
        const v = valueOf(`${keys[i]}b${round}`, size(i, round));
        frames.push(binaryRequest({ opcode: 0x11, key: keys[i], extras: words(0, 0), value: v }));
        frames.push(binaryRequest({ opcode: 0x0d, key: keys[(i * 7) % (i + 1)], opaque: i }));
      }
      frames.push(binaryRequest({ opcode: 0x0a, opaque: 0xffff }));
      await bin.send(concat(...frames));
      for (let i = 0; i < keys.length; i++) {
        const reply = await bin.readBinary();
        assert.equal(reply.opcode, 0x0d);
        const j = (i * 7) % (i + 1);
        assert.equal(reply.key, keys[j]);
        assert.deepEqual(reply.value, latin1(valueOf(`${keys[j]}b${round}`, size(j, round))));
      }
      assert.equal((await bin.readBinary()).opcode, 0x0a);
    }
    bin.close();
  } finally {
    await server.close();
  }
});
