import assert from "node:assert/strict";
import { startServer } from "../../lib/mod.ts";
import { THREADS } from "../_support/threads.ts";
import {
  type BinaryReply,
  binaryRequest,
  RawClient,
  toLatin1,
  words,
} from "../_support/raw_client.ts";
import { prng } from "./_binary_workload.ts";

const CLIENTS = 50;
const OPS = 1000;

/**
 * One client's run: its own keys (so every answer is predictable), mixed
 * SET/GET/GETKQ/INCR/APPEND/DELETE/NOOP in pipelines of 1–16 frames, each
 * frame's opaque unique and each value naming its client and key.
 */
async function client(port: number, id: number): Promise<number> {
  const rand = prng(1000 + id);
  const model = new Map<string, string>();
  await using conn = await RawClient.connect(port);
  let opaque = 0;
  let done = 0;
  while (done < OPS) {
    const frames: Uint8Array[] = [];
    const expected: ((r: BinaryReply) => void)[] = [];
    const size = Math.min(OPS - done, 1 + Math.floor(rand() * 16));
    for (let i = 0; i < size; i++) {
      const key = `c${id}:k${Math.floor(rand() * 8)}`;
      const op = opaque++;
      const r = rand();
      const check = (fn: (reply: BinaryReply) => void) =>
        expected.push((reply) => {
          assert.equal(reply.opaque, op, `client ${id}: reply out of order or crossed`);
          fn(reply);
        });
      if (r < 0.3) {
        const value = `${key}=${op}`;
        model.set(key, value);
        frames.push(binaryRequest({ opcode: 0x01, key, extras: words(id, 0), value, opaque: op }));
        check((reply) => assert.equal(reply.status, 0));
      } else if (r < 0.6) {
        const want = model.get(key);
        frames.push(binaryRequest({ opcode: 0x00, key, opaque: op }));
        check((reply) => {
          if (want === undefined) return assert.equal(reply.status, 1);
          assert.equal(toLatin1(reply.value), want, `client ${id}: wrong value for ${key}`);
          assert.equal(new DataView(reply.extras.buffer).getUint32(0), id);
        });
      } else if (r < 0.7) {
        const want = model.get(key);
        frames.push(binaryRequest({ opcode: 0x0d, key, opaque: op }));
        if (want !== undefined) {
          check((reply) => {
            assert.equal(reply.key, key);
            assert.equal(toLatin1(reply.value), want);
          });
        }
      } else if (r < 0.8) {
        const counter = `c${id}:n`;
        const next = BigInt(model.get(counter) ?? "0") + 1n;
        const extras = new Uint8Array(20);
        new DataView(extras.buffer).setBigUint64(0, 1n);
        new DataView(extras.buffer).setBigUint64(8, 1n);
        model.set(counter, String(next));
        frames.push(binaryRequest({ opcode: 0x05, key: counter, extras, opaque: op }));
        check((reply) => assert.equal(new DataView(reply.value.buffer).getBigUint64(0), next));
      } else if (r < 0.88) {
        const had = model.get(key);
        if (had !== undefined) model.set(key, `${had}+`);
        frames.push(binaryRequest({ opcode: 0x0e, key, value: "+", opaque: op }));
        check((reply) => assert.equal(reply.status, had === undefined ? 5 : 0));
      } else if (r < 0.95) {
        const had = model.delete(key);
        frames.push(binaryRequest({ opcode: 0x04, key, opaque: op }));
        check((reply) => assert.equal(reply.status, had ? 0 : 1));
      } else {
        frames.push(binaryRequest({ opcode: 0x0a, opaque: op }));
        check((reply) => assert.equal(reply.opcode, 0x0a));
      }
    }
    // a final NOOP ends the pipeline, so quiet misses are accounted for
    const end = opaque++;
    frames.push(binaryRequest({ opcode: 0x0a, opaque: end }));
    expected.push((reply) => assert.equal(reply.opaque, end));
    const bytes = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
    frames.reduce((pos, f) => (bytes.set(f, pos), pos + f.length), 0);
    await conn.send(bytes);
    for (const check of expected) check(await conn.readBinary(10_000));
    done += size;
  }
  return done;
}

for (const threads of THREADS) {
  Deno.test(`Binary protocol: ${CLIENTS} clients × ${OPS} mixed operations, nothing lost, crossed or reordered (-t ${threads})`, async () => {
    const server = await startServer({ port: 0, threads });
    try {
      const counts = await Promise.all(
        Array.from({ length: CLIENTS }, (_, id) => client(server.port, id)),
      );
      assert.equal(counts.reduce((a, b) => a + b, 0), CLIENTS * OPS);
      assert.equal(server.stats.c.curr_connections >= 0, true);
    } finally {
      await server.close();
    }
  });
}
