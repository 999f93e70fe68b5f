/**
 * Graceful shutdown: SIGTERM/SIGINT to `main.ts`, and `close()` of the
 * embedding API, stop accepting, answer what was already read, close every
 * connection and finish within a few seconds.
 */
import assert from "node:assert/strict";
import { startServer } from "../../lib/mod.ts";
import { binaryRequest, RawClient, words } from "../_support/raw_client.ts";
import { THREADS } from "../_support/threads.ts";
import { startMain } from "./_main_process.ts";
import { bytes } from "./_hostile.ts";

async function refused(port: number): Promise<boolean> {
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.close();
    return false;
  } catch (err) {
    return err instanceof Deno.errors.ConnectionRefused;
  }
}

/** Reads binary replies until EOF; returns them. */
async function readUntilClosed(client: RawClient) {
  const replies = [];
  while (true) {
    try {
      replies.push(await client.readBinary(5000));
    } catch (err) {
      if ((err as Error).message.startsWith("Connection closed")) return replies;
      throw err;
    }
  }
}

for (const threads of THREADS) {
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    Deno.test(`main.ts shuts down on ${signal}: closes clients, stops listening, exits 0 (-t ${threads})`, async () => {
      await using main = await startMain(["-t", String(threads)]);
      await using client = await RawClient.connect(main.port);
      await client.send(binaryRequest({ opcode: 0x0a, opaque: 1 }));
      assert.equal((await client.readBinary()).opaque, 1);
      const started = performance.now();
      main.child.kill(signal);
      assert.equal(await client.closedByPeer(5000), true);
      const status = await main.child.status;
      const elapsed = performance.now() - started;
      assert.equal(status.code, 0, await main.stderr());
      assert.ok(elapsed < 5000, `exit took ${elapsed} ms`);
      assert.equal(await refused(main.port), true);
    });
  }

  Deno.test(`main.ts answers requests it already read before exiting on SIGTERM (-t ${threads})`, async () => {
    await using main = await startMain(["-t", String(threads)]);
    await using client = await RawClient.connect(main.port);
    const value = new Uint8Array(100_000).fill(0x63);
    await client.send(binaryRequest({ opcode: 0x01, key: "v", extras: words(0, 0), value }));
    assert.equal((await client.readBinary()).status, 0);
    // ~20 MB of answers: far more than the socket buffers hold, so the server is mid-batch.
    const n = 200;
    await client.send(
      bytes(
        ...Array.from(
          { length: n },
          (_, i) => binaryRequest({ opcode: 0x00, key: "v", opaque: i }),
        ),
      ),
    );
    await new Promise((r) => setTimeout(r, 200));
    main.child.kill("SIGTERM");
    const replies = await readUntilClosed(client);
    assert.equal(replies.length, n, "every request read before the stop is answered");
    replies.forEach((reply, i) => {
      assert.equal(reply.opaque, i);
      assert.equal(reply.value.length, 100_000);
    });
    assert.equal((await main.child.status).code, 0);
  });
}

Deno.test("main.ts exits 1 naming the -Y file when it is allowed but cannot be read", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      "--allow-read",
      new URL("../../main.ts", import.meta.url).pathname,
      "-p",
      "0",
      "-S",
      "-Y",
      "/nonexistent/auth.txt",
    ],
    stdout: "null",
    stderr: "piped",
  });
  const out = await child.output();
  assert.equal(out.code, 1);
  assert.match(
    new TextDecoder().decode(out.stderr),
    /^mbserver: Cannot read auth file \/nonexistent\/auth\.txt: .+\n$/,
  );
});

Deno.test("Server.close answers what was read, closes connections and refuses new ones", async () => {
  const server = await startServer({ port: 0 });
  const port = server.port;
  await using idle = await RawClient.connect(port);
  await using busy = await RawClient.connect(port);
  const value = new Uint8Array(100_000).fill(0x64);
  await busy.send(binaryRequest({ opcode: 0x01, key: "v", extras: words(0, 0), value }));
  assert.equal((await busy.readBinary()).status, 0);
  await idle.send(binaryRequest({ opcode: 0x0a }));
  await idle.readBinary();
  const n = 200;
  await busy.send(
    bytes(
      ...Array.from({ length: n }, (_, i) => binaryRequest({ opcode: 0x00, key: "v", opaque: i })),
    ),
  );
  await new Promise((r) => setTimeout(r, 100));
  const closing = server.close();
  const replies = await readUntilClosed(busy);
  assert.equal(replies.length, n, "every request read before the stop is answered");
  replies.forEach((reply, i) => assert.equal(reply.opaque, i));
  assert.equal(await idle.closedByPeer(3000), true);
  await closing;
  assert.equal(await refused(port), true);
});

Deno.test("Server.close cuts a client that never reads after the grace period", async () => {
  const server = await startServer({ port: 0, shutdownGraceMs: 200 });
  await using hog = await RawClient.connect(server.port);
  const value = new Uint8Array(100_000).fill(0x65);
  await hog.send(binaryRequest({ opcode: 0x01, key: "v", extras: words(0, 0), value }));
  assert.equal((await hog.readBinary()).status, 0);
  await hog.send(
    bytes(...Array.from({ length: 500 }, () => binaryRequest({ opcode: 0x09, key: "v" }))),
  );
  await new Promise((r) => setTimeout(r, 100));
  const started = performance.now();
  await server.close();
  const elapsed = performance.now() - started;
  assert.ok(elapsed < 2000, `close took ${elapsed} ms`);
});
