/**
 * Side by side with memcached: starts memcached `-t 1` and mbserver in turn
 * (A B A B…), drives each with the same `memcaslap` load (Debian's
 * libmemcached-tools), and prints throughput and the server's CPU time per
 * operation (user + system, from /proc) with the ratio mbserver ÷ memcached.
 * CPU per operation is the steadier figure on a shared machine.
 *
 * With two CPUs or more the server runs on CPU 1 and the load generator on
 * CPU 0 (`taskset`). Run from the project root:
 *
 * ```sh
 * deno task bench:vs [--scenario bin-16c] [--seconds 5] [--rounds 2]
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { cpuSeconds, median, startBenchServer } from "./_servers.ts";

/** Load scenarios: memcaslap arguments and what they mean. */
export const SCENARIOS: Record<string, { args: string[]; meaning: string }> = {
  "bin-16c": {
    args: ["-B", "-T", "1", "-c", "16"],
    meaning: "binary, 16 connections, get/set 9:1, 1 request in flight each",
  },
  "bin-mget": {
    args: ["-B", "-T", "1", "-c", "16", "-d", "50"],
    meaning: "binary, 16 connections, multi-get of 50 keys",
  },
  "txt-16c": { args: ["-T", "1", "-c", "16"], meaning: "text, 16 connections, get/set 9:1" },
  "txt-mget": {
    args: ["-T", "1", "-c", "16", "-d", "50"],
    meaning: "text, 16 connections, multi-get of 50 keys",
  },
};

/** One measured run. */
interface Run {
  tps: number;
  ops: number;
  usPerOp: number;
}

async function measure(
  name: "mbserver" | "memcached",
  args: string[],
  seconds: number,
  pin: boolean,
): Promise<Run> {
  await using server = await startBenchServer(name, { cpus: pin ? "1" : "" });
  await new Promise((r) => setTimeout(r, 300));
  const before = cpuSeconds(server.pid);
  const argv = ["memcaslap", "-s", `127.0.0.1:${server.port}`, ...args, "-t", `${seconds}s`];
  const cmd = pin ? ["taskset", "-c", "0", ...argv] : argv;
  const out = await new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const used = cpuSeconds(server.pid) - before;
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  const m = /Ops:\s*(\d+)\s+TPS:\s*(\d+)/.exec(text);
  if (!m) throw new Error(`memcaslap printed no result:\n${text.slice(-2000)}`);
  const ops = Number(m[1]);
  return { ops, tps: Number(m[2]), usPerOp: (1e6 * used) / Math.max(ops, 1) };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      scenario: { type: "string", multiple: true },
      seconds: { type: "string", default: "5" },
      rounds: { type: "string", default: "2" },
      "no-pin": { type: "boolean", default: false },
    },
  });
  const scenarios = values.scenario ?? Object.keys(SCENARIOS);
  const seconds = Number(values.seconds);
  const rounds = Number(values.rounds);
  const pin = !values["no-pin"] && navigator.hardwareConcurrency >= 2;
  const summary: string[] = [];
  console.log(
    `${"scenario".padEnd(10)} ${"server".padEnd(9)} ${"ops/s".padStart(9)} ${
      "cpu us/op".padStart(10)
    }`,
  );
  for (const name of scenarios) {
    const scenario = SCENARIOS[name];
    if (!scenario) throw new Error(`Unknown scenario ${name}: one of ${Object.keys(SCENARIOS)}`);
    const runs: Record<string, Run[]> = { memcached: [], mbserver: [] };
    for (let round = 0; round < rounds; round++) {
      for (const server of ["memcached", "mbserver"] as const) {
        const r = await measure(server, scenario.args, seconds, pin);
        runs[server].push(r);
        console.log(
          `${name.padEnd(10)} ${server.padEnd(9)} ${String(r.tps).padStart(9)} ${
            r.usPerOp.toFixed(2).padStart(10)
          }`,
        );
      }
    }
    const cpu = median(runs.mbserver.map((r) => r.usPerOp)) /
      median(runs.memcached.map((r) => r.usPerOp));
    const tput = median(runs.mbserver.map((r) => r.tps)) /
      median(runs.memcached.map((r) => r.tps));
    console.log(
      `${name.padEnd(10)} ratio     throughput x${tput.toFixed(2)}, cpu/op x${
        cpu.toFixed(2)
      }  (${scenario.meaning})`,
    );
    summary.push(`${name} cpu/op x${cpu.toFixed(2)} tput x${tput.toFixed(2)}`);
  }
  console.log(`vs_memcached: ${summary.join("; ")}`);
}
