/**
 * The long fuzz run: `deno task fuzz [--frames=N] [--seed=S]` (defaults:
 * 2,000,000 frames, a seed from the clock, printed so a failure can be
 * replayed with `--seed`).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { startServer } from "../../lib/mod.ts";
import { assertAnswers } from "../hardening/_hostile.ts";
import { runFuzz } from "./_fuzz.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { frames: { type: "string" }, seed: { type: "string" } },
});
const frames = Number(values.frames ?? 2_000_000);
const seed = Number(values.seed ?? (Date.now() % 0x7fffffff));
const failures: string[] = [];
const server = await startServer({
  port: 0,
  verbose: 1,
  log: (line) => {
    if (/failed/.test(line)) failures.push(line);
  },
});
console.log(`fuzz: ${frames} frames, seed ${seed} (replay with --seed=${seed})`);
const started = performance.now();
try {
  const report = await runFuzz({ port: server.port, seed, frames });
  await assertAnswers(server.port);
  if (failures.length > 0) throw new Error(`Pipeline failures:\n${failures.join("\n")}`);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`fuzz: ok in ${seconds} s: ${JSON.stringify(report)}`);
} finally {
  await server.close();
}
