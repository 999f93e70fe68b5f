/**
 * Many connections against a server subprocess: a storm of connects over
 * `-c` is answered connection by connection (admitted or refused, none left
 * silent), as memcached answers it; running out of file descriptors pauses
 * accepting, logs once, and accepting resumes once descriptors are freed.
 * Counts stay far below the machine's descriptor limit for both ends.
 */
import assert from "node:assert/strict";
import { startMemcached } from "../_support/memcached.ts";
import { MEMCACHED, SS, testWithTools } from "../_support/tools.ts";
import { startMain } from "./_main_process.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A client that sent `version` and waits for its first line. */
interface Probe {
  conn: Deno.Conn;
  /** The first line (without `\r\n`); "" if the server closed without one. */
  answer: Promise<string>;
}

/** Connects and sends `version`; the first line comes later. */
async function probe(port: number): Promise<Probe> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(encoder.encode("version\r\n"));
  return { conn, answer: firstLine(conn) };
}

async function firstLine(conn: Deno.Conn): Promise<string> {
  const buf = new Uint8Array(256);
  let text = "";
  while (!text.includes("\r\n")) {
    const n = await conn.read(buf).catch(() => null);
    if (n === null) return text;
    text += decoder.decode(buf.subarray(0, n));
  }
  return text.slice(0, text.indexOf("\r\n"));
}

/** Resolves to `value` after `ms`, or with `promise` if that is sooner. */
function within<T>(promise: Promise<T>, ms: number, value: T): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<T>((resolve) => timer = setTimeout(() => resolve(value), ms));
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** `stats` over an open connection, as a map. */
async function statsOn(conn: Deno.Conn): Promise<Map<string, string>> {
  await conn.write(encoder.encode("stats\r\n"));
  const buf = new Uint8Array(64 * 1024);
  let text = "";
  while (!text.endsWith("END\r\n")) {
    const n = await conn.read(buf);
    if (n === null) throw new Error(`Server closed the stats connection after "${text}"`);
    text += decoder.decode(buf.subarray(0, n));
  }
  return new Map(
    text.split("\r\n").filter((l) => l.startsWith("STAT ")).map((l) => {
      const [, name, value] = l.split(" ");
      return [name, value];
    }),
  );
}

/** `stats` over a new connection, as a map. */
async function stats(port: number): Promise<Map<string, string>> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    return await statsOn(conn);
  } finally {
    conn.close();
  }
}

/**
 * A connection that stays open, once the server counts it as its only one:
 * connections opened before (the start-up probe) are then closed on the
 * server's side too, so the slots left are exactly `-c` minus this one.
 */
async function onlyConnection(port: number): Promise<Deno.Conn> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const deadline = Date.now() + 10_000;
  while ((await statsOn(conn)).get("curr_connections") !== "1") {
    if (Date.now() > deadline) {
      conn.close();
      throw new Error("The server still counts other connections after 10 s");
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return conn;
}

/** `stats` once the server counts exactly `curr` connections (the stats one included). */
async function statsWhen(port: number, curr: number): Promise<Map<string, string>> {
  const deadline = Date.now() + 10_000;
  while (true) {
    const s = await stats(port);
    if (s.get("curr_connections") === String(curr) || Date.now() > deadline) return s;
    await new Promise((r) => setTimeout(r, 20));
  }
}

const STORM = 2000;
const LIMIT = 200;

/**
 * 2,000 connects at once against -c 200, each sending `version`: every one
 * is answered (VERSION, or ERROR Too many open connections and closed), and
 * the counters say so.
 */
async function assertStormAnswered(port: number, server: "mbserver" | "memcached") {
  const held = await onlyConnection(port);
  const probes = await Promise.all(Array.from({ length: STORM }, () => probe(port)));
  try {
    // A generous bound: a connection still silent after it is in limbo.
    const answers = await Promise.all(probes.map((p) => within(p.answer, 20_000, "(silent)")));
    const admitted = answers.filter((a) => a.startsWith("VERSION ")).length;
    const refused = answers.filter((a) => a === "ERROR Too many open connections").length;
    const other = answers.filter((a) =>
      !a.startsWith("VERSION ") && a !== "ERROR Too many open connections"
    );
    assert.deepEqual(
      other.slice(0, 5),
      [],
      `${other.length} connections neither admitted nor refused`,
    );
    assert.equal(admitted + refused, STORM);
    // memcached keeps a few descriptors in reserve below -c; mbserver admits
    // exactly -c, the held connection included.
    if (server === "mbserver") assert.equal(admitted, LIMIT - 1);
    else assert.ok(admitted > LIMIT / 2 && admitted < LIMIT, `admitted ${admitted}`);
    for (const p of probes) p.conn.close();
    held.close();
    const s = await statsWhen(port, 1);
    assert.equal(s.get("curr_connections"), "1");
    assert.equal(s.get("rejected_connections"), String(refused));
    // Admitted ones, the held one and this stats connection (and the
    // start-up probe for mbserver).
    assert.ok(Number(s.get("total_connections")) >= admitted + 2);
    assert.equal(s.get("listen_disabled_num"), "0");
    assert.equal(s.get("accepting_conns"), "1");
  } finally {
    try {
      held.close();
    } catch {
      // closed above
    }
    for (const p of probes) {
      try {
        p.conn.close();
      } catch {
        // closed above
      }
    }
  }
}

Deno.test("main.ts answers every connection of a storm over -c: admitted or refused, none silent", async () => {
  await using server = await startMain(["-c", String(LIMIT)]);
  await assertStormAnswered(server.port, "mbserver");
});

testWithTools(
  "memcached answers every connection of a storm over -c (the oracle of the test above)",
  [MEMCACHED],
  async () => {
    await using memcached = await startMemcached(["-c", String(LIMIT)]);
    await assertStormAnswered(memcached.port, "memcached");
  },
);

const FD_LIMIT = 64;

Deno.test("main.ts out of descriptors stops accepting, logs once, and resumes when descriptors are freed", async () => {
  await using server = await startMain(["-c", "1000"], { fdLimit: FD_LIMIT });
  const admitted: Probe[] = [];
  const waiting: Probe[] = [];
  try {
    // More clients than the server has descriptors: the first are answered, the rest wait.
    for (let i = 0; i < FD_LIMIT + 6; i++) {
      const p = await probe(server.port);
      (waiting.length > 0 ? waiting : admitted).push(p);
      if (waiting.length === 0 && !(await within(p.answer, 1000, "")).startsWith("VERSION ")) {
        admitted.pop();
        waiting.push(p);
      }
    }
    assert.ok(admitted.length > 10, `only ${admitted.length} clients were admitted`);
    for (const p of admitted.splice(0, waiting.length + 2)) p.conn.close();
    const answers = await Promise.all(waiting.map((p) => within(p.answer, 10_000, "(silent)")));
    assert.deepEqual(answers.filter((a) => !a.startsWith("VERSION ")), []);
    const s = await stats(server.port);
    assert.equal(s.get("curr_connections"), String(admitted.length + waiting.length + 1));
    assert.ok(Number(s.get("listen_disabled_num")) >= 1);
    assert.ok(Number(s.get("time_in_listen_disabled_us")) > 0);
    assert.equal(s.get("accepting_conns"), "1");
  } finally {
    for (const p of [...admitted, ...waiting]) p.conn.close();
  }
  await server[Symbol.asyncDispose]();
  const lines = (await server.stderr()).split("\n").filter((l) => l.includes("accept failed"));
  assert.equal(lines.length, 1, lines.slice(0, 3).join("\n"));
  assert.match(lines[0], /^Too many open connections: accept failed \(Too many open files/);
});

/** The listen queue limit of the socket listening on 127.0.0.1:`port`, as `ss -ltn` shows it. */
async function backlogOf(port: number): Promise<number> {
  const out = await new Deno.Command("ss", { args: ["-Hltn", `sport = :${port}`] }).output();
  const fields = new TextDecoder().decode(out.stdout).trim().split(/\s+/);
  return Number(fields[2]); // State Recv-Q Send-Q(= backlog) Local Peer
}

async function assertBacklog(port: number): Promise<void> {
  assert.equal(await backlogOf(port), 77);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(encoder.encode("stats settings\r\n"));
    const buf = new Uint8Array(16 * 1024);
    let text = "";
    while (!text.endsWith("END\r\n")) {
      const n = await conn.read(buf);
      if (n === null) break;
      text += decoder.decode(buf.subarray(0, n));
    }
    assert.match(text, /\r\nSTAT tcp_backlog 77\r\n/);
  } finally {
    conn.close();
  }
}

testWithTools(
  "main.ts -b sets the listen backlog and reports it as tcp_backlog",
  [SS],
  async () => {
    await using server = await startMain(["-b", "77"]);
    await assertBacklog(server.port);
  },
);

testWithTools("memcached -b sets the listen backlog (the oracle of the test above)", [
  MEMCACHED,
  SS,
], async () => {
  await using memcached = await startMemcached(["-b", "77"]);
  await assertBacklog(memcached.port);
});
