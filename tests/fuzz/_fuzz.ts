/**
 * A seeded, reproducible wire fuzzer for the server: random, valid and
 * mutated frames of the binary, text and meta protocols, sent in chunks on
 * short-lived connections (each ended with a half-close, so the server
 * answers what it read and closes), while a verifying client stores values
 * that encode their own key and checks every value it is handed back.
 *
 * Used by `fuzz_test.ts` (a bounded run in `deno test`) and `fuzz_main.ts`
 * (`deno task fuzz`, a longer run).
 *
 * @module
 */
import { prng } from "../_support/prng.ts";
import { binaryRequest, concat, latin1, toLatin1, words } from "../_support/raw_client.ts";

/** Seeded random choices over {@linkcode prng}. */
export class Random {
  /** A float in [0, 1). */
  readonly next: () => number;

  constructor(seed: number) {
    this.next = prng(seed);
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }
}

/** What a fuzz run did. */
export interface FuzzReport {
  framesSent: number;
  binaryFrames: number;
  textFrames: number;
  metaFrames: number;
  mutatedFrames: number;
  randomFrames: number;
  connections: number;
  bytesSent: number;
  bytesReceived: number;
  verifiedValues: number;
  verifierOps: number;
}

/** Options of {@linkcode runFuzz}. */
export interface FuzzOptions {
  port: number;
  seed: number;
  /** Frames to send in all. */
  frames: number;
  /** Fuzzing connections at once. @default {4} */
  concurrency?: number;
  /** Frames per connection. @default {32} */
  framesPerConnection?: number;
}

/** Keys the verifier owns: long and unlike anything the fuzzer writes, so no mutation reaches them. */
const VERIFIED = "\x01verified-key\x02";
/** Keys the fuzzer writes (few, so commands collide). */
const FUZZ_KEYS = Array.from({ length: 24 }, (_, i) => `fz${i}`);

const BINARY_OPS = [
  0x00,
  0x01,
  0x02,
  0x03,
  0x04,
  0x05,
  0x06,
  0x09,
  0x0a,
  0x0b,
  0x0c,
  0x0d,
  0x0e,
  0x0f,
  0x10,
  0x11,
  0x12,
  0x13,
  0x14,
  0x15,
  0x16,
  0x19,
  0x1a,
  0x1c,
  0x1d,
  0x1e,
  0x20,
  0x21,
  0x22,
  0x23,
  0x24,
] as const;

/** A well-formed binary frame for a random command on a fuzz key. */
export function binaryFrame(rng: Random): Uint8Array {
  let op: number = rng.pick(BINARY_OPS);
  if (rng.chance(0.002)) op = rng.pick([0x07, 0x08, 0x17, 0x18]); // quit, flush: rare
  const key = rng.pick(FUZZ_KEYS);
  const opaque = rng.int(0x1_0000_0000);
  const value = () => latin1(`${key}|${"x".repeat(rng.int(40))}`);
  const cas = rng.chance(0.1) ? BigInt(rng.int(1000)) : 0n;
  switch (op) {
    case 0x01:
    case 0x02:
    case 0x03:
    case 0x11:
    case 0x12:
    case 0x13:
      return binaryRequest({
        opcode: op,
        key,
        extras: words(rng.int(4), rng.int(3)),
        value: value(),
        opaque,
        cas,
      });
    case 0x0e:
    case 0x0f:
    case 0x19:
    case 0x1a:
      return binaryRequest({ opcode: op, key, value: value(), opaque, cas });
    case 0x05:
    case 0x06:
    case 0x15:
    case 0x16:
      return binaryRequest({
        opcode: op,
        key,
        extras: words(0, rng.int(100), 0, rng.int(100), rng.chance(0.5) ? 0xffffffff : 0),
        opaque,
        cas,
      });
    case 0x1c:
    case 0x1d:
    case 0x1e:
    case 0x23:
    case 0x24:
      return binaryRequest({ opcode: op, key, extras: words(rng.int(3)), opaque });
    case 0x08:
    case 0x18:
      return binaryRequest({ opcode: op, extras: rng.chance(0.5) ? words(0) : undefined, opaque });
    case 0x0a:
    case 0x0b:
    case 0x07:
    case 0x17:
    case 0x20:
      return binaryRequest({ opcode: op, opaque });
    case 0x10:
      return binaryRequest({
        opcode: op,
        key: rng.pick(["", "settings", "items", "slabs", "nope"]),
        opaque,
      });
    case 0x21:
    case 0x22:
      return binaryRequest({ opcode: op, key: "PLAIN", value: "\0u\0p", opaque });
    default:
      return binaryRequest({ opcode: op, key, opaque });
  }
}

const TEXT_COMMANDS = [
  "set",
  "add",
  "replace",
  "append",
  "prepend",
  "cas",
  "get",
  "gets",
  "gat",
  "gats",
  "touch",
  "incr",
  "decr",
  "delete",
  "version",
  "verbosity",
  "stats",
] as const;

/** A well-formed text command. */
export function textFrame(rng: Random): Uint8Array {
  const cmd = rng.chance(0.002)
    ? rng.pick(["flush_all", "quit", "flush_all 0"])
    : rng.pick(TEXT_COMMANDS);
  const key = rng.pick(FUZZ_KEYS);
  const noreply = rng.chance(0.1) ? " noreply" : "";
  switch (cmd) {
    case "set":
    case "add":
    case "replace":
    case "append":
    case "prepend": {
      const data = `${key}|${"y".repeat(rng.int(30))}`;
      return latin1(
        `${cmd} ${key} ${rng.int(5)} ${rng.int(3)} ${data.length}${noreply}\r\n${data}\r\n`,
      );
    }
    case "cas": {
      const data = `${key}|c`;
      return latin1(`cas ${key} 0 0 ${data.length} ${rng.int(1000)}${noreply}\r\n${data}\r\n`);
    }
    case "get":
    case "gets":
      return latin1(
        `${cmd} ${Array.from({ length: 1 + rng.int(4) }, () => rng.pick(FUZZ_KEYS)).join(" ")}\r\n`,
      );
    case "gat":
    case "gats":
      return latin1(`${cmd} ${rng.int(3)} ${key}\r\n`);
    case "touch":
      return latin1(`touch ${key} ${rng.int(3)}${noreply}\r\n`);
    case "incr":
    case "decr":
      return latin1(`${cmd} ${key} ${rng.int(1000)}${noreply}\r\n`);
    case "delete":
      return latin1(`delete ${key}${noreply}\r\n`);
    case "verbosity":
      return latin1(`verbosity 0${noreply}\r\n`);
    case "stats":
      return latin1(`stats${rng.pick(["", " settings", " items", " slabs", " bogus"])}\r\n`);
    default:
      return latin1(`${cmd}\r\n`);
  }
}

const META_FLAGS = [
  "v",
  "k",
  "c",
  "f",
  "t",
  "s",
  "q",
  "O123",
  "T5",
  "N3",
  "E99",
  "I",
  "h",
  "l",
  "b",
  "M+",
  "ME",
  "MA",
  "MP",
  "MR",
  "MS",
  "D2",
  "J3",
  "R5",
  "x",
];

/** A meta command with random flags (valid and invalid mixed, as clients may send). */
export function metaFrame(rng: Random): Uint8Array {
  const key = rng.pick(FUZZ_KEYS);
  const flags = Array.from({ length: rng.int(5) }, () => rng.pick(META_FLAGS)).join(" ");
  const sep = flags === "" ? "" : " ";
  switch (rng.int(6)) {
    case 0:
      return latin1(`mg ${key}${sep}${flags}\r\n`);
    case 1: {
      const data = `${key}|${"z".repeat(rng.int(30))}`;
      return latin1(`ms ${key} ${data.length}${sep}${flags}\r\n${data}\r\n`);
    }
    case 2:
      return latin1(`md ${key}${sep}${flags}\r\n`);
    case 3:
      return latin1(`ma ${key}${sep}${flags}\r\n`);
    case 4:
      return latin1(`mn\r\n`);
    default:
      return latin1(`me ${key}\r\n`);
  }
}

/** Applies 1–4 random mutations: byte flips, length-field lies, truncation, splices. */
export function mutate(frame: Uint8Array, rng: Random): Uint8Array {
  let out: Uint8Array = frame.slice();
  const n = 1 + rng.int(4);
  for (let m = 0; m < n; m++) {
    if (out.length === 0) break;
    switch (rng.int(7)) {
      case 0: // flip a byte
        out[rng.int(out.length)] = rng.int(256);
        break;
      case 1: // lie in a binary length field
        if (out.length >= 12 && out[0] === 0x80) {
          const view = new DataView(out.buffer, out.byteOffset);
          const field = rng.int(3);
          const extreme = rng.pick([0, 1, 0xff, 0xffff, 0x7fffffff, 0xffffffff, rng.int(512)]);
          if (field === 0) view.setUint16(2, extreme & 0xffff);
          else if (field === 1) out[4] = extreme & 0xff;
          else view.setUint32(8, extreme >>> 0);
        } else {
          out[rng.int(out.length)] = rng.pick([0x20, 0x0a, 0x0d, 0x00, 0x2d, 0x39]);
        }
        break;
      case 2: // truncate
        out = out.slice(0, rng.int(out.length));
        break;
      case 3: // duplicate a slice
      {
        const at = rng.int(out.length);
        const len = rng.int(Math.min(32, out.length - at) + 1);
        const grown = new Uint8Array(out.length + len);
        grown.set(out.subarray(0, at + len));
        grown.set(out.subarray(at, at + len), at + len);
        grown.set(out.subarray(at + len), at + 2 * len);
        out = grown;
        break;
      }
      case 4: // insert random bytes
      {
        const at = rng.int(out.length);
        const junk = rng.bytes(1 + rng.int(8));
        const grown = new Uint8Array(out.length + junk.length);
        grown.set(out.subarray(0, at));
        grown.set(junk, at);
        grown.set(out.subarray(at), at + junk.length);
        out = grown;
        break;
      }
      case 5: // a huge number where a number is
      {
        const text = toLatin1(out).replace(
          /\d+/,
          rng.pick(["18446744073709551616", "-1", "4294967296", "99999999999999999999", "0x10"]),
        );
        out = latin1(text);
        break;
      }
      default: // drop a CR (bare LF)
      {
        const text = toLatin1(out).replace("\r\n", "\n");
        out = latin1(text);
      }
    }
  }
  return out;
}

/** Random bytes in the shape of a protocol: a binary header-ish start, or a text-ish line. */
export function randomFrame(rng: Random, binary: boolean): Uint8Array {
  if (binary) {
    const out = rng.bytes(24 + rng.int(48));
    out[0] = 0x80;
    const view = new DataView(out.buffer);
    if (rng.chance(0.7)) {
      // Keep lengths plausible most of the time, so frames follow each other.
      view.setUint16(2, rng.int(8));
      out[4] = rng.int(8) * 4 % 24;
      view.setUint32(8, out.length - 24);
      if (view.getUint16(2) + out[4] > out.length - 24) view.setUint16(2, 0);
      if (out[4] > out.length - 24) out[4] = 0;
    }
    return out;
  }
  const alphabet = "abcdefgmnstv0123456789 \t\r\n-+=:|*";
  let s = "";
  const n = 1 + rng.int(80);
  for (let i = 0; i < n; i++) {
    s += rng.chance(0.05) ? String.fromCharCode(rng.int(256)) : rng.pick([...alphabet]);
  }
  return latin1(s + "\r\n");
}

type Kind = "binary" | "text";

/**
 * Builds one connection's worth of frames. Half the connections carry valid
 * frames with one hostile frame somewhere (so most of it is processed); the
 * other half mix random, mutated and valid frames freely.
 */
function buildChunk(rng: Random, kind: Kind, count: number, report: FuzzReport): Uint8Array {
  const frames: Uint8Array[] = [];
  const heavy = rng.chance(0.5);
  const hostileAt = rng.int(count);
  for (let i = 0; i < count; i++) {
    let frame: Uint8Array;
    const roll = heavy ? rng.next() : i === hostileAt ? rng.next() * 0.45 : 1;
    const textKind = kind === "binary" ? kind : rng.chance(0.5) ? "text" : "meta";
    if (roll < 0.15) {
      frame = randomFrame(rng, kind === "binary");
      report.randomFrames++;
    } else {
      frame = kind === "binary"
        ? binaryFrame(rng)
        : textKind === "text"
        ? textFrame(rng)
        : metaFrame(rng);
      if (roll < 0.45) {
        frame = mutate(frame, rng);
        report.mutatedFrames++;
      }
    }
    if (kind === "binary") {
      if (i === 0) frame[0] = 0x80; // keep the connection binary
      report.binaryFrames++;
    } else if (textKind === "text") {
      report.textFrames++;
    } else {
      report.metaFrames++;
    }
    if (i === 0 && kind !== "binary" && frame[0] === 0x80) frame[0] = 0x6d;
    frames.push(frame);
  }
  report.framesSent += count;
  return concat(...frames);
}

/** Sends `data`, half-closes, reads to EOF; returns bytes read. Throws if the server hangs. */
async function blast(port: number, data: Uint8Array, timeoutMs = 10_000): Promise<number> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  let received = 0;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      conn.close();
    } catch {
      // closed
    }
  }, timeoutMs);
  try {
    const reading = (async () => {
      const buf = new Uint8Array(65536);
      while (true) {
        const n = await conn.read(buf).catch(() => null);
        if (n === null) return;
        received += n;
      }
    })();
    try {
      let done = 0;
      while (done < data.length) done += await conn.write(data.subarray(done));
      await conn.closeWrite();
    } catch {
      // The server may close first (a framing error); that is fine.
    }
    await reading;
    if (timedOut) {
      const start = JSON.stringify(toLatin1(data.subarray(0, 200)));
      throw new Error(`Server neither answered nor closed within ${timeoutMs} ms after: ${start}`);
    }
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch {
      // closed
    }
  }
  return received;
}

/**
 * The verifying client: binary commands on verified keys whose values are
 * `<key>|...`. Every value handed back must start with
 * the key it was asked under.
 */
async function verifyBinary(
  port: number,
  rng: Random,
  rounds: Rounds,
  report: FuzzReport,
): Promise<void> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  conn.setNoDelay(true);
  const reader = new FrameReader(conn);
  try {
    for (let r = 0; r < rounds.min || !rounds.done; r++) {
      const keys = new Map<number, string>();
      const frames: Uint8Array[] = [];
      for (let i = 0; i < 16; i++) {
        const key = `${VERIFIED}${rng.int(32)}`;
        const opaque = r * 16 + i;
        keys.set(opaque, key);
        const op = rng.pick([0x01, 0x01, 0x0e, 0x0f, 0x00, 0x0c, 0x0c, 0x1d, 0x04, 0x0d]);
        report.verifierOps++;
        if (op === 0x01) {
          frames.push(
            binaryRequest({ opcode: op, key, extras: words(0, 0), value: `${key}|${r}`, opaque }),
          );
        } else if (op === 0x0e) {
          frames.push(binaryRequest({ opcode: op, key, value: `|${r}`, opaque }));
        } else if (op === 0x0f) {
          frames.push(binaryRequest({ opcode: op, key, value: `${key}|`, opaque }));
        } else if (op === 0x1d) {
          frames.push(binaryRequest({ opcode: op, key, extras: words(0), opaque }));
        } else {
          frames.push(binaryRequest({ opcode: op, key, opaque }));
        }
      }
      frames.push(binaryRequest({ opcode: 0x0a, opaque: 0xffffffff }));
      await writeAll(conn, concat(...frames));
      while (true) {
        const reply = await reader.next();
        if (reply.opaque === 0xffffffff && reply.opcode === 0x0a) break;
        const key = keys.get(reply.opaque);
        if (key === undefined) {
          throw new Error(`Verifier got a reply with unknown opaque ${reply.opaque}`);
        }
        if (reply.replyKey !== "" && reply.replyKey !== key) {
          throw new Error(
            `Reply for ${JSON.stringify(key)} names key ${JSON.stringify(reply.replyKey)}`,
          );
        }
        const isGet = [0x00, 0x0c, 0x0d, 0x1d].includes(reply.opcode);
        if (isGet && reply.status === 0) {
          const value = toLatin1(reply.value);
          if (!value.startsWith(`${key}|`)) {
            throw new Error(
              `Value ${JSON.stringify(value.slice(0, 80))} came back under ${JSON.stringify(key)}`,
            );
          }
          report.verifiedValues++;
        }
      }
    }
  } finally {
    conn.close();
  }
}

/** Text/meta verifier: `get`/`mg` values must start with their key. */
async function verifyText(
  port: number,
  rng: Random,
  rounds: Rounds,
  report: FuzzReport,
): Promise<void> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  conn.setNoDelay(true);
  const reader = new FrameReader(conn);
  const key = (i: number) => `tv${i}-verified-text-key`;
  try {
    for (let r = 0; r < rounds.min || !rounds.done; r++) {
      const k = key(rng.int(32));
      const value = `${k}|${r}`;
      report.verifierOps += 3;
      await writeAll(
        conn,
        latin1(
          `set ${k} 0 0 ${value.length}\r\n${value}\r\nget ${k} ${
            key(rng.int(32))
          }\r\nmg ${k} k v\r\n`,
        ),
      );
      const stored = await reader.line();
      if (stored !== "STORED") {
        throw new Error(`Text verifier: set answered ${JSON.stringify(stored)}`);
      }
      while (true) {
        const line = await reader.line();
        if (line === "END") break;
        const m = /^VALUE (\S+) \d+ (\d+)$/.exec(line);
        if (!m) throw new Error(`Text verifier: unexpected line ${JSON.stringify(line)}`);
        const data = toLatin1(await reader.exact(Number(m[2]) + 2)).slice(0, -2);
        if (!data.startsWith(`${m[1]}|`)) {
          throw new Error(`Value ${JSON.stringify(data)} came back under ${m[1]}`);
        }
        report.verifiedValues++;
      }
      const meta = await reader.line();
      const tokens = meta.split(" ");
      if (tokens[0] === "VA") {
        const data = toLatin1(await reader.exact(Number(tokens[1]) + 2)).slice(0, -2);
        const named = tokens.find((t, i) => i > 1 && t.startsWith("k"))?.slice(1);
        if (named !== k || !data.startsWith(`${k}|`)) {
          throw new Error(`mg ${k} answered key ${named} value ${JSON.stringify(data)}`);
        }
        report.verifiedValues++;
      } else if (meta !== "EN") {
        throw new Error(`Text verifier: mg answered ${JSON.stringify(meta)}`);
      }
    }
  } finally {
    conn.close();
  }
}

/**
 * Runs the fuzzer against a server on `port` and returns what it did.
 * Throws when the verifier sees a wrong value or the server stops answering.
 */
export async function runFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const rng = new Random(options.seed);
  const report: FuzzReport = {
    framesSent: 0,
    binaryFrames: 0,
    textFrames: 0,
    metaFrames: 0,
    mutatedFrames: 0,
    randomFrames: 0,
    connections: 0,
    bytesSent: 0,
    bytesReceived: 0,
    verifiedValues: 0,
    verifierOps: 0,
  };
  const perConnection = options.framesPerConnection ?? 32;
  const concurrency = options.concurrency ?? 4;
  // Chunks are built up front from the one seeded stream, so a run is reproducible.
  const chunks: Uint8Array[] = [];
  while (report.framesSent < options.frames) {
    const kind: Kind = rng.pick(["binary", "text"] as const);
    const count = Math.min(perConnection, options.frames - report.framesSent);
    chunks.push(buildChunk(rng, kind, count, report));
  }
  let next = 0;
  const workers = Array.from({ length: concurrency }, async () => {
    while (next < chunks.length) {
      const chunk = chunks[next++];
      report.connections++;
      report.bytesSent += chunk.length;
      report.bytesReceived += await blast(options.port, chunk);
    }
  });
  const rounds: Rounds = { min: 50, done: false };
  const verifiers = [
    verifyBinary(options.port, new Random(options.seed ^ 0x5eed), rounds, report),
    verifyText(options.port, new Random(options.seed ^ 0x7e47), rounds, report),
  ];
  await Promise.all(workers).finally(() => rounds.done = true);
  await Promise.all(verifiers);
  return report;
}

/** Verifiers run at least `min` rounds and until `done`. */
interface Rounds {
  min: number;
  done: boolean;
}

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let done = 0;
  while (done < data.length) done += await conn.write(data.subarray(done));
}

/** Buffered reads of binary replies and text lines. */
export class FrameReader {
  #conn: Deno.Conn;
  #buf = new Uint8Array(0);
  #chunk = new Uint8Array(65536);

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  async exact(n: number): Promise<Uint8Array> {
    while (this.#buf.length < n) await this.#fill();
    const out = this.#buf.slice(0, n);
    this.#buf = this.#buf.slice(n);
    return out;
  }

  async line(): Promise<string> {
    while (true) {
      const at = this.#buf.indexOf(0x0a);
      if (at >= 0) {
        const line = toLatin1(this.#buf.subarray(0, at)).replace(/\r$/, "");
        this.#buf = this.#buf.slice(at + 1);
        return line;
      }
      await this.#fill();
    }
  }

  async next() {
    const header = await this.exact(24);
    const view = new DataView(header.buffer);
    const body = await this.exact(view.getUint32(8));
    const extras = header[4];
    const keyLength = view.getUint16(2);
    return {
      opcode: header[1],
      status: view.getUint16(6),
      opaque: view.getUint32(12),
      replyKey: toLatin1(body.subarray(extras, extras + keyLength)),
      value: body.subarray(extras + keyLength),
    };
  }

  async #fill(): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error("Verifier: server did not answer within 10 s")),
        10_000,
      );
    });
    try {
      const n = await Promise.race([this.#conn.read(this.#chunk), timeout]);
      if (n === null) throw new Error("Verifier: server closed the connection");
      const grown = new Uint8Array(this.#buf.length + n);
      grown.set(this.#buf);
      grown.set(this.#chunk.subarray(0, n), this.#buf.length);
      this.#buf = grown;
    } finally {
      clearTimeout(timer);
    }
  }
}
