import assert from "node:assert/strict";
import { startServer } from "../../lib/mod.ts";
import { startMemcached } from "../_support/memcached.ts";
import { MEMCACHED, testWithTools } from "../_support/tools.ts";
import { binaryRequest, RawClient } from "../_support/raw_client.ts";
import {
  type Batch,
  BatchRunner,
  describe,
  KEYS,
  learnCas,
  nextBatch,
  normalize,
  prng,
  type WorkloadState,
} from "./_binary_workload.ts";

/** Commands sent in the differential run (each batch also ends in a NOOP). */
const COMMANDS = Number(Deno.env.get("MBSERVER_DIFF_COMMANDS") ?? 10_000);
const SEED = Number(Deno.env.get("MBSERVER_DIFF_SEED") ?? 20240611);

testWithTools(
  `Binary protocol: ${COMMANDS} random commands answer byte for byte as memcached does`,
  [MEMCACHED],
  async () => {
    // memcached's LRU maintainer and crawler threads briefly hold item references,
    // which at random stops incr/decr from rewriting in place (padding differs).
    await using memcached = await startMemcached(["-o", "no_lru_maintainer,no_lru_crawler"]);
    const server = await startServer({ port: 0 });
    const oracle = new BatchRunner(memcached.port);
    const ours = new BatchRunner(server.port);
    try {
      const rand = prng(SEED);
      const state: WorkloadState = { casByKey: new Map() };
      const recent: Batch[] = [];
      let sent = 0;
      for (let serial = 0; sent < COMMANDS; serial++) {
        const batch = nextBatch(rand, state, serial);
        sent += batch.frames.length - (batch.closes ? 0 : 1);
        recent.push(batch);
        if (recent.length > 4) recent.shift();
        const [expected, actual] = await Promise.all([oracle.run(batch), ours.run(batch)]);
        learnCas(batch, expected, state);
        const want = normalize(expected);
        const got = normalize(actual);
        if (want.join("\n") !== got.join("\n")) {
          const context = recent.map((b, i) =>
            `batch -${recent.length - 1 - i}:\n  ${b.labels.join("\n  ")}`
          )
            .join("\n");
          const dump = await Promise.all([snapshot(memcached.port), snapshot(server.port)]);
          console.error(`memcached:\n${dump[0]}\nours:\n${dump[1]}`);
          assert.deepEqual(
            got,
            want,
            `seed ${SEED}, batch ${serial}, after ${sent} commands\n${context}`,
          );
        }
      }
      assert.ok(sent >= COMMANDS);
    } finally {
      oracle.close();
      ours.close();
      await server.close();
    }
  },
);

/** Every key's item, as GETK answers it: context for a failure message. */
async function snapshot(port: number): Promise<string> {
  await using client = await RawClient.connect(port);
  const lines: string[] = [];
  for (const key of KEYS) {
    await client.send(binaryRequest({ opcode: 0x0c, key }));
    lines.push(describe(await client.readBinary()));
  }
  return lines.join("\n");
}
