/**
 * Hostile input regression tests: memcached's CVE inputs and friends. Each
 * case asserts the exact reply bytes and whether the connection closes, then
 * that a fresh client still gets VERSION within 1 s.
 *
 * Where memcached swallows a huge announced body (it keeps reading and
 * discarding up to 4 GiB), we answer the same error and close instead: the
 * connection could never be used again anyway, and nothing is allocated
 * from the length field.
 */
import assert from "node:assert/strict";
import { startServer } from "../../lib/mod.ts";
import type { ServerOptions } from "../../lib/config.ts";
import { startMemcached } from "../_support/memcached.ts";
import { binaryRequest, latin1, RawClient, toLatin1, words } from "../_support/raw_client.ts";
import { MEMCACHED, testWithTools } from "../_support/tools.ts";
import { assertAnswers, bytes, errorReply, exchange, header } from "./_hostile.ts";

const E2BIG = 0x0003;
const EINVAL = 0x0004;
const UNKNOWN = 0x0081;

interface HostileCase {
  name: string;
  protocol: "binary" | "text";
  send: Uint8Array | string;
  /** Exact reply bytes (a byte string). */
  reply: string;
  closes: boolean;
  /** Real memcached 1.6 answers the same bytes and closes the same way. */
  sameAsMemcached?: boolean;
  options?: ServerOptions;
}

const s = (b: Uint8Array) => toLatin1(b);

const CASES: HostileCase[] = [
  {
    name: "CVE-2011-4971: ADDQ keylen 1, extlen 8, bodylen 0xFFFFFFE8",
    protocol: "binary",
    send: bytes(header(0x12, 1, 8, 0xffffffe8), new Uint8Array(9)),
    reply: s(errorReply(0x12, E2BIG, "Too large.")),
    closes: true,
  },
  {
    name: "CVE-2016-8704: PREPENDQ keylen 250, bodylen 0",
    protocol: "binary",
    send: bytes(header(0x1a, 250, 0, 0), new Uint8Array(250)),
    reply: s(errorReply(0x1a, UNKNOWN, "Unknown command")),
    closes: true,
    sameAsMemcached: true,
  },
  {
    name: "CVE-2016-8704: APPEND keylen 250, bodylen 10",
    protocol: "binary",
    send: bytes(header(0x0e, 250, 0, 10), new Uint8Array(250)),
    reply: s(errorReply(0x0e, UNKNOWN, "Unknown command")),
    closes: true,
    sameAsMemcached: true,
  },
  {
    name: "CVE-2016-8705: ADD keylen 4, extlen 8, bodylen 0xFFFFFFD0",
    protocol: "binary",
    send: bytes(header(0x02, 4, 8, 0xffffffd0), new Uint8Array(12)),
    reply: s(errorReply(0x02, E2BIG, "Too large.")),
    closes: true,
  },
  {
    name: "CVE-2016-8705: SET keylen 0xFFFF, bodylen 0xFFFFFFFF",
    protocol: "binary",
    send: bytes(header(0x01, 0xffff, 8, 0xffffffff)),
    reply: s(errorReply(0x01, E2BIG, "Too large.")),
    closes: true,
  },
  {
    name: "CVE-2016-8706: SASL_AUTH keylen 32, bodylen 1",
    protocol: "binary",
    send: bytes(header(0x21, 32, 0, 1), new Uint8Array(32)),
    reply: s(errorReply(0x21, UNKNOWN, "Unknown command")),
    closes: true,
    sameAsMemcached: true,
  },
  {
    name: "CVE-2016-8706: SASL_AUTH keylen 32, bodylen 1 with -S",
    protocol: "binary",
    send: bytes(header(0x21, 32, 0, 1), new Uint8Array(32)),
    reply: s(errorReply(0x21, UNKNOWN, "Unknown command")),
    closes: true,
    options: { sasl: true },
  },
  {
    name: "CVE-2017-9951: SET bodylen 2^31",
    protocol: "binary",
    send: bytes(header(0x01, 1, 8, 0x80000000), new Uint8Array(9)),
    reply: s(errorReply(0x01, E2BIG, "Too large.")),
    closes: true,
  },
  {
    name: "CVE-2017-9951: GET bodylen 0xFFFFFFFF",
    protocol: "binary",
    send: bytes(header(0x00, 1, 0, 0xffffffff), "k"),
    reply: s(errorReply(0x00, E2BIG, "Too large.")),
    closes: true,
  },
  {
    name: "CVE-2020-10931: SET extlen 24",
    protocol: "binary",
    send: bytes(header(0x01, 1, 24, 25), new Uint8Array(25)),
    reply: s(errorReply(0x01, EINVAL, "Invalid arguments")),
    closes: true,
    sameAsMemcached: true,
  },
  {
    name: "CVE-2020-10931: GET extlen 255",
    protocol: "binary",
    send: bytes(header(0x00, 1, 255, 256), new Uint8Array(256)),
    reply: s(errorReply(0x00, EINVAL, "Invalid arguments")),
    closes: true,
    sameAsMemcached: true,
  },
  {
    name: "GET with a 300-byte key",
    protocol: "binary",
    send: bytes(header(0x00, 300, 0, 300), new Uint8Array(300)),
    reply: s(errorReply(0x00, EINVAL, "Invalid arguments")),
    closes: true,
    sameAsMemcached: true,
  },
  {
    name: "wrong magic after a binary frame",
    protocol: "binary",
    send: bytes(header(0x0a, 0, 0, 0, 5), new Uint8Array(24)),
    reply: s(binaryOk(0x0a, 5)),
    closes: true,
    sameAsMemcached: true,
  },
  {
    name: "CVE-2023-46852: get followed by 300 spaces",
    protocol: "text",
    send: "get" + " ".repeat(300) + "\r\n",
    reply: "ERROR\r\n",
    closes: false,
    sameAsMemcached: true,
  },
  {
    name: "CVE-2023-46852: get, 300 spaces, a key",
    protocol: "text",
    send: "get" + " ".repeat(300) + "foo\r\n",
    reply: "END\r\n",
    closes: false,
    sameAsMemcached: true,
  },
  {
    name: "CVE-2023-46853: a bare newline",
    protocol: "text",
    send: "\n",
    reply: "ERROR\r\n",
    closes: false,
    sameAsMemcached: true,
  },
  {
    name: "CVE-2023-46853: a bare newline, then version",
    protocol: "text",
    send: "\nversion\r\n",
    reply: "ERROR\r\nVERSION 1.6.18\r\n",
    closes: false,
  },
  {
    name: "65,535 spaces without a newline",
    protocol: "text",
    send: " ".repeat(65535),
    reply: "",
    closes: true,
    sameAsMemcached: true,
  },
  {
    name: "an HTTP request",
    protocol: "text",
    send: "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n",
    reply: "",
    closes: true,
    sameAsMemcached: true,
  },
  {
    name: "malformed meta flags: mg foo m o o o",
    protocol: "text",
    send: "mg foo m o o o\r\n",
    reply: "CLIENT_ERROR invalid flag\r\n",
    closes: false,
    sameAsMemcached: true,
  },
  {
    name: "malformed meta flags: mg foo T",
    protocol: "text",
    send: "mg foo T\r\n",
    reply: "CLIENT_ERROR bad token in command line format\r\n",
    closes: false,
    sameAsMemcached: true,
  },
];

function binaryOk(opcode: number, opaque: number): Uint8Array {
  const out = header(opcode, 0, 0, 0, opaque);
  out[0] = 0x81;
  return out;
}

function versionFixed(reply: string): string {
  return reply.replace(/VERSION [^\r]*/, "VERSION 1.6.18");
}

for (const c of CASES) {
  Deno.test({
    name: `Server survives ${c.name}`,
    async fn() {
      const server = await startServer({ port: 0, ...c.options });
      try {
        const { reply, closed } = await exchange(server.port, c.send, c.closes ? 1000 : 300);
        assert.deepEqual(latin1(versionFixed(reply)), latin1(c.reply));
        assert.equal(closed, c.closes);
        await assertAnswers(server.port);
      } finally {
        await server.close();
      }
    },
  });
}

testWithTools(
  "memcached answers the hostile inputs we match byte for byte",
  [MEMCACHED],
  async () => {
    await using memcached = await startMemcached();
    for (const c of CASES) {
      if (!c.sameAsMemcached || c.options) continue;
      const { reply, closed } = await exchange(memcached.port, c.send, c.closes ? 1000 : 300);
      assert.deepEqual(latin1(reply), latin1(c.reply), c.name);
      assert.equal(closed, c.closes, c.name);
    }
  },
);

Deno.test("Server answers opcodes 0x25–0xff with Unknown command and keeps the connection", async () => {
  const server = await startServer({ port: 0 });
  try {
    await using client = await RawClient.connect(server.port);
    const frames: Uint8Array[] = [];
    const expected: Uint8Array[] = [];
    for (let op = 0x25; op <= 0xff; op++) {
      frames.push(header(op, 0, 0, 0, op));
      expected.push(errorReply(op, UNKNOWN, "Unknown command", op));
    }
    // One with a body: the body is skipped, not taken for the next header.
    frames.push(bytes(header(0x99, 3, 4, 12, 0x99), "1234abc56789"));
    expected.push(errorReply(0x99, UNKNOWN, "Unknown command", 0x99));
    frames.push(header(0x0a, 0, 0, 0, 1));
    expected.push(binaryOk(0x0a, 1));
    await client.send(bytes(...frames));
    const want = bytes(...expected);
    assert.deepEqual(await client.readExact(want.length), want);
    await client.send(binaryRequest({ opcode: 0x0b, opaque: 9 }));
    assert.equal((await client.readBinary()).opaque, 9);
  } finally {
    await server.close();
  }
});

Deno.test({
  name: "Server survives CVE-2018-1000127: one key repeated 70,000 times in a get",
  async fn() {
    const server = await startServer({ port: 0 });
    try {
      await using client = await RawClient.connect(server.port);
      await client.send("set k 0 0 1\r\nv\r\n");
      assert.equal(await client.readLine(), "STORED\r\n");
      await client.send("get" + " k".repeat(70_000) + "\r\n");
      const reply = await client.readUntil("END\r\n", 10_000);
      // memcached 1.6.18 answers 59,998 of them; any count is fine, each must be the item.
      const hits = reply.slice(0, -5).split("VALUE k 0 1\r\nv\r\n");
      assert.ok(hits.length - 1 >= 1 && hits.length - 1 <= 70_000);
      assert.ok(hits.every((h) => h === ""), "only VALUE k lines before END");
      await assertAnswers(server.port);
    } finally {
      await server.close();
    }
  },
});

Deno.test("Server never allocates from a length field: 1,000 huge announced bodies", async () => {
  const server = await startServer({ port: 0 });
  try {
    const before = Deno.memoryUsage().rss;
    for (let i = 0; i < 1000; i++) {
      const bodyLength = 0x7fffffff + i * 0x100000;
      const { closed } = await exchange(
        server.port,
        bytes(header(0x01, 1, 8, bodyLength), words(0, 0), "k"),
        1000,
      );
      assert.equal(closed, true);
    }
    const grown = Deno.memoryUsage().rss - before;
    assert.ok(grown < 64 * 1024 * 1024, `resident memory grew ${grown} bytes`);
    await assertAnswers(server.port);
  } finally {
    await server.close();
  }
});

Deno.test("Server keeps serving others while one client announces a 1 MiB body and stalls", async () => {
  const server = await startServer({ port: 0 });
  try {
    await using stalled = await RawClient.connect(server.port);
    await stalled.send(bytes(header(0x01, 1, 8, 9 + 1024 * 1024), words(0, 0), "k", "partial"));
    await assertAnswers(server.port);
    // Nothing is answered for a frame still arriving, and the connection stays open.
    assert.equal(await stalled.closedByPeer(300), false);
    assert.equal(toLatin1(stalled.pending), "");
  } finally {
    await server.close();
  }
});
