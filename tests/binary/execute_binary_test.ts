import assert from "node:assert/strict";
import { type Server, startServer } from "../../lib/mod.ts";
import type { ServerOptions } from "../../lib/config.ts";
import {
  type BinaryFrame,
  type BinaryReply,
  binaryRequest,
  concat,
  RawClient,
  toLatin1,
  words,
} from "../_support/raw_client.ts";

const GET = 0x00, SET = 0x01, ADD = 0x02, REPLACE = 0x03, DELETE = 0x04, INCR = 0x05;
const DECR = 0x06, QUIT = 0x07, FLUSH = 0x08, GETQ = 0x09, NOOP = 0x0a, VERSION = 0x0b;
const GETK = 0x0c, GETKQ = 0x0d, APPEND = 0x0e, PREPEND = 0x0f, STAT = 0x10, SETQ = 0x11;
const ADDQ = 0x12, REPLACEQ = 0x13, DELETEQ = 0x14, INCRQ = 0x15, DECRQ = 0x16, QUITQ = 0x17;
const FLUSHQ = 0x18, APPENDQ = 0x19, PREPENDQ = 0x1a, TOUCH = 0x1c, GAT = 0x1d, GATQ = 0x1e;
const GATK = 0x23, GATKQ = 0x24;

const NOT_FOUND = "Not found";
const EXISTS = "Data exists for key.";

/** A fresh server with a settable clock, one raw client, and helpers. */
interface Wire {
  server: Server;
  client: RawClient;
  /** Current time in ms, read by the server's store. */
  now: number;
  /** Sends one frame and reads one reply. */
  call(frame: BinaryFrame): Promise<BinaryReply>;
  /** Sends frames in one write followed by a NOOP; returns every reply before the NOOP's. */
  pipeline(frames: BinaryFrame[]): Promise<BinaryReply[]>;
}

async function withWire(
  fn: (w: Wire) => Promise<void>,
  options: ServerOptions = {},
): Promise<void> {
  const wire = { now: 1_700_000_000_000 } as Wire;
  wire.server = await startServer({ port: 0, clock: () => wire.now, ...options });
  wire.client = await RawClient.connect(wire.server.port);
  wire.call = async (frame) => {
    await wire.client.send(binaryRequest(frame));
    return wire.client.readBinary();
  };
  wire.pipeline = async (frames) => {
    const bytes = [...frames, { opcode: NOOP, opaque: 0xfeedface }].map(binaryRequest);
    await wire.client.send(concat(...bytes));
    const replies: BinaryReply[] = [];
    while (true) {
      const reply = await wire.client.readBinary();
      if (reply.opcode === NOOP && reply.opaque === 0xfeedface) return replies;
      replies.push(reply);
    }
  };
  try {
    await fn(wire);
  } finally {
    wire.client.close();
    await wire.server.close();
  }
}

const set = (key: string, value: string, flags = 0, exptime = 0, cas = 0n): BinaryFrame => ({
  opcode: SET,
  key,
  extras: words(flags, exptime),
  value,
  cas,
});

const delta = (
  opcode: number,
  key: string,
  by: bigint,
  initial: bigint,
  exptime: number,
): BinaryFrame => {
  const extras = new Uint8Array(20);
  const view = new DataView(extras.buffer);
  view.setBigUint64(0, by);
  view.setBigUint64(8, initial);
  view.setUint32(16, exptime);
  return { opcode, key, extras };
};

const u64 = (reply: BinaryReply) => new DataView(reply.value.buffer).getBigUint64(0);
const text = (reply: BinaryReply) => toLatin1(reply.value);
const flagsOf = (reply: BinaryReply) => new DataView(reply.extras.buffer).getUint32(0);

/** Asserts an error reply with memcached's body text. */
function assertError(reply: BinaryReply, opcode: number, status: number, body: string): void {
  assert.equal(reply.opcode, opcode);
  assert.equal(reply.status, status);
  assert.equal(text(reply), body);
  assert.equal(reply.extras.length, 0);
  assert.equal(reply.cas, 0n);
}

Deno.test("GET, GETK, GETQ, GETKQ answer hits with flags, CAS and (K forms) the key", async () => {
  await withWire(async (w) => {
    const stored = await w.call({ ...set("k", "value", 0xdeadbeef), opaque: 1 });
    assert.equal(stored.status, 0);
    assert.equal(stored.cas, 1n);
    for (const opcode of [GET, GETK, GETQ, GETKQ]) {
      const reply = await w.call({ opcode, key: "k", opaque: 0x1234 + opcode });
      assert.equal(reply.magic, 0x81);
      assert.equal(reply.opcode, opcode);
      assert.equal(reply.status, 0);
      assert.equal(reply.opaque, 0x1234 + opcode);
      assert.equal(reply.cas, 1n);
      assert.equal(flagsOf(reply), 0xdeadbeef);
      assert.equal(reply.key, opcode === GETK || opcode === GETKQ ? "k" : "");
      assert.equal(text(reply), "value");
    }
  });
});

Deno.test("GET misses say Not found, GETK misses carry the key, GETQ/GETKQ stay silent", async () => {
  await withWire(async (w) => {
    assertError(await w.call({ opcode: GET, key: "nope", opaque: 9 }), GET, 1, NOT_FOUND);
    const getk = await w.call({ opcode: GETK, key: "nope" });
    assert.equal(getk.status, 1);
    assert.equal(getk.key, "nope");
    assert.equal(getk.value.length, 0);
    assert.deepEqual(
      await w.pipeline([{ opcode: GETQ, key: "a" }, { opcode: GETKQ, key: "b" }]),
      [],
    );
  });
});

Deno.test("GETKQ…NOOP batches answer only the hits, in order", async () => {
  await withWire(async (w) => {
    await w.pipeline([set("k1", "one"), set("k3", "three")]);
    const replies = await w.pipeline(
      ["k1", "k2", "k3", "k4"].map((key, i) => ({ opcode: GETKQ, key, opaque: i })),
    );
    assert.deepEqual(replies.map((r) => [r.opaque, r.key, text(r)]), [
      [0, "k1", "one"],
      [2, "k3", "three"],
    ]);
  });
});

Deno.test("SET returns a new CAS each time; a matching CAS stores, a stale one or a miss fails", async () => {
  await withWire(async (w) => {
    assert.equal((await w.call(set("k", "a"))).cas, 1n);
    assert.equal((await w.call(set("k", "b"))).cas, 2n);
    assert.equal((await w.call(set("k", "c", 0, 0, 2n))).cas, 3n);
    assertError(await w.call(set("k", "d", 0, 0, 2n)), SET, 2, EXISTS);
    assertError(await w.call(set("missing", "d", 0, 0, 7n)), SET, 1, NOT_FOUND);
    assert.equal(text(await w.call({ opcode: GET, key: "k" })), "c");
  });
});

Deno.test("ADD fails on an existing key, REPLACE on a missing one; with a CAS both act as CAS", async () => {
  await withWire(async (w) => {
    assert.equal((await w.call({ ...set("k", "1"), opcode: ADD })).status, 0);
    assertError(await w.call({ ...set("k", "2"), opcode: ADD }), ADD, 2, EXISTS);
    assertError(await w.call({ ...set("x", "2"), opcode: REPLACE }), REPLACE, 1, NOT_FOUND);
    const replaced = await w.call({ ...set("k", "3"), opcode: REPLACE });
    assert.equal(replaced.status, 0);
    // memcached turns an ADD carrying the right CAS into a CAS store.
    const added = await w.call({ ...set("k", "4", 0, 0, replaced.cas), opcode: ADD });
    assert.equal(added.status, 0);
    assert.equal(text(await w.call({ opcode: GET, key: "k" })), "4");
  });
});

Deno.test("APPEND and PREPEND join values and keep flags; a missing key is Not stored", async () => {
  await withWire(async (w) => {
    await w.call(set("k", "mid", 7));
    const appended = await w.call({ opcode: APPEND, key: "k", value: "-end" });
    assert.equal(appended.status, 0);
    assert.equal(appended.cas, 2n);
    await w.call({ opcode: PREPEND, key: "k", value: "start-" });
    const got = await w.call({ opcode: GET, key: "k" });
    assert.equal(text(got), "start-mid-end");
    assert.equal(flagsOf(got), 7);
    assertError(
      await w.call({ opcode: APPEND, key: "none", value: "x" }),
      APPEND,
      5,
      "Not stored.",
    );
    assertError(
      await w.call({ opcode: PREPEND, key: "k", value: "x", cas: 99n }),
      PREPEND,
      2,
      EXISTS,
    );
  });
});

Deno.test("DELETE removes; a miss is Not found; a stale CAS is Data exists", async () => {
  await withWire(async (w) => {
    const { cas } = await w.call(set("k", "v"));
    assertError(await w.call({ opcode: DELETE, key: "k", cas: cas + 1n }), DELETE, 2, EXISTS);
    const deleted = await w.call({ opcode: DELETE, key: "k", cas });
    assert.equal(deleted.status, 0);
    assert.equal(deleted.value.length, 0);
    assertError(await w.call({ opcode: DELETE, key: "k" }), DELETE, 1, NOT_FOUND);
  });
});

Deno.test("INCR/DECR: initial value on a miss, 0xffffffff expiry fails, wraps, floors, non-numeric", async () => {
  await withWire(async (w) => {
    const created = await w.call(delta(INCR, "n", 5n, 10n, 0));
    assert.equal(created.status, 0);
    assert.equal(u64(created), 10n);
    assert.equal(created.cas, 1n);
    assert.equal(u64(await w.call(delta(INCR, "n", 5n, 0n, 0))), 15n);
    assert.equal(u64(await w.call(delta(DECR, "n", 100n, 0n, 0))), 0n);
    assertError(await w.call(delta(INCR, "m", 1n, 0n, 0xffffffff)), INCR, 1, NOT_FOUND);
    assertError(await w.call(delta(DECR, "m", 1n, 0n, 0xffffffff)), DECR, 1, NOT_FOUND);
    await w.call(set("max", "18446744073709551615"));
    assert.equal(u64(await w.call(delta(INCR, "max", 2n, 0n, 0))), 1n);
    // decr rewrites in place, padding with spaces like memcached
    await w.call(set("p", "100"));
    assert.equal(u64(await w.call(delta(DECR, "p", 91n, 0n, 0))), 9n);
    assert.equal(text(await w.call({ opcode: GET, key: "p" })), "9  ");
    await w.call(set("t", "abc"));
    assertError(
      await w.call(delta(INCR, "t", 1n, 0n, 0)),
      INCR,
      6,
      "Non-numeric server-side value for incr or decr",
    );
  });
});

Deno.test("TOUCH, GAT, GATQ, GATK, GATKQ set a new expiry and answer like GET", async () => {
  await withWire(async (w) => {
    await w.call(set("k", "v", 3, 10));
    const touched = await w.call({ opcode: TOUCH, key: "k", extras: words(100) });
    assert.equal(touched.status, 0);
    assert.equal(flagsOf(touched), 3);
    assert.equal(touched.value.length, 0); // TOUCH carries flags, no value
    const gat = await w.call({ opcode: GAT, key: "k", extras: words(100) });
    assert.deepEqual([text(gat), gat.key, gat.cas], ["v", "", 1n]);
    const gatk = await w.call({ opcode: GATK, key: "k", extras: words(100) });
    assert.deepEqual([text(gatk), gatk.key], ["v", "k"]);
    const quiet = await w.pipeline([
      { opcode: GATQ, key: "k", extras: words(100) },
      { opcode: GATKQ, key: "k", extras: words(100) },
      { opcode: GATQ, key: "missing", extras: words(100) },
      { opcode: GATKQ, key: "missing", extras: words(100) },
    ]);
    assert.deepEqual(quiet.map((r) => [r.opcode, r.key, text(r)]), [[GATQ, "", "v"], [
      GATKQ,
      "k",
      "v",
    ]]);
    w.now += 50_000; // past the first expiry of 10 s, within the touched 100 s
    assert.equal(text(await w.call({ opcode: GET, key: "k" })), "v");
    w.now += 51_000;
    assertError(await w.call({ opcode: GET, key: "k" }), GET, 1, NOT_FOUND);
    assertError(await w.call({ opcode: TOUCH, key: "k", extras: words(1) }), TOUCH, 1, NOT_FOUND);
    const gatkMiss = await w.call({ opcode: GATK, key: "k", extras: words(1) });
    assert.deepEqual([gatkMiss.status, gatkMiss.key], [1, "k"]);
  });
});

Deno.test("Quiet forms 0x11–0x1a send nothing on success and still send errors", async () => {
  await withWire(async (w) => {
    const silent = await w.pipeline([
      { ...set("k", "1"), opcode: SETQ },
      { ...set("a", "x"), opcode: ADDQ },
      { ...set("k", "2"), opcode: REPLACEQ },
      { opcode: APPENDQ, key: "k", value: "0" },
      { opcode: PREPENDQ, key: "k", value: "1" },
      delta(INCRQ, "k", 1n, 0n, 0),
      delta(DECRQ, "k", 2n, 0n, 0),
      { opcode: DELETEQ, key: "a" },
    ]);
    assert.deepEqual(silent, []);
    assert.equal(text(await w.call({ opcode: GET, key: "k" })), "119");
    const errors = await w.pipeline([
      { ...set("k", "x"), opcode: ADDQ, opaque: 1 },
      { ...set("none", "x"), opcode: REPLACEQ, opaque: 2 },
      { opcode: APPENDQ, key: "none", value: "x", opaque: 3 },
      { opcode: PREPENDQ, key: "none", value: "x", opaque: 4 },
      { opcode: DELETEQ, key: "none", opaque: 5 },
      { ...delta(INCRQ, "none", 1n, 0n, 0xffffffff), opaque: 6 },
      { ...delta(DECRQ, "none", 1n, 0n, 0xffffffff), opaque: 7 },
      { ...set("k", "x", 0, 0, 999n), opcode: SETQ, opaque: 8 },
    ]);
    assert.deepEqual(errors.map((r) => [r.opcode, r.status, r.opaque, text(r)]), [
      [ADDQ, 2, 1, EXISTS],
      [REPLACEQ, 1, 2, NOT_FOUND],
      [APPENDQ, 5, 3, "Not stored."],
      [PREPENDQ, 5, 4, "Not stored."],
      [DELETEQ, 1, 5, NOT_FOUND],
      [INCRQ, 1, 6, NOT_FOUND],
      [DECRQ, 1, 7, NOT_FOUND],
      [SETQ, 2, 8, EXISTS],
    ]);
    assert.deepEqual(await w.pipeline([{ opcode: FLUSHQ }]), []);
    assertError(await w.call({ opcode: GET, key: "k" }), GET, 1, NOT_FOUND);
  });
});

Deno.test("QUIT answers then closes; QUITQ closes silently", async () => {
  await withWire(async (w) => {
    const reply = await w.call({ opcode: QUIT, opaque: 5 });
    assert.deepEqual([reply.opcode, reply.status, reply.opaque, reply.value.length], [
      QUIT,
      0,
      5,
      0,
    ]);
    assert.ok(await w.client.closedByPeer());
    await using other = await RawClient.connect(w.server.port);
    await other.send(binaryRequest({ opcode: QUITQ }));
    assert.ok(await other.closedByPeer());
    assert.equal(other.pending.length, 0);
  });
});

Deno.test("FLUSH empties the store now, or when a delay comes", async () => {
  await withWire(async (w) => {
    await w.call(set("a", "1"));
    const flushed = await w.call({ opcode: FLUSH, opaque: 3 });
    assert.deepEqual([flushed.status, flushed.opaque, flushed.cas], [0, 3, 0n]);
    assertError(await w.call({ opcode: GET, key: "a" }), GET, 1, NOT_FOUND);
    // memcached spends a CAS id on a flush that takes effect at once.
    assert.equal((await w.call(set("b", "2"))).cas, 3n);
    assert.equal((await w.call({ opcode: FLUSH, extras: words(10) })).status, 0);
    w.now += 5_000;
    assert.equal(text(await w.call({ opcode: GET, key: "b" })), "2");
    w.now += 5_000;
    assertError(await w.call({ opcode: GET, key: "b" }), GET, 1, NOT_FOUND);
    // items stored after the delayed flush came are kept
    w.now += 2_000;
    await w.call(set("c", "3"));
    assert.equal(text(await w.call({ opcode: GET, key: "c" })), "3");
  });
});

Deno.test("NOOP and VERSION answer with the opaque echoed", async () => {
  await withWire(async (w) => {
    const noop = await w.call({ opcode: NOOP, opaque: 0xdeadbeef });
    assert.deepEqual([noop.status, noop.opaque, noop.value.length, noop.raw.length], [
      0,
      0xdeadbeef,
      0,
      24,
    ]);
    const version = await w.call({ opcode: VERSION, opaque: 42 });
    assert.equal(version.opaque, 42);
    assert.match(text(version), /^1\.6\.\d+/);
  });
});

Deno.test("STAT answers name/value frames and an empty terminator, per group", async () => {
  await withWire(async (w) => {
    await w.call(set("k", "v"));
    const statsOf = async (group: string) => {
      await w.client.send(binaryRequest({ opcode: STAT, key: group, opaque: 77 }));
      const lines = new Map<string, string>();
      while (true) {
        const reply = await w.client.readBinary();
        assert.deepEqual([reply.opcode, reply.status, reply.opaque], [STAT, 0, 77]);
        if (reply.key === "") return lines;
        lines.set(reply.key, text(reply));
      }
    };
    const general = await statsOf("");
    assert.equal(general.get("curr_items"), "1");
    assert.equal(general.get("cmd_set"), "1");
    assert.ok(general.has("pid") && general.has("uptime") && general.has("evictions"));
    const settings = await statsOf("settings");
    assert.equal(settings.get("item_size_max"), "1048576");
    assert.equal(settings.get("maxconns"), "1024");
    assert.equal((await statsOf("items")).get("items:1:number"), "1");
    assert.ok((await statsOf("slabs")).has("active_slabs"));
    assert.ok((await statsOf("sizes")).size > 0);
    assert.equal((await statsOf("reset")).size, 0);
    assert.equal((await statsOf("")).get("cmd_set"), "0");
    assertError(await w.call({ opcode: STAT, key: "bogus" }), STAT, 1, NOT_FOUND);
  });
});

Deno.test("Unknown opcodes answer 0x0081 and keep the connection", async () => {
  await withWire(async (w) => {
    for (const opcode of [0x1b, 0x1f, 0x25, 0x42, 0xff]) {
      assertError(
        await w.call({ opcode, opaque: opcode, value: "body" }),
        opcode,
        0x81,
        "Unknown command",
      );
    }
    assert.equal((await w.call({ opcode: NOOP })).status, 0);
  });
});

Deno.test("A wrong extras length answers Invalid arguments and closes", async () => {
  const frames: [string, BinaryFrame][] = [
    ["GET with extras", { opcode: GET, key: "k", extras: words(1) }],
    ["SET without extras", { opcode: SET, key: "k", value: "v" }],
    ["SET with 4 bytes", { opcode: SET, key: "k", extras: words(0), value: "v" }],
    ["INCR with 8 bytes", { opcode: INCR, key: "k", extras: words(0, 1) }],
    ["TOUCH without extras", { opcode: TOUCH, key: "k" }],
    ["APPEND with extras", { opcode: APPEND, key: "k", extras: words(0), value: "v" }],
    ["FLUSH with 8 bytes", { opcode: FLUSH, extras: words(0, 0) }],
    ["NOOP with a key", { opcode: NOOP, key: "k" }],
    ["GET without a key", { opcode: GET }],
  ];
  for (const [what, frame] of frames) {
    await withWire(async (w) => {
      const reply = await w.call({ ...frame, opaque: 11 });
      assertError(reply, frame.opcode, 4, "Invalid arguments");
      assert.equal(reply.opaque, 11, what);
      assert.ok(await w.client.closedByPeer(), `${what} must close`);
    });
  }
});

Deno.test("A key over 250 bytes answers Invalid arguments and closes; 250 is fine", async () => {
  await withWire(async (w) => {
    assert.equal((await w.call(set("k".repeat(250), "v"))).status, 0);
    assertError(await w.call(set("k".repeat(251), "v")), SET, 4, "Invalid arguments");
    assert.ok(await w.client.closedByPeer());
  });
});

Deno.test("Keys with bytes 0x80–0xff and 0x00 round-trip", async () => {
  await withWire(async (w) => {
    let key = "";
    for (let b = 0x80; b <= 0xff; b++) key += String.fromCharCode(b);
    key += "\x00\x01";
    await w.call(set(key, "high"));
    await w.call(set(key.slice(0, -1) + "\x02", "other"));
    const got = await w.call({ opcode: GETK, key });
    assert.equal(got.key, key);
    assert.equal(text(got), "high");
  });
});

Deno.test("A too-large SET answers Too large. and removes the old value", async () => {
  await withWire(async (w) => {
    await w.call(set("k", "old"));
    const big = "x".repeat(1024 * 1024);
    assertError(await w.call(set("k", big)), SET, 3, "Too large.");
    assertError(await w.call({ opcode: GET, key: "k" }), GET, 1, NOT_FOUND);
    // the item size limit counts memcached's item header too
    const fits = "x".repeat(1024 * 1024 - 100);
    assert.equal((await w.call(set("k", fits))).status, 0);
    assert.equal((await w.call({ opcode: GET, key: "k" })).value.length, fits.length);
  });
});

Deno.test("-I sets the item size limit", async () => {
  await withWire(async (w) => {
    assertError(await w.call(set("k", "x".repeat(2000))), SET, 3, "Too large.");
    assert.equal((await w.call(set("k", "x".repeat(900)))).status, 0);
  }, { maxItemSize: 1024 });
});

Deno.test("Wrong magic closes the connection without an answer", async () => {
  await withWire(async (w) => {
    await w.client.send(binaryRequest({ opcode: NOOP }));
    await w.client.readBinary();
    await w.client.send(binaryRequest({ opcode: NOOP, magic: 0x81 }));
    assert.ok(await w.client.closedByPeer());
    assert.equal(w.client.pending.length, 0);
  });
});

Deno.test("keylen + extlen > bodylen answers Unknown command and closes", async () => {
  await withWire(async (w) => {
    const frame = binaryRequest({ opcode: GET, key: "abc", bodyLength: 2, opaque: 6 });
    await w.client.send(frame.subarray(0, 26));
    const reply = await w.client.readBinary();
    assertError(reply, GET, 0x81, "Unknown command");
    assert.equal(reply.opaque, 6);
    assert.ok(await w.client.closedByPeer());
  });
});

Deno.test("A body over the limit answers Too large. and closes before it arrives", async () => {
  await withWire(async (w) => {
    // Only the header is sent: the server must not wait for 100 MB.
    const header = binaryRequest({ opcode: SET, key: "k", extras: words(0, 0), bodyLength: 100e6 });
    await w.client.send(header.subarray(0, 24));
    const reply = await w.client.readBinary();
    assertError(reply, SET, 3, "Too large.");
    assert.ok(await w.client.closedByPeer());
  });
});

Deno.test("Responses echo each request's opaque across a pipeline", async () => {
  await withWire(async (w) => {
    const frames: BinaryFrame[] = [];
    for (let i = 0; i < 50; i++) frames.push({ ...set(`k${i}`, `v${i}`), opaque: 0xf0000000 + i });
    for (let i = 0; i < 50; i++) frames.push({ opcode: GET, key: `k${i}`, opaque: i });
    const replies = await w.pipeline(frames);
    assert.equal(replies.length, 100);
    replies.forEach((r, i) => {
      assert.equal(r.opaque, i < 50 ? 0xf0000000 + i : i - 50);
      if (i >= 50) assert.equal(text(r), `v${i - 50}`);
    });
    assert.deepEqual(
      replies.slice(0, 50).map((r) => r.cas),
      frames.slice(0, 50).map((_, i) => BigInt(i + 1)),
    );
  });
});

Deno.test("-c refuses connections over the limit", async () => {
  await withWire(async (w) => {
    await w.call({ opcode: NOOP });
    await using second = await RawClient.connect(w.server.port);
    await second.send(binaryRequest({ opcode: NOOP }));
    await second.readBinary();
    await using third = await RawClient.connect(w.server.port);
    assert.equal(await third.readLine(), "ERROR Too many open connections\r\n");
    assert.ok(await third.closedByPeer());
    assert.equal((await w.call({ opcode: NOOP })).status, 0);
  }, { maxConnections: 2 });
});

Deno.test("-vv logs each binary command in memcached's style", async () => {
  const lines: string[] = [];
  await withWire(async (w) => {
    await w.pipeline([
      set("greeting", "hi"),
      { opcode: GETKQ, key: "greeting" },
      { opcode: GAT, key: "greeting", extras: words(0) },
      { opcode: APPENDQ, key: "greeting", value: "!!" },
      { opcode: STAT, key: "settings" },
      delta(INCR, "n", 1n, 0n, 0),
    ]);
  }, { verbose: 2, log: (line) => lines.push(line) });
  const commands = lines.filter((l) => /^<\d+ [A-Z]/.test(l) && !l.includes("connection"));
  assert.deepEqual(commands.map((l) => l.replace(/^<\d+ /, "")), [
    "SET greeting Value len is 2",
    "GET greeting",
    "TOUCH greeting",
    "APPEND greeting Value len is 2",
    "STATS settings",
    "INCREMENT n",
    "NOOP",
  ]);
  assert.ok(lines.some((l) => /^<\d+ new auto-negotiating client connection$/.test(l)));
});
