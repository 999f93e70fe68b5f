/**
 * A bounded soak: many connections run mixed binary, text and meta commands
 * against `main.ts` (a subprocess, so its resident memory can be read from
 * /proc), each over its own keys, checked against an exact model: every
 * acknowledged write must read back until it expires or is deleted. Used by
 * `soak_test.ts` (short, in `deno test`) and `soak_main.ts` (`deno task soak`).
 *
 * @module
 */
import { binaryRequest, latin1, toLatin1, words } from "../_support/raw_client.ts";
import { FrameReader, Random } from "../fuzz/_fuzz.ts";
import { startMain } from "../hardening/_main_process.ts";

/**
 * Deno's runtime (~40 MiB at start), V8 heap growth under load and 200
 * connection pipelines, on top of the item memory. Measured peaks with
 * `-m 64`: 191–204 MiB over five runs since a per-read leak was fixed
 * (188–331 MiB before it). What is above the items is the JS heap, buffers
 * not yet collected, and pages the allocator keeps (RSS does not shrink
 * after a burst). memcached holds ~70 MiB for the same load: this overhead
 * is the runtime's price, stated rather than hidden.
 */
export const RSS_OVERHEAD_MIB = 256;

/**
 * Each worker of `-t N` is a JavaScript engine of its own: the README tells
 * operators to plan 15–40 MiB per worker under load. Measured peaks of this
 * soak at `-t 4`: 279–320 MiB (`-t 1`: 200–230 MiB).
 */
export const RSS_PER_WORKER_MIB = 40;

/** The soak's bound on the server's peak resident memory. */
export function rssBoundMiB(options: { memoryMiB: number; threads: number }): number {
  const workers = options.threads > 1 ? options.threads : 0;
  return options.memoryMiB + RSS_OVERHEAD_MIB + workers * RSS_PER_WORKER_MIB;
}

/** Options of {@linkcode runSoak}. */
export interface SoakOptions {
  connections: number;
  durationMs: number;
  /** Server memory limit (`-m`), MiB. */
  memoryMiB: number;
  seed: number;
  /** Keys per connection. @default {40} */
  keysPerConnection?: number;
  /** Server worker threads (`-t`). @default {1} */
  threads?: number;
}

/** What a soak run measured. */
export interface SoakReport {
  connections: number;
  seconds: number;
  operations: number;
  writesAcknowledged: number;
  readsChecked: number;
  outOfMemory: number;
  errors: number;
  firstErrors: string[];
  /** The server's resident memory once listening, before any load. */
  baselineRssMiB: number;
  maxRssMiB: number;
  finalRssMiB: number;
  exitCode: number;
}

interface Entry {
  value: string;
  /** Earliest expiry (set sent + ttl), ms since the epoch, or Infinity. */
  expiresAt: number;
  /** Latest expiry (set acknowledged + ttl). */
  expiresBy: number;
}

/** memcached counts expiry in whole seconds: near the edge either answer is right. */
const EXPIRY_SLACK_MS = 1_100;

class Model {
  #entries = new Map<string, Entry>();

  /** A write sent at `at` and acknowledged now. */
  set(key: string, value: string, ttlSeconds: number, at: number): void {
    const acked = Date.now();
    this.#entries.set(key, {
      value,
      expiresAt: ttlSeconds === 0 ? Infinity : at + ttlSeconds * 1000,
      expiresBy: ttlSeconds === 0 ? Infinity : acked + ttlSeconds * 1000,
    });
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  /** "hit" with the value, "miss", or "either" near an expiry. */
  /** What a read sent at `sent` and answered at `now` may see. */
  expect(
    key: string,
    sent: number,
    now: number,
  ): { kind: "hit" | "miss" | "either"; value?: string; note?: string } {
    const e = this.#entries.get(key);
    if (!e) return { kind: "miss" };
    if (now < e.expiresAt - EXPIRY_SLACK_MS) {
      const note = e.expiresAt === Infinity ? "" : ` (expires in ${e.expiresAt - now} ms)`;
      return { kind: "hit", value: e.value, note };
    }
    if (sent > e.expiresBy + EXPIRY_SLACK_MS) {
      this.#entries.delete(key);
      return { kind: "miss" };
    }
    return { kind: "either", value: e.value };
  }

  /** After an append: the stored value grows if it was there. */
  append(key: string, suffix: string): void {
    const e = this.#entries.get(key);
    if (e) e.value += suffix;
  }

  keys(): string[] {
    return [...this.#entries.keys()];
  }
}

type Protocol = "binary" | "text" | "meta";

interface Client {
  protocol: Protocol;
  conn: Deno.Conn;
  reader: FrameReader;
  model: Model;
  rng: Random;
  keys: string[];
  report: SoakReport;
}

function fail(client: Client, message: string): void {
  client.report.errors++;
  if (client.report.firstErrors.length < 10) {
    client.report.firstErrors.push(`${client.protocol}: ${message}`);
  }
}

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let done = 0;
  while (done < data.length) done += await conn.write(data.subarray(done));
}

/** Checks a read sent at `at` (and answered now) against the model. */
function checkRead(client: Client, key: string, got: string | undefined, at: number): void {
  const want = client.model.expect(key, at, Date.now());
  client.report.readsChecked++;
  if (want.kind === "either") {
    if (got !== undefined && got !== want.value) {
      fail(client, `${key}: got ${got}, want ${want.value}`);
    }
    if (got === undefined) client.model.delete(key);
    return;
  }
  if (want.kind === "hit" && got !== want.value) {
    const shown = (v: string | undefined) =>
      v === undefined ? "a miss" : v.slice(0, 40) + `…(${v.length})`;
    fail(client, `${key}: got ${shown(got)}, want ${shown(want.value)}${want.note ?? ""}`);
  } else if (want.kind === "miss" && got !== undefined) {
    fail(client, `${key}: got ${got} for a key that should be gone`);
  }
}

function randomValue(client: Client, key: string): string {
  const size = client.rng.chance(0.02) ? 2000 + client.rng.int(30_000) : client.rng.int(300);
  return `${key}=${client.rng.int(1e9)}:${"v".repeat(size)}`;
}

async function binaryOp(client: Client): Promise<void> {
  const { rng, conn, reader, model } = client;
  const key = rng.pick(client.keys);
  const roll = rng.int(10);
  const at = Date.now();
  if (roll < 3) {
    const value = randomValue(client, key);
    const ttl = rng.chance(0.2) ? 2 + rng.int(2) : 0;
    await writeAll(conn, binaryRequest({ opcode: 0x01, key, extras: words(0, ttl), value }));
    const reply = await reader.next();
    if (reply.status === 0) {
      model.set(key, value, ttl, at);
      client.report.writesAcknowledged++;
    } else if (reply.status === 0x82) {
      client.report.outOfMemory++;
      model.delete(key); // memcached drops the old value when a set fails for memory
    } else {
      fail(client, `SET ${key}: status ${reply.status}`);
    }
  } else if (roll < 4) {
    await writeAll(conn, binaryRequest({ opcode: 0x04, key }));
    const reply = await reader.next();
    if (reply.status !== 0 && reply.status !== 1) {
      fail(client, `DELETE ${key}: status ${reply.status}`);
    }
    model.delete(key);
  } else if (roll < 5) {
    const suffix = `+${rng.int(100)}`;
    await writeAll(conn, binaryRequest({ opcode: 0x0e, key, value: suffix }));
    const reply = await reader.next();
    if (reply.status === 0) {
      model.append(key, suffix);
      client.report.writesAcknowledged++;
    } else if (reply.status === 0x82) {
      client.report.outOfMemory++;
    } else if (reply.status !== 5) {
      fail(client, `APPEND ${key}: status ${reply.status}`);
    } else {
      model.delete(key);
    }
  } else {
    await writeAll(conn, binaryRequest({ opcode: 0x0c, key }));
    const reply = await reader.next();
    if (reply.status === 0) {
      if (reply.replyKey !== key) fail(client, `GETK ${key}: reply names ${reply.replyKey}`);
      checkRead(client, key, toLatin1(reply.value), at);
    } else if (reply.status === 1) {
      checkRead(client, key, undefined, at);
    } else {
      fail(client, `GETK ${key}: status ${reply.status}`);
    }
  }
}

async function textOp(client: Client): Promise<void> {
  const { rng, conn, reader, model } = client;
  const key = rng.pick(client.keys);
  const roll = rng.int(10);
  const at = Date.now();
  const meta = client.protocol === "meta";
  if (roll < 3) {
    const value = randomValue(client, key);
    const ttl = rng.chance(0.2) ? 2 + rng.int(2) : 0;
    const line = meta ? `ms ${key} ${value.length} T${ttl}` : `set ${key} 0 ${ttl} ${value.length}`;
    await writeAll(conn, latin1(`${line}\r\n${value}\r\n`));
    const reply = await reader.line();
    if (reply === (meta ? "HD" : "STORED")) {
      model.set(key, value, ttl, at);
      client.report.writesAcknowledged++;
    } else if (reply.startsWith("SERVER_ERROR out of memory")) {
      client.report.outOfMemory++;
      model.delete(key);
    } else {
      fail(client, `set ${key}: ${reply}`);
    }
  } else if (roll < 4) {
    await writeAll(conn, latin1(meta ? `md ${key}\r\n` : `delete ${key}\r\n`));
    const reply = await reader.line();
    const ok = meta ? ["HD", "NF"] : ["DELETED", "NOT_FOUND"];
    if (!ok.includes(reply)) fail(client, `delete ${key}: ${reply}`);
    model.delete(key);
  } else if (roll < 5 && !meta) {
    const suffix = `+${rng.int(100)}`;
    await writeAll(conn, latin1(`append ${key} 0 0 ${suffix.length}\r\n${suffix}\r\n`));
    const reply = await reader.line();
    if (reply === "STORED") {
      model.append(key, suffix);
      client.report.writesAcknowledged++;
    } else if (reply === "NOT_STORED") {
      model.delete(key);
    } else if (reply.startsWith("SERVER_ERROR out of memory")) {
      client.report.outOfMemory++;
    } else {
      fail(client, `append ${key}: ${reply}`);
    }
  } else if (meta) {
    await writeAll(conn, latin1(`mg ${key} v k\r\n`));
    const reply = await reader.line();
    const tokens = reply.split(" ");
    if (tokens[0] === "VA") {
      const data = toLatin1(await reader.exact(Number(tokens[1]) + 2)).slice(0, -2);
      if (!tokens.includes(`k${key}`)) fail(client, `mg ${key}: ${reply}`);
      checkRead(client, key, data, at);
    } else if (reply === "EN" || reply.startsWith("EN ")) {
      checkRead(client, key, undefined, at);
    } else {
      fail(client, `mg ${key}: ${reply}`);
    }
  } else {
    await writeAll(conn, latin1(`get ${key}\r\n`));
    const reply = await reader.line();
    if (reply === "END") {
      checkRead(client, key, undefined, at);
      return;
    }
    const m = /^VALUE (\S+) 0 (\d+)$/.exec(reply);
    if (!m || m[1] !== key) {
      fail(client, `get ${key}: ${reply}`);
      return;
    }
    const data = toLatin1(await reader.exact(Number(m[2]) + 2)).slice(0, -2);
    const end = await reader.line();
    if (end !== "END") fail(client, `get ${key}: ended with ${end}`);
    checkRead(client, key, data, at);
  }
}

/** Reads every key the model holds and checks it (the closing pass). */
async function finalCheck(client: Client): Promise<void> {
  const saved = client.rng;
  for (const key of client.model.keys()) {
    client.keys = [key];
    // A read on the only key: make the next op a read.
    const at = Date.now();
    if (client.protocol === "binary") {
      await writeAll(client.conn, binaryRequest({ opcode: 0x00, key }));
      const reply = await client.reader.next();
      checkRead(client, key, reply.status === 0 ? toLatin1(reply.value) : undefined, at);
    } else {
      await writeAll(client.conn, latin1(`mg ${key} v\r\n`));
      const reply = await client.reader.line();
      if (reply.startsWith("VA ")) {
        const data = toLatin1(await client.reader.exact(Number(reply.split(" ")[1]) + 2));
        checkRead(client, key, data.slice(0, -2), at);
      } else {
        checkRead(client, key, undefined, at);
      }
    }
  }
  client.rng = saved;
}

/** The process's resident memory via `ps` (reading /proc needs --allow-all in Deno). */
function rssMiB(pid: number): number {
  try {
    const out = new Deno.Command("ps", {
      args: ["-o", "rss=", "-p", String(pid)],
      stdout: "piped",
      stderr: "null",
    })
      .outputSync();
    const kib = Number(new TextDecoder().decode(out.stdout).trim());
    return Number.isFinite(kib) ? kib / 1024 : 0;
  } catch {
    return 0;
  }
}

/** Starts `main.ts -M -m N -t T`, runs the clients for the duration, checks, stops it with SIGTERM. */
export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const report: SoakReport = {
    connections: options.connections,
    seconds: 0,
    operations: 0,
    writesAcknowledged: 0,
    readsChecked: 0,
    outOfMemory: 0,
    errors: 0,
    firstErrors: [],
    baselineRssMiB: 0,
    maxRssMiB: 0,
    finalRssMiB: 0,
    exitCode: -1,
  };
  const threads = options.threads ?? 1;
  await using main = await startMain([
    "-M",
    "-m",
    String(options.memoryMiB),
    "-c",
    String(options.connections + 16),
    "-t",
    String(threads),
  ]);
  const pid = main.child.pid;
  report.baselineRssMiB = rssMiB(pid);
  const sampler = setInterval(() => {
    report.maxRssMiB = Math.max(report.maxRssMiB, rssMiB(pid));
  }, 250);
  const started = Date.now();
  const deadline = started + options.durationMs;
  const keysPer = options.keysPerConnection ?? 40;
  const protocols: Protocol[] = ["binary", "text", "meta"];
  try {
    const clients = await Promise.all(
      Array.from({ length: options.connections }, async (_, i): Promise<Client> => {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port: main.port });
        conn.setNoDelay(true);
        return {
          protocol: protocols[i % protocols.length],
          conn,
          reader: new FrameReader(conn),
          model: new Model(),
          rng: new Random(options.seed * 1000 + i),
          keys: Array.from({ length: keysPer }, (_, k) => `soak:${i}:${k}`),
          report,
        };
      }),
    );
    try {
      await Promise.all(clients.map(async (client) => {
        while (Date.now() < deadline) {
          if (client.protocol === "binary") await binaryOp(client);
          else await textOp(client);
          report.operations++;
        }
        await finalCheck(client);
      }));
    } finally {
      for (const client of clients) client.conn.close();
    }
    report.seconds = (Date.now() - started) / 1000;
    report.finalRssMiB = rssMiB(pid);
    report.maxRssMiB = Math.max(report.maxRssMiB, report.finalRssMiB);
    main.child.kill("SIGTERM");
    report.exitCode = (await main.child.status).code;
  } finally {
    clearInterval(sampler);
  }
  return report;
}
