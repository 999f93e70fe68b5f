/**
 * Shared helpers of the bench scripts: start mbserver or memcached on a free
 * loopback port, read a process's resident memory and CPU time from /proc,
 * take the median of a run's figures.
 *
 * @module
 */
import { closer, freePort, waitForPort } from "../tests/_support/child_server.ts";

export { freePort };

/** A server process started for a measurement. */
export interface BenchServer extends AsyncDisposable {
  /** Which server this is ("mbserver" or "memcached"). */
  name: string;
  /** The loopback port it listens on. */
  port: number;
  /** Process id of the server itself. */
  pid: number;
  /** Stops the process and waits for it. */
  close(): Promise<void>;
}

/** Options of {@linkcode startBenchServer}. */
export interface StartOptions {
  /** Memory limit in MiB, passed as `-m`. @default {1024} */
  memoryMiB?: number;
  /** Extra arguments. @default {[]} */
  args?: string[];
  /** CPU list for `taskset -c` (empty: no pinning). @default {""} */
  cpus?: string;
}

const ROOT = new URL("../", import.meta.url);

/** The command line that starts `name` on `port`. */
export function serverCommand(
  name: "mbserver" | "memcached",
  port: number,
  options: StartOptions = {},
): string[] {
  const m = String(options.memoryMiB ?? 1024);
  const extra = options.args ?? [];
  if (name === "memcached") {
    const root = Deno.uid() === 0 ? ["-u", "root"] : [];
    return [
      "memcached",
      ...["-p", String(port), "-U", "0", "-t", "1", "-R", "200", "-m", m, "-l", "127.0.0.1"],
      ...root,
      ...extra,
    ];
  }
  return [
    Deno.execPath(),
    ...["run", "--allow-net", new URL("main.ts", ROOT).pathname],
    ...["-p", String(port), "-m", m],
    ...extra,
  ];
}

/** Starts `name` on a free port and waits until it accepts connections. */
export async function startBenchServer(
  name: "mbserver" | "memcached",
  options: StartOptions = {},
): Promise<BenchServer> {
  const port = freePort();
  let argv = serverCommand(name, port, options);
  if (options.cpus) argv = ["taskset", "-c", options.cpus, ...argv];
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdout: "null",
    stderr: "inherit",
  })
    .spawn();
  await waitForPort(port, child, name, 30_000);
  const close = closer(child);
  // taskset execs the server, so the pid is the server's own.
  return { name, port, pid: child.pid, close, [Symbol.asyncDispose]: close };
}

/** Resident memory of a process in bytes (`VmRSS` of /proc/PID/status). */
export function residentBytes(pid: number): number {
  const status = procFile(`/proc/${pid}/status`);
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  if (!m) throw new Error(`Cannot read VmRSS of process ${pid}`);
  return Number(m[1]) * 1024;
}

/** Peak resident memory of a process in bytes (`VmHWM` of /proc/PID/status). */
export function peakResidentBytes(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(procFile(`/proc/${pid}/status`));
  if (!m) throw new Error(`Cannot read VmHWM of process ${pid}`);
  return Number(m[1]) * 1024;
}

/** Resets a process's peak resident memory to its current one (`5` into /proc/PID/clear_refs). */
export function resetPeakResident(pid: number): void {
  const out = new Deno.Command("sh", {
    args: ["-c", `echo 5 > /proc/${pid}/clear_refs`],
    stderr: "null",
  }).outputSync();
  if (!out.success) throw new Error(`Cannot reset the peak resident memory of process ${pid}`);
}

/** User + system CPU seconds of a process, all threads (/proc/PID/stat). */
export function cpuSeconds(pid: number): number {
  const stat = procFile(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // fields[11..12] = utime stime, in clock ticks (100 per second on Linux).
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Reads a /proc file through `cat` (Deno asks for --allow-all to read /proc directly). */
function procFile(path: string): string {
  const out = new Deno.Command("cat", { args: [path], stdout: "piped", stderr: "null" })
    .outputSync();
  if (!out.success) throw new Error(`Cannot read ${path}`);
  return new TextDecoder().decode(out.stdout);
}

/** The median of `xs` (the mean of the middle two for an even count). */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}
