/**
 * Connection limits: `-c`, `-o idle_timeout`, the partial-frame deadline
 * (slowloris) and the cap on a connection's pending output (backpressure).
 * Deadlines run on an injected clock checked every few milliseconds, so
 * nothing sleeps for seconds.
 */
import assert from "node:assert/strict";
import { startServer } from "../../lib/mod.ts";
import { binaryRequest, RawClient, words } from "../_support/raw_client.ts";
import { assertAnswers, bytes, header } from "./_hostile.ts";

const NOOP = binaryRequest({ opcode: 0x0a });

async function noop(client: RawClient): Promise<void> {
  await client.send(NOOP);
  assert.equal((await client.readBinary(1000)).opcode, 0x0a);
}

/** Resolves once `predicate` holds, polling; fails after `timeoutMs`. */
async function eventually(predicate: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`Condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

Deno.test("Server refuses clients over -c with ERROR Too many open connections, others unaffected", async () => {
  const server = await startServer({ port: 0, maxConnections: 2 });
  try {
    await using a = await RawClient.connect(server.port);
    await using b = await RawClient.connect(server.port);
    await noop(a);
    await noop(b);
    {
      await using c = await RawClient.connect(server.port);
      assert.equal(await c.readLine(1000), "ERROR Too many open connections\r\n");
      assert.equal(await c.closedByPeer(1000), true);
    }
    await noop(a);
    await noop(b);
    assert.equal(server.stats.c.rejected_connections, 1);
    assert.equal(server.stats.c.curr_connections, 2);
    b.close();
    await eventually(() => server.stats.c.curr_connections === 1);
    await assertAnswers(server.port);
  } finally {
    await server.close();
  }
});

Deno.test("Server closes connections idle longer than idle_timeout and counts idle_kicks", async () => {
  let now = 1_700_000_000_000;
  const server = await startServer({
    port: 0,
    idleTimeout: 5,
    clock: () => now,
    timeoutCheckIntervalMs: 5,
  });
  try {
    await using idle = await RawClient.connect(server.port);
    await using busy = await RawClient.connect(server.port);
    await noop(idle);
    now += 3000;
    await noop(busy);
    now += 3000; // idle: 6 s without a command; busy: 3 s
    assert.equal(await idle.closedByPeer(1000), true);
    await noop(busy);
    assert.equal(server.stats.c.idle_kicks, 1);
    now += 5001;
    assert.equal(await busy.closedByPeer(1000), true);
    assert.equal(server.stats.c.idle_kicks, 2);
  } finally {
    await server.close();
  }
});

Deno.test("Server keeps idle connections when idle_timeout is 0", async () => {
  let now = 1_700_000_000_000;
  const server = await startServer({ port: 0, clock: () => now, timeoutCheckIntervalMs: 5 });
  try {
    await using client = await RawClient.connect(server.port);
    await noop(client);
    now += 365 * 86_400_000;
    await new Promise((r) => setTimeout(r, 50));
    await noop(client);
    assert.equal(server.stats.c.idle_kicks, 0);
  } finally {
    await server.close();
  }
});

Deno.test("Server closes a connection that trickles a partial frame past the frame deadline", async () => {
  let now = 1_700_000_000_000;
  const server = await startServer({
    port: 0,
    frameTimeout: 2,
    clock: () => now,
    timeoutCheckIntervalMs: 5,
  });
  try {
    await using slow = await RawClient.connect(server.port);
    const frame = binaryRequest({ opcode: 0x01, key: "k", extras: words(0, 0), value: "value" });
    // Complete frames sent slowly are fine.
    for (let i = 0; i < 3; i++) {
      now += 1500;
      await noop(slow);
    }
    // One byte a second keeps the connection busy but never finishes the frame.
    for (let i = 0; i < 2; i++) {
      await slow.send(frame.subarray(i, i + 1));
      await new Promise((r) => setTimeout(r, 20));
      now += 1000;
      assert.equal(await slow.closedByPeer(30), false);
    }
    await slow.send(frame.subarray(2, 3));
    await new Promise((r) => setTimeout(r, 20));
    now += 1001;
    assert.equal(await slow.closedByPeer(1000), true);
    await assertAnswers(server.port);
  } finally {
    await server.close();
  }
});

Deno.test("Server pauses a client that pipelines without reading and keeps answering others (issue 101)", async () => {
  const server = await startServer({ port: 0, memoryLimitMiB: 64 });
  try {
    const value = new Uint8Array(512 * 1024).fill(0x61);
    {
      await using setter = await RawClient.connect(server.port);
      await setter.send(binaryRequest({ opcode: 0x01, key: "big", extras: words(0, 0), value }));
      assert.equal((await setter.readBinary()).status, 0);
    }
    const rssBefore = Deno.memoryUsage().rss;
    // Two clients ask for the 512 KiB value 4,000 times each (~2 GiB of answers) and never read.
    const gets = bytes(
      ...Array.from({ length: 4000 }, () => binaryRequest({ opcode: 0x09, key: "big" })),
    );
    const hogs = [await RawClient.connect(server.port), await RawClient.connect(server.port)];
    try {
      for (const hog of hogs) void hog.send(gets).catch(() => {});
      await new Promise((r) => setTimeout(r, 300));
      const started = performance.now();
      await assertAnswers(server.port, 1000);
      await using third = await RawClient.connect(server.port);
      await noop(third);
      const elapsed = performance.now() - started;
      assert.ok(elapsed < 1000, `third client waited ${elapsed} ms`);
      const grown = Deno.memoryUsage().rss - rssBefore;
      assert.ok(
        grown < 256 * 1024 * 1024,
        `resident memory grew ${Math.round(grown / 2 ** 20)} MiB`,
      );
    } finally {
      for (const hog of hogs) hog.close();
    }
  } finally {
    await server.close();
  }
});

Deno.test("Server delivers every answer of a large pipelined batch once the client reads", async () => {
  const server = await startServer({ port: 0, maxPendingOutput: 64 * 1024 });
  try {
    await using client = await RawClient.connect(server.port);
    const value = new Uint8Array(10_000).fill(0x62);
    await client.send(binaryRequest({ opcode: 0x01, key: "v", extras: words(0, 0), value }));
    assert.equal((await client.readBinary()).status, 0);
    const n = 500;
    await client.send(
      bytes(
        ...Array.from(
          { length: n },
          (_, i) => binaryRequest({ opcode: 0x00, key: "v", opaque: i }),
        ),
        header(0x0a, 0, 0, 0, n),
      ),
    );
    for (let i = 0; i < n; i++) {
      const reply = await client.readBinary();
      assert.equal(reply.opaque, i);
      assert.equal(reply.value.length, 10_000);
    }
    assert.equal((await client.readBinary()).opaque, n);
  } finally {
    await server.close();
  }
});

Deno.test("Server streams one huge text get reply in pieces instead of building it whole", async () => {
  const server = await startServer({ port: 0, memoryLimitMiB: 64 });
  try {
    const size = 512 * 1024;
    {
      await using setter = await RawClient.connect(server.port);
      await setter.send(`set big 0 0 ${size}\r\n${"a".repeat(size)}\r\n`);
      assert.equal(await setter.readLine(), "STORED\r\n");
    }
    const rssBefore = Deno.memoryUsage().rss;
    // One command line, 2,000 keys: a ~1 GiB reply the client does not read.
    await using hog = await RawClient.connect(server.port);
    await hog.send(`get${" big".repeat(2000)}\r\n`);
    await new Promise((r) => setTimeout(r, 300));
    const started = performance.now();
    await assertAnswers(server.port, 1000);
    const elapsed = performance.now() - started;
    assert.ok(elapsed < 1000, `another client waited ${elapsed} ms`);
    const grown = Deno.memoryUsage().rss - rssBefore;
    assert.ok(grown < 256 * 1024 * 1024, `resident memory grew ${Math.round(grown / 2 ** 20)} MiB`);
    // The reply is intact where the client reads it.
    assert.equal(await hog.readLine(), `VALUE big 0 ${size}\r\n`);
    const first = await hog.readExact(size + 2);
    assert.ok(first.every((b, i) => i >= size ? true : b === 0x61));
  } finally {
    await server.close();
  }
});
