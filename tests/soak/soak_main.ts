/**
 * The full soak: `deno task soak [--seconds=60] [--connections=200] [--memory=64] [--threads=1]`.
 * Prints the report; exits 1 on any error or memory over the stated bound.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { RSS_OVERHEAD_MIB, RSS_PER_WORKER_MIB, rssBoundMiB, runSoak } from "./_soak.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    seconds: { type: "string" },
    connections: { type: "string" },
    memory: { type: "string" },
    seed: { type: "string" },
    threads: { type: "string" },
  },
});
const memoryMiB = Number(values.memory ?? 64);
const threads = Number(values.threads ?? 1);
const report = await runSoak({
  connections: Number(values.connections ?? 200),
  durationMs: Number(values.seconds ?? 60) * 1000,
  memoryMiB,
  seed: Number(values.seed ?? 42),
  threads,
});
console.log(JSON.stringify(report, null, 2));
const bound = rssBoundMiB({ memoryMiB, threads });
const ok = report.errors === 0 && report.baselineRssMiB > 0 && report.maxRssMiB < bound &&
  report.exitCode === 0;
console.log(
  `soak: ${
    ok ? "ok" : "FAILED"
  }: ${report.connections} connections, ${report.operations} operations in ${report.seconds} s, ${report.errors} errors, peak RSS ${
    report.maxRssMiB.toFixed(1)
  } MiB (bound ${bound} MiB = -m ${memoryMiB} + ${RSS_OVERHEAD_MIB} overhead${
    threads > 1 ? ` + ${threads} workers × ${RSS_PER_WORKER_MIB}` : ""
  })`,
);
Deno.exit(ok ? 0 : 1);
