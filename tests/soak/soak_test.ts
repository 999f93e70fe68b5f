/**
 * The short soak run in `deno test`: 200 connections for 12 s against
 * `main.ts -M -m 64`; zero protocol errors, every acknowledged write reads
 * back, the server's resident memory within 64 MiB of items plus 256 MiB of
 * runtime overhead (and 40 MiB per worker with `-t N`), and a clean exit on SIGTERM.
 */
import assert from "node:assert/strict";
import { THREADS } from "../_support/threads.ts";
import { rssBoundMiB, runSoak } from "./_soak.ts";

for (const threads of THREADS) {
  Deno.test(`Soak: 200 connections of mixed commands for 12 s, no errors, memory bounded (-t ${threads})`, async () => {
    const memoryMiB = 64;
    const report = await runSoak({
      connections: 200,
      durationMs: 12_000,
      memoryMiB,
      seed: 42,
      threads,
    });
    console.log(`soak: ${JSON.stringify(report)}`);
    assert.deepEqual(report.firstErrors, []);
    assert.equal(report.errors, 0);
    assert.ok(report.operations > 10_000, `only ${report.operations} operations`);
    assert.ok(report.writesAcknowledged > 0 && report.readsChecked > 0);
    assert.ok(report.baselineRssMiB > 0, "the server's resident memory could be read");
    assert.ok(
      report.maxRssMiB < rssBoundMiB({ memoryMiB, threads }),
      `server resident memory peaked at ${report.maxRssMiB.toFixed(1)} MiB`,
    );
    assert.equal(report.exitCode, 0);
  });
}
