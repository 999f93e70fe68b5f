/**
 * What `-t 2` can reach under a load, against servers that share nothing:
 * for each round, under the same `memcaslap -T 2` load (Debian's
 * libmemcached-tools), measures mbserver `-t 1`, mbserver `-t 2`, two
 * share-nothing single-worker processes on one port (`reusePort`, each with
 * its own cache: the best any `-t 2` could do on one port), and the same two
 * processes on two ports with each load thread talking to one of them
 * (`memcaslap -s A,B`: two independent pairs). Prints ops/s per run, then
 * medians and their ratio to `-t 1`. Unpinned: the servers and the load
 * generator share every CPU.
 *
 * ```sh
 * deno task bench:share-nothing [--scenario bin-16c] [--seconds 10] [--rounds 4]
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { freePort, median, startBenchServer } from "./_servers.ts";
import { closer, waitForPort } from "../tests/_support/child_server.ts";

const SCENARIOS: Record<string, string[]> = {
  "bin-16c": ["-B", "-T", "2", "-c", "16"],
  "txt-16c": ["-T", "2", "-c", "16"],
};

/** The servers measured, in the order of a round. */
const SETUPS = ["-t 1", "-t 2", "two lone, one port", "two lone, two ports"] as const;
type Setup = typeof SETUPS[number];

/** Servers started for one run: the `memcaslap -s` list and how to stop them. */
interface Started extends AsyncDisposable {
  servers: string;
}

async function start(setup: Setup): Promise<Started> {
  if (setup === "-t 1" || setup === "-t 2") {
    const server = await startBenchServer("mbserver", { args: ["-t", setup.slice(3)] });
    return { servers: `127.0.0.1:${server.port}`, [Symbol.asyncDispose]: server.close };
  }
  const shared = setup === "two lone, one port" ? freePort() : undefined;
  const ports = [shared ?? freePort(), shared ?? freePort()];
  const stops: (() => Promise<void>)[] = [];
  const stopAll = () => Promise.all(stops.map((stop) => stop())).then(() => {});
  try {
    for (const port of ports) stops.push(await startLone(port));
  } catch (err) {
    await stopAll();
    throw err;
  }
  const servers = [...new Set(ports)].map((port) => `127.0.0.1:${port}`).join(",");
  return { servers, [Symbol.asyncDispose]: stopAll };
}

/** Starts `_lone_worker.ts` on `port` and waits for its "listening" line. */
async function startLone(port: number): Promise<() => Promise<void>> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", new URL("_lone_worker.ts", import.meta.url).pathname, `${port}`],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const stop = closer(child);
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const { value } = await reader.read();
  await reader.cancel();
  if (!value?.startsWith("listening")) {
    await stop();
    throw new Error(`bench/_lone_worker.ts did not listen on port ${port}`);
  }
  await waitForPort(port, child, "bench/_lone_worker.ts", 30_000);
  return stop;
}

async function measure(setup: Setup, args: string[], seconds: number): Promise<number> {
  await using started = await start(setup);
  await new Promise((r) => setTimeout(r, 300));
  const out = await new Deno.Command("memcaslap", {
    args: ["-s", started.servers, ...args, "-t", `${seconds}s`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  const m = /TPS:\s*(\d+)/.exec(text);
  if (!m) throw new Error(`memcaslap printed no result for ${setup}:\n${text.slice(-2000)}`);
  return Number(m[1]);
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      scenario: { type: "string", multiple: true },
      seconds: { type: "string", default: "10" },
      rounds: { type: "string", default: "4" },
    },
  });
  const seconds = Number(values.seconds);
  const rounds = Number(values.rounds);
  const summary: string[] = [];
  for (const name of values.scenario ?? Object.keys(SCENARIOS)) {
    const args = SCENARIOS[name];
    if (!args) throw new Error(`Unknown scenario ${name}: one of ${Object.keys(SCENARIOS)}`);
    const runs = new Map<Setup, number[]>(SETUPS.map((setup) => [setup, []]));
    for (let round = 0; round < rounds; round++) {
      for (const setup of SETUPS) {
        const tps = await measure(setup, args, seconds);
        runs.get(setup)!.push(tps);
        console.log(`${name.padEnd(8)} ${setup.padEnd(20)} ${String(tps).padStart(8)} ops/s`);
      }
    }
    const base = median(runs.get("-t 1")!);
    const ratios = SETUPS.slice(1).map((setup) =>
      `${setup} x${(median(runs.get(setup)!) / base).toFixed(2)}`
    );
    console.log(`${name.padEnd(8)} medians over -t 1 (${base} ops/s): ${ratios.join(", ")}`);
    summary.push(`${name}: ${ratios.join(", ")}`);
  }
  console.log(`share_nothing: ${summary.join("; ")}`);
}
