/**
 * A bounded, seeded fuzz run in `deno test`: 100,000 random, valid and
 * mutated binary, text and meta frames; the server must stay up, log no
 * pipeline failure, answer a fresh client, and never hand the verifying
 * client a value under a key it was not stored under.
 */
import assert from "node:assert/strict";
import { startServer } from "../../lib/mod.ts";
import { assertAnswers } from "../hardening/_hostile.ts";
import { runFuzz } from "./_fuzz.ts";

const SEED = Number(Deno.env.get("FUZZ_SEED") ?? 20240501);
const FRAMES = Number(Deno.env.get("FUZZ_FRAMES") ?? 100_000);

Deno.test(`Server survives ${FRAMES} fuzzed frames (seed ${SEED}) and never mixes up values`, async () => {
  const failures: string[] = [];
  const server = await startServer({
    port: 0,
    verbose: 1,
    log: (line) => {
      if (/failed/.test(line)) failures.push(line);
    },
  });
  try {
    const started = performance.now();
    const report = await runFuzz({ port: server.port, seed: SEED, frames: FRAMES });
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(`fuzz: seed ${SEED}, ${seconds} s, ${JSON.stringify(report)}`);
    assert.ok(report.framesSent >= FRAMES);
    assert.ok(report.verifiedValues > 0, "the verifier read values back");
    assert.deepEqual(failures, []);
    await assertAnswers(server.port);
  } finally {
    await server.close();
  }
});
