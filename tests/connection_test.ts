/**
 * One connection's lifecycle over an in-memory socket the test feeds byte by
 * byte: the pipeline is let go while the connection waits, and built again
 * when bytes come, without losing a byte, the protocol or a half-read request.
 */
import assert from "node:assert/strict";
import { CommandContext, type CommandSettings } from "../lib/command_context.ts";
import type { Duplex } from "../lib/duplex.ts";
import { Connection, type ConnectionShared, HOT_MS } from "../lib/connection.ts";
import { ConnectionLimits } from "../lib/connection_limits.ts";
import { MemoryReclaimer } from "../lib/memory_reclaimer.ts";
import { RwLock } from "../lib/rw_lock.ts";
import { binaryRequest, latin1, toLatin1, words } from "./_support/raw_client.ts";

/** A socket whose reads wait for bytes the test pushes; writes are collected. */
class FakeSocket implements Duplex {
  output = "";
  closed = false;
  #input: (Uint8Array | null)[] = [];
  #reader: ((n: number | null) => void) | undefined;
  #fail: ((err: Error) => void) | undefined;
  #buffer: Uint8Array | undefined;
  #waiters: (() => void)[] = [];

  /** Whether a read is waiting for bytes. */
  get reading(): boolean {
    return this.#reader !== undefined;
  }

  read(p: Uint8Array): Promise<number | null> {
    if (this.closed) return Promise.reject(new Deno.errors.BadResource("Socket closed"));
    return new Promise((resolve, reject) => {
      this.#reader = resolve;
      this.#fail = reject;
      this.#buffer = p;
      this.#feed();
      this.#notify();
    });
  }

  write(p: Uint8Array): Promise<number> {
    this.output += toLatin1(p);
    this.#notify();
    return Promise.resolve(p.length);
  }

  close(): void {
    this.closed = true;
    this.#reader = undefined;
    this.#fail?.(new Deno.errors.Interrupted("Socket closed during a read"));
    this.#notify();
  }

  /** Bytes for the reads to come (null: the peer closes). */
  push(bytes: Uint8Array | string | null): void {
    this.#input.push(typeof bytes === "string" ? latin1(bytes) : bytes);
    this.#feed();
  }

  /** Resolves once `predicate` holds (checked after every read, write and close). */
  async until(predicate: () => boolean): Promise<void> {
    while (!predicate()) await new Promise<void>((resolve) => this.#waiters.push(resolve));
  }

  #feed(): void {
    const resolve = this.#reader;
    if (resolve === undefined || this.#input.length === 0) return;
    this.#reader = undefined;
    const next = this.#input[0];
    if (next === null) {
      this.#input.shift();
      resolve(null);
      return;
    }
    const n = Math.min(next.length, this.#buffer!.length);
    this.#buffer!.set(next.subarray(0, n));
    if (n === next.length) this.#input.shift();
    else this.#input[0] = next.subarray(n);
    resolve(n);
  }

  #notify(): void {
    for (const waiter of this.#waiters.splice(0)) waiter();
  }
}

/** The time every connection's `now()` reads; tests move it. */
let now = 0;

function shared(settings: Partial<CommandSettings> = {}): ConnectionShared {
  return {
    context: new CommandContext({ settings: { version: "1.6.18", ...settings }, log: () => {} }),
    lock: new RwLock(),
    limits: new ConnectionLimits({ frameTimeoutMs: 0 }),
    maxPendingOutput: 1024 * 1024,
    now: () => now,
    reclaimer: new MemoryReclaimer({ collect: () => {} }),
  };
}

/** Fails instead of hanging when `promise` does not settle soon. */
async function settles<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within 2 s`)), 2000);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("Connection lets an idle pipeline go and finishes a half-read binary request in the next one", async () => {
  const socket = new FakeSocket();
  const connection = new Connection(socket, shared(), 1);
  const set = binaryRequest({
    opcode: 0x01,
    key: "k",
    extras: words(0, 0),
    value: "hello",
    opaque: 7,
  });
  socket.push(set.subarray(0, 30));
  await socket.until(() => socket.reading);
  assert.equal(connection.releaseIfIdle(), false, "bytes came since the pipeline was built");
  assert.equal(connection.releaseIfIdle(), true, "a whole period without bytes");
  assert.equal(connection.releaseIfIdle(), false, "nothing left to let go");
  socket.push(set.subarray(30));
  await settles(socket.until(() => socket.output.length >= 24), "An answer");
  const reply = latin1(socket.output);
  assert.deepEqual([reply[0], reply[1], reply[7], reply[15]], [0x81, 0x01, 0x00, 7]);
  socket.push(null);
  await settles(connection.done, "Closing");
  assert.equal(socket.closed, true);
});

Deno.test("Connection keeps the pipeline of a connection that reads between checks", async () => {
  const socket = new FakeSocket();
  const connection = new Connection(socket, shared(), 1);
  for (let i = 1; i <= 3; i++) {
    socket.push("mn\r\n");
    await socket.until(() => socket.output === "MN\r\n".repeat(i) && socket.reading);
    assert.equal(connection.releaseIfIdle(), false, `request ${i} came since the last check`);
  }
  assert.equal(connection.pipelines, 2, "one for the first batch, one that stays");
  assert.equal(connection.releaseIfIdle(), true);
  socket.push("version\r\nquit\r\n");
  await settles(connection.done, "Closing on quit");
  assert.equal(socket.output, "MN\r\n".repeat(3) + "VERSION 1.6.18\r\n");
});

Deno.test("Connection gives bytes after a pause a pipeline for one batch, and a stay to bytes soon after", async () => {
  now = 0;
  const socket = new FakeSocket();
  const connection = new Connection(socket, shared(), 1);
  const request = async (expected: number) => {
    socket.push("mn\r\n");
    await settles(socket.until(() => socket.output === "MN\r\n".repeat(expected)), "An answer");
    await new Promise((r) => setTimeout(r, 0)); // the answer's pipeline settles
  };
  await request(1);
  assert.equal(connection.pipelines, 1);
  assert.equal(connection.releaseIfIdle(), false, "a pipeline for one batch ends by itself");
  now += HOT_MS - 1;
  await request(2);
  await request(3);
  assert.equal(connection.pipelines, 2, "bytes soon after: a pipeline that stays");
  connection.releaseIfIdle();
  assert.equal(connection.releaseIfIdle(), true);
  now += 1000;
  await request(4);
  now += HOT_MS;
  await request(5);
  assert.equal(connection.pipelines, 4, "after pauses: a pipeline per batch");
  connection.close();
  await settles(connection.done, "Closing");
});

Deno.test("Connection keeps the text protocol across pipelines: a later line starting 0x80 is text", async () => {
  now = 0;
  const socket = new FakeSocket();
  const connection = new Connection(socket, shared(), 1);
  socket.push("version\r\n");
  await socket.until(() => socket.output.length > 0 && socket.reading);
  now += 1000;
  socket.push("\x80 k\r\n");
  await settles(socket.until(() => socket.output.endsWith("ERROR\r\n")), "An answer");
  assert.equal(socket.output, "VERSION 1.6.18\r\nERROR\r\n");
  assert.equal(connection.pipelines, 2);
  connection.close();
  await settles(connection.done, "Closing");
});

Deno.test("Connection stops while idle: no pipeline, closed at once", async () => {
  const socket = new FakeSocket();
  const connection = new Connection(socket, shared(), 1);
  socket.push("mn\r\n");
  await socket.until(() => socket.output === "MN\r\n" && socket.reading);
  await new Promise((r) => setTimeout(r, 0)); // the pipeline for one batch has ended
  connection.stop();
  await settles(connection.done, "Stopping an idle connection");
  assert.equal(socket.closed, true);
});

Deno.test("Connection stops with a pipeline: answers what it read, then closes", async () => {
  const socket = new FakeSocket();
  const connection = new Connection(socket, shared(), 1);
  socket.push("mn\r\n");
  await socket.until(() => socket.output === "MN\r\n" && socket.reading);
  socket.push("mn\r\n");
  await socket.until(() => socket.output === "MN\r\nMN\r\n" && socket.reading);
  assert.equal(connection.releaseIfIdle(), false, "a pipeline that stays, reading");
  connection.stop();
  await settles(connection.done, "Stopping a connection with a pipeline");
  assert.equal(socket.closed, true);
});

Deno.test("Connection keeps its authentication across pipelines", async () => {
  now = 0;
  const socket = new FakeSocket();
  const server = shared({ sasl: true, credentials: new Map([["user", "pass"]]) });
  const connection = new Connection(socket, server, 1);
  socket.push("set x 0 0 9\r\nuser pass\r\n");
  await settles(socket.until(() => socket.output === "STORED\r\n"), "Authenticating");
  now += 1000;
  socket.push("version\r\n");
  await settles(socket.until(() => socket.output.length > 8), "An answer");
  assert.equal(socket.output, "STORED\r\nVERSION 1.6.18\r\n");
  assert.equal(connection.pipelines, 2);
  connection.close();
  await settles(connection.done, "Closing");
});
