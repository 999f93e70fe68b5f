/**
 * The connections scenario of `bench/memory.ts`: resident memory per idle
 * connection, memory after connections close, and how a storm of connects
 * over `-c` is answered. The bench process holds the client ends, the server
 * process the other ends: each stays under the descriptor limit on its own.
 *
 * @module
 */
import { type BenchServer, cpuSeconds, residentBytes, startBenchServer } from "./_servers.ts";

const VERSION = new TextEncoder().encode("version\r\n");
const MiB = 1024 * 1024;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Connects, sends `version`, resolves with the first line of the answer ("" if closed first). */
async function versionConn(port: number): Promise<{ conn: Deno.Conn; line: Promise<string> }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(VERSION);
  return { conn, line: firstLine(conn) };
}

async function firstLine(conn: Deno.Conn): Promise<string> {
  const buf = new Uint8Array(128);
  let text = "";
  while (!text.includes("\r\n")) {
    const n = await conn.read(buf).catch(() => null);
    if (n === null) return text;
    text += new TextDecoder().decode(buf.subarray(0, n));
  }
  return text.slice(0, text.indexOf("\r\n"));
}

/** Opens connections until `conns` holds `n`, each having done one `version`, 250 at a time. */
async function openUpTo(port: number, conns: Deno.Conn[], n: number): Promise<void> {
  while (conns.length < n) {
    const batch = Math.min(250, n - conns.length);
    const opened = await Promise.all(Array.from({ length: batch }, () => versionConn(port)));
    for (const { conn, line } of opened) {
      conns.push(conn);
      const answer = await line;
      if (!answer.startsWith("VERSION ")) throw new Error(`Connection refused: "${answer}"`);
    }
  }
}

function closeAll(conns: Deno.Conn[]): void {
  for (const conn of conns.splice(0)) conn.close();
}

/** One server's figures for idle connections. */
export interface ConnectionsResult {
  server: string;
  /** RSS before any connection. */
  before: number;
  /** RSS with N idle connections open, per N. */
  held: Map<number, number>;
  /** RSS `settleMs` after the largest count closed, then after each storm of `stormSize`. */
  afterClose: number[];
}

/** Options of {@linkcode measureConnections}. */
export interface ConnectionsOptions {
  counts: number[];
  /** Connections opened and closed again per storm. */
  stormSize: number;
  storms: number;
  /** Wait after opening or closing before reading RSS. */
  settleMs: number;
}

/** Resident memory of `server` holding idle connections, and after they close. */
export async function measureConnections(
  server: BenchServer,
  options: ConnectionsOptions,
): Promise<ConnectionsResult> {
  await sleep(1000);
  const result: ConnectionsResult = {
    server: server.name,
    before: residentBytes(server.pid),
    held: new Map(),
    afterClose: [],
  };
  const conns: Deno.Conn[] = [];
  try {
    for (const n of options.counts) {
      await openUpTo(server.port, conns, n);
      await sleep(options.settleMs);
      result.held.set(n, residentBytes(server.pid));
    }
    for (let storm = 0; storm <= options.storms; storm++) {
      if (storm > 0) await openUpTo(server.port, conns, options.stormSize);
      closeAll(conns);
      await sleep(options.settleMs);
      result.afterClose.push(residentBytes(server.pid));
    }
  } finally {
    closeAll(conns);
  }
  return result;
}

/** Lines for one server's idle-connection figures. */
export function connectionsLines(r: ConnectionsResult): string[] {
  const mib = (b: number) => (b / MiB).toFixed(1);
  const held = [...r.held].map(([n, rss]) =>
    `${String(n).padStart(6)} conns: rss ${mib(rss).padStart(6)} MiB, ` +
    `${((rss - r.before) / n / 1024).toFixed(1).padStart(5)} KiB/conn`
  );
  return [
    `${r.server.padEnd(9)} before ${mib(r.before)} MiB`,
    ...held.map((l) => `${" ".repeat(10)}${l}`),
    `${" ".repeat(10)}after close, then after each storm: ${r.afterClose.map(mib).join(" / ")} MiB`,
  ];
}

/** How a storm of connects was answered. */
export interface StormResult {
  server: string;
  admitted: number;
  refused: number;
  /** Closed without an answer. */
  dropped: number;
  /** Neither answered nor closed within the deadline. */
  limbo: number;
  /** Server CPU seconds from the first connect to the deadline. */
  cpu: number;
}

/**
 * `size` connects at once, each sending `version`; after `deadlineMs`
 * counts the answers: VERSION (admitted), ERROR Too many open connections
 * (refused), closed without a line, or nothing yet (limbo).
 */
export async function measureStorm(
  server: BenchServer,
  size: number,
  deadlineMs: number,
): Promise<StormResult> {
  await sleep(500);
  const cpu0 = cpuSeconds(server.pid);
  const result: StormResult = {
    server: server.name,
    admitted: 0,
    refused: 0,
    dropped: 0,
    limbo: 0,
    cpu: 0,
  };
  const conns: Deno.Conn[] = [];
  const outcomes: Promise<void>[] = [];
  let over = false;
  const deadline = sleep(deadlineMs).then(() => "(limbo)");
  for (let i = 0; i < size; i++) {
    outcomes.push((async () => {
      const line = await Promise.race([
        versionConn(server.port).then(({ conn, line }) => {
          if (over) conn.close();
          else conns.push(conn);
          return line;
        }, () => ""),
        deadline,
      ]);
      if (line.startsWith("VERSION ")) result.admitted++;
      else if (line === "ERROR Too many open connections") result.refused++;
      else if (line === "(limbo)") result.limbo++;
      else result.dropped++;
    })());
  }
  await Promise.all(outcomes);
  over = true;
  result.cpu = cpuSeconds(server.pid) - cpu0;
  closeAll(conns);
  return result;
}

/** One line for a storm. */
export function stormLine(r: StormResult, size: number, deadlineMs: number): string {
  return `${
    r.server.padEnd(9)
  } ${size} connects at once: ${r.admitted} admitted, ${r.refused} refused, ` +
    `${r.dropped} closed unanswered, ${r.limbo} in limbo after ${deadlineMs / 1000} s; ` +
    `server cpu ${r.cpu.toFixed(2)} s`;
}

/** How a crowd of mostly idle connections was served. */
export interface SparseResult {
  server: string;
  sent: number;
  answered: number;
  /** Answers other than the expected `END`. */
  wrong: number;
  /** Latency of each answer, in ms, sorted. */
  latencies: number[];
  /** Server CPU seconds over the run. */
  cpu: number;
  /** Highest RSS seen (sampled every 500 ms) and RSS at the end. */
  peak: number;
  end: number;
}

/**
 * `n` connections, each sending a text `get` of a missing key every 2–6 s
 * (spread evenly) for `seconds`, each waiting for its answer: every answer
 * must be `END`. Requests still unanswered 15 s after the end are counted
 * as such.
 */
export async function measureSparse(
  server: BenchServer,
  n: number,
  seconds: number,
): Promise<SparseResult> {
  const conns: Deno.Conn[] = [];
  while (conns.length < n) {
    const batch = Math.min(250, n - conns.length);
    conns.push(
      ...await Promise.all(
        Array.from(
          { length: batch },
          () => Deno.connect({ hostname: "127.0.0.1", port: server.port }),
        ),
      ),
    );
  }
  const result: SparseResult = {
    server: server.name,
    sent: 0,
    answered: 0,
    wrong: 0,
    latencies: [],
    cpu: 0,
    peak: 0,
    end: 0,
  };
  const cpu0 = cpuSeconds(server.pid);
  const sampler = setInterval(() => {
    result.peak = Math.max(result.peak, residentBytes(server.pid));
  }, 500);
  const until = Date.now() + seconds * 1000;
  try {
    const clients = Promise.all(conns.map(async (conn, i) => {
      const request = new TextEncoder().encode(`get k${i}\r\n`);
      await sleep((i * 7919) % 4000);
      while (Date.now() < until) {
        result.sent++;
        const start = performance.now();
        await conn.write(request);
        const answer = await firstLine(conn);
        result.latencies.push(performance.now() - start);
        if (answer === "END") result.answered++;
        else result.wrong++;
        await sleep(2000 + ((i * 31 + result.sent) % 4000));
      }
    }));
    await Promise.race([clients, sleep(seconds * 1000 + 15_000)]);
  } finally {
    clearInterval(sampler);
    closeAll(conns);
  }
  result.cpu = cpuSeconds(server.pid) - cpu0;
  result.end = residentBytes(server.pid);
  result.latencies.sort((a, b) => a - b);
  return result;
}

/** One line for a sparse run. */
export function sparseLine(r: SparseResult, n: number, seconds: number): string {
  const at = (q: number) =>
    r.latencies[Math.min(r.latencies.length - 1, Math.floor(r.latencies.length * q))];
  const unanswered = r.sent - r.answered - r.wrong;
  return `${
    r.server.padEnd(9)
  } ${n} conns, a get every 2-6 s each, ${seconds} s: ${r.sent} sent, ` +
    `${r.answered} answered, ${r.wrong} wrong, ${unanswered} unanswered; latency ms p50 ` +
    `${at(0.5).toFixed(1)} p99 ${at(0.99).toFixed(0)} max ${at(1).toFixed(0)}; server cpu ` +
    `${r.cpu.toFixed(1)} s (${(r.cpu / r.sent * 1e6).toFixed(0)} us/request); rss peak ` +
    `${(r.peak / MiB).toFixed(0)} MiB, end ${(r.end / MiB).toFixed(0)} MiB`;
}

/** Starts each server with `args` and runs `fn` against it, one after the other. */
export async function eachServer<T>(
  names: readonly ("memcached" | "mbserver")[],
  args: string[],
  fn: (server: BenchServer) => Promise<T>,
): Promise<T[]> {
  const results: T[] = [];
  for (const name of names) {
    await using server = await startBenchServer(name, { args });
    results.push(await fn(server));
  }
  return results;
}
