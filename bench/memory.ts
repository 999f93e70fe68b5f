/**
 * Resident memory, mbserver against memcached `-t 1`, in two scenarios.
 *
 * Items: holding N items.
 * Loads the same items over the binary protocol into each server (pipelined
 * SETQ batches, each closed by a NOOP), reads `curr_items` back with STAT,
 * checks a sample of values byte for byte, then reads the server's VmRSS from
 * /proc. Run from the project root:
 *
 * ```sh
 * deno run --allow-run --allow-net --allow-read --allow-sys bench/memory.ts [--items 1000000] [-m 1024] [-t 1]
 * ```
 *
 * `-m` is passed to both servers; with a limit smaller than the data (say
 * `-m 64`), the figure shows the limit is honoured.
 *
 * Connections: each server with `-c 10240` holds 1,000, 5,000 and 10,000
 * idle connections (each did one `version`), RSS read `--settle` ms after
 * each count is reached; then all close, and five storms of 5,000 open and
 * close again, RSS read `--settle` ms after each. Then a storm of 5,000
 * connects at once against `-c 1024`: how many were admitted, refused, or
 * neither after 3 s.
 *
 * Sparse (`--scenario sparse`, not part of `all`): 10,000 connections
 * against `-c 10240`, each sending a `get` every 2–6 s for 20 s: every
 * request must be answered; server CPU per request and RSS.
 *
 * ```sh
 * deno run --allow-run --allow-net --allow-read --allow-sys bench/memory.ts --scenario connections
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import {
  connectionsLines,
  eachServer,
  measureConnections,
  measureSparse,
  measureStorm,
  sparseLine,
  stormLine,
} from "./_connections.ts";
import { BinaryClient, writeHeader } from "./_binary_client.ts";
import { type BenchServer, residentBytes, startBenchServer } from "./_servers.ts";

const KEY_LENGTH = 32;
const VALUE_LENGTH = 100;
const BATCH = 2000;

/** The key of item `i`: 32 bytes. */
function keyOf(i: number): string {
  return `key:${String(i).padStart(KEY_LENGTH - 4, "0")}`;
}

/** The value of item `i`: 100 bytes that differ between items. */
function fillValue(out: Uint8Array, pos: number, i: number): void {
  for (let j = 0; j < VALUE_LENGTH; j++) out[pos + j] = 0x21 + ((i * 31 + j * 7) % 90);
}

function writeKey(out: Uint8Array, pos: number, key: string): void {
  for (let i = 0; i < key.length; i++) out[pos + i] = key.charCodeAt(i);
}

/** Loads items 0..n-1 with SETQ; returns how many errors came back. */
async function load(client: BinaryClient, n: number): Promise<number> {
  const frame = 24 + 8 + KEY_LENGTH + VALUE_LENGTH;
  const buf = new Uint8Array(BATCH * frame + 24);
  let errors = 0;
  for (let start = 0; start < n; start += BATCH) {
    const end = Math.min(n, start + BATCH);
    let pos = 0;
    for (let i = start; i < end; i++) {
      writeHeader(buf, pos, {
        opcode: 0x11,
        keyLength: KEY_LENGTH,
        extrasLength: 8,
        bodyLength: 8 + KEY_LENGTH + VALUE_LENGTH,
      });
      buf.fill(0, pos + 24, pos + 32); // flags 0, exptime 0
      writeKey(buf, pos + 32, keyOf(i));
      fillValue(buf, pos + 32 + KEY_LENGTH, i);
      pos += frame;
    }
    writeHeader(buf, pos, { opcode: 0x0a });
    pos += 24;
    await client.send(buf.subarray(0, pos));
    while (true) {
      const res = await client.read();
      if (res.opcode === 0x0a) break;
      errors++;
    }
  }
  return errors;
}

/** GETs `count` spread-out items and checks their bytes; returns [hits, wrong]. */
async function verify(client: BinaryClient, n: number, count: number): Promise<[number, number]> {
  let hits = 0;
  let wrong = 0;
  const expected = new Uint8Array(VALUE_LENGTH);
  for (let k = 0; k < count; k++) {
    const i = Math.floor((k * n) / count);
    const key = keyOf(i);
    const buf = new Uint8Array(24 + KEY_LENGTH);
    writeHeader(buf, 0, { opcode: 0x00, keyLength: KEY_LENGTH, bodyLength: KEY_LENGTH });
    writeKey(buf, 24, key);
    await client.send(buf);
    const res = await client.read();
    if (res.status !== 0) continue;
    hits++;
    fillValue(expected, 0, i);
    if (res.value.length !== VALUE_LENGTH || res.value.some((b, j) => b !== expected[j])) wrong++;
  }
  return [hits, wrong];
}

/** One server's figures. */
export interface MemoryResult {
  server: string;
  idleRss: number;
  loadedRss: number;
  items: number;
  errors: number;
  hits: number;
  wrong: number;
}

async function measure(server: BenchServer, n: number): Promise<MemoryResult> {
  await new Promise((r) => setTimeout(r, 300));
  const idleRss = residentBytes(server.pid);
  const client = await BinaryClient.connect(server.port);
  try {
    const errors = await load(client, n);
    const [hits, wrong] = await verify(client, n, 1000);
    const items = Number((await client.stats()).get("curr_items") ?? NaN);
    await new Promise((r) => setTimeout(r, 1000));
    return {
      server: server.name,
      idleRss,
      loadedRss: residentBytes(server.pid),
      items,
      errors,
      hits,
      wrong,
    };
  } finally {
    client.close();
  }
}

const MiB = 1024 * 1024;

function line(r: MemoryResult): string {
  const perItem = r.items > 0 ? (r.loadedRss - r.idleRss) / r.items : 0;
  return `${r.server.padEnd(9)} rss ${(r.loadedRss / MiB).toFixed(1).padStart(7)} MiB` +
    `  idle ${(r.idleRss / MiB).toFixed(1).padStart(5)} MiB  items ${String(r.items).padStart(8)}` +
    `  ${perItem.toFixed(0).padStart(4)} B/item  sample hits ${r.hits}/1000 wrong ${r.wrong}` +
    (r.errors ? `  set errors ${r.errors}` : "");
}

async function itemsScenario(
  names: readonly Server[],
  n: number,
  options: { memoryMiB: number; threads: string },
) {
  const { memoryMiB, threads } = options;
  console.log(
    `memory: ${n} items, ${KEY_LENGTH}-byte keys, ${VALUE_LENGTH}-byte values, -m ${memoryMiB}`,
  );
  const results: MemoryResult[] = [];
  for (const name of names) {
    const args = name === "mbserver" && threads !== "1" ? ["-t", threads] : [];
    await using server = await startBenchServer(name, { memoryMiB, args });
    const r = await measure(server, n);
    results.push(r);
    console.log(line(r));
  }
  const mc = results.find((r) => r.server === "memcached");
  const ours = results.find((r) => r.server === "mbserver");
  if (mc && ours) {
    console.log(
      `memory ratio: rss x${(ours.loadedRss / mc.loadedRss).toFixed(2)} ` +
        `(mbserver ${(ours.loadedRss / MiB).toFixed(1)} MiB / memcached ${
          (mc.loadedRss / MiB).toFixed(1)
        } MiB, -m ${memoryMiB})`,
    );
  }
}

async function connectionsScenario(names: readonly Server[], counts: number[], settleMs: number) {
  const storms = 5;
  const stormSize = 5000;
  console.log(
    `connections: idle connections (each did one version), -c 10240, RSS ${settleMs} ms after ` +
      `each step; then ${storms} storms of ${stormSize} opened and closed`,
  );
  await eachServer(names, ["-c", "10240"], async (server) => {
    const r = await measureConnections(server, { counts, stormSize, storms, settleMs });
    for (const l of connectionsLines(r)) console.log(l);
  });
  const deadlineMs = 3000;
  console.log(`storm: ${stormSize} connects at once, each sending version, against -c 1024`);
  await eachServer(names, ["-c", "1024"], async (server) => {
    console.log(
      stormLine(await measureStorm(server, stormSize, deadlineMs), stormSize, deadlineMs),
    );
  });
}

async function sparseScenario(names: readonly Server[], n: number, seconds: number) {
  console.log(`sparse: ${n} connections against -c 10240, each a get every 2-6 s`);
  await eachServer(names, ["-c", "10240"], async (server) => {
    console.log(sparseLine(await measureSparse(server, n, seconds), n, seconds));
  });
}

type Server = "mbserver" | "memcached";

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      items: { type: "string", default: "1000000" },
      m: { type: "string", short: "m", default: "1024" },
      only: { type: "string" },
      scenario: { type: "string", default: "all" },
      counts: { type: "string", default: "1000,5000,10000" },
      settle: { type: "string", default: "4000" },
      sparse: { type: "string", default: "10000" },
      seconds: { type: "string", default: "20" },
      threads: { type: "string", short: "t", default: "1" },
    },
  });
  const names = values.only ? [values.only as Server] : ["memcached", "mbserver"] as const;
  if (values.scenario === "all" || values.scenario === "items") {
    await itemsScenario(names, Number(values.items), {
      memoryMiB: Number(values.m),
      threads: values.threads,
    });
  }
  if (values.scenario === "all" || values.scenario === "connections") {
    await connectionsScenario(names, values.counts.split(",").map(Number), Number(values.settle));
  }
  if (values.scenario === "sparse") {
    await sparseScenario(names, Number(values.sparse), Number(values.seconds));
  }
}
