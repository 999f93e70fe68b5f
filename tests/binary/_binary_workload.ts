/**
 * A reproducible random binary-protocol workload for differential tests:
 * batches of frames (quiet forms, pipelines, closing commands) over a small
 * key space, and a runner that collects each batch's responses from a server.
 *
 * @module
 */
import { prng } from "../_support/prng.ts";
import { type BinaryReply, binaryRequest, RawClient, words } from "../_support/raw_client.ts";

export { prng };

/** One write to the socket: frames sent together, and whether the last closes. */
export interface Batch {
  frames: Uint8Array[];
  /** Human-readable description of each frame, for failure messages. */
  labels: string[];
  /** The batch ends with a command that closes the connection. */
  closes: boolean;
  /** Opaque of the trailing NOOP that marks the end of a non-closing batch. */
  marker: number;
}

/** The keys the workload uses: short, long, binary-safe. */
export const KEYS = ["a", "b", "counter", "k\x80\xff\x00z", "n", "x".repeat(250)];

const NUMBERS = [
  "0",
  "1",
  "42",
  "18446744073709551615",
  "18446744073709551614",
  "9",
  "99",
  "100",
  "007",
  "12 ",
  " 7",
  "-1",
  "abc",
  "",
  "18446744073709551616",
];

/** Expiries that cannot race the clock: never, far future, absolute past. */
const EXPIRIES = [0, 0, 0, 100_000, 2_000_000, 0xffffffff, 2_592_001, 1_000_000_000];

/** State the generator reads: the last CAS the oracle gave each key. */
export interface WorkloadState {
  casByKey: Map<string, bigint>;
}

/**
 * Generates the next batch. `rand` drives every choice; `state` (filled from
 * the oracle's answers) lets CAS-carrying commands hit or miss on purpose.
 */
export function nextBatch(rand: () => number, state: WorkloadState, serial: number): Batch {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const int = (n: number) => Math.floor(rand() * n);
  const frames: Uint8Array[] = [];
  const labels: string[] = [];
  const count = rand() < 0.3 ? 1 : 1 + int(8);
  let opaque = serial * 16;
  let closes = false;
  const casFor = (key: string): bigint => {
    const r = rand();
    if (r < 0.6) return 0n;
    const known = state.casByKey.get(key) ?? 0n;
    if (r < 0.85) return known;
    return known + BigInt(1 + int(3));
  };
  const value = (): string => {
    const r = rand();
    if (r < 0.45) return pick(NUMBERS);
    if (r < 0.9) {
      let s = "";
      const n = int(40);
      for (let i = 0; i < n; i++) s += String.fromCharCode(int(256));
      return s;
    }
    if (r < 0.995) return "v".repeat(500 + int(5000));
    return "L".repeat(1_100_000); // too large for the default -I 1m
  };
  for (let i = 0; i < count; i++) {
    const key = pick(KEYS);
    const r = rand();
    const op = opaque++;
    let frame: Uint8Array;
    let label: string;
    if (r < 0.22) {
      const opcode = pick([0x00, 0x09, 0x0c, 0x0d, 0x0d, 0x09]);
      frame = binaryRequest({ opcode, key, opaque: op });
      label = `get 0x${hex(opcode)} ${short(key)}`;
    } else if (r < 0.44) {
      const opcode = pick([0x01, 0x11, 0x02, 0x12, 0x03, 0x13, 0x01, 0x11]);
      const flags = pick([0, 0, 1, 0xdeadbeef, 0xffffffff]);
      const exptime = pick(EXPIRIES);
      const cas = casFor(key);
      const v = value();
      frame = binaryRequest({
        opcode,
        key,
        extras: words(flags, exptime),
        value: v,
        opaque: op,
        cas,
      });
      label = `store 0x${hex(opcode)} ${
        short(key)
      } flags=${flags} exp=${exptime} cas=${cas} len=${v.length}`;
    } else if (r < 0.52) {
      const opcode = pick([0x0e, 0x19, 0x0f, 0x1a]);
      const cas = casFor(key);
      const v = rand() < 0.3 ? pick(NUMBERS) : value();
      frame = binaryRequest({ opcode, key, value: v, opaque: op, cas });
      label = `concat 0x${hex(opcode)} ${short(key)} cas=${cas} len=${v.length}`;
    } else if (r < 0.58) {
      const opcode = pick([0x04, 0x14]);
      const cas = casFor(key);
      frame = binaryRequest({ opcode, key, opaque: op, cas });
      label = `delete 0x${hex(opcode)} ${short(key)} cas=${cas}`;
    } else if (r < 0.72) {
      const opcode = pick([0x05, 0x15, 0x06, 0x16]);
      const amount = pick([[0, 1], [0, 5], [0, 0], [0xffffffff, 0xffffffff], [1, 0]]);
      const initial = pick([[0, 0], [0, 10], [0xffffffff, 0xfffffffe]]);
      const exptime = pick([0, 0, 0xffffffff, 100_000, 2_592_001]);
      const cas = rand() < 0.8 ? 0n : casFor(key);
      frame = binaryRequest({
        opcode,
        key,
        extras: words(...amount, ...initial, exptime),
        opaque: op,
        cas,
      });
      label = `delta 0x${hex(opcode)} ${short(key)} by=${amount} init=${initial} exp=${exptime}`;
    } else if (r < 0.82) {
      const opcode = pick([0x1c, 0x1d, 0x1e, 0x23, 0x24]);
      const exptime = pick(EXPIRIES);
      frame = binaryRequest({ opcode, key, extras: words(exptime), opaque: op });
      label = `touch 0x${hex(opcode)} ${short(key)} exp=${exptime}`;
    } else if (r < 0.86) {
      frame = binaryRequest({ opcode: pick([0x0a, 0x0b]), opaque: op });
      label = "noop/version";
    } else if (r < 0.89) {
      const opcode = pick([0x08, 0x18]);
      // Only immediate flushes: memcached's flush is lazy state, so a later
      // delayed flush revives items an earlier one killed unless its background
      // crawler reclaimed them first — not deterministic. Delays have own tests.
      const delay = pick([-1, 0]);
      frame = binaryRequest({ opcode, extras: delay < 0 ? undefined : words(delay), opaque: op });
      label = `flush 0x${hex(opcode)} delay=${delay}`;
    } else if (r < 0.93) {
      const group = pick(["", "settings", "items", "slabs", "sizes", "bogus", "detail"]);
      frame = binaryRequest({ opcode: 0x10, key: group, opaque: op });
      label = `stat ${group}`;
    } else if (r < 0.96) {
      const opcode = pick([0x1b, 0x1f, 0x25, 0x30, 0x41, 0xfe, 0x20]);
      const v = opcode === 0x20 || rand() < 0.5 ? "" : "junk";
      frame = binaryRequest({ opcode, value: v, opaque: op });
      label = `unknown 0x${hex(opcode)} len=${v.length}`;
    } else if (i === count - 1 && rand() < 0.5) {
      closes = true;
      const kind = int(6);
      if (kind === 0) {
        frame = binaryRequest({ opcode: pick([0x07, 0x17]), opaque: op });
        label = "quit";
      } else if (kind === 1) {
        frame = binaryRequest({ opcode: 0x00, key: "y".repeat(251), opaque: op });
        label = "get key of 251 bytes";
      } else if (kind === 2) {
        frame = binaryRequest({ opcode: 0x01, key, extras: words(0), value: "v", opaque: op });
        label = "set with 4 bytes of extras";
      } else if (kind === 3) {
        frame = binaryRequest({ opcode: 0x00, key, extras: words(0), opaque: op });
        label = "get with extras";
      } else if (kind === 4) {
        frame = binaryRequest({ opcode: 0x05, key, extras: words(0, 1), opaque: op });
        label = "incr with 8 bytes of extras";
      } else {
        frame = binaryRequest({ opcode: 0x0a, key: "k", opaque: op });
        label = "noop with a key";
      }
    } else {
      frame = binaryRequest({ opcode: 0x0a, opaque: op });
      label = "noop";
    }
    frames.push(frame);
    labels.push(label);
    if (closes) break;
  }
  const marker = 0x7000_0000 + serial;
  if (!closes) {
    frames.push(binaryRequest({ opcode: 0x0a, opaque: marker }));
    labels.push("noop (end of batch)");
  }
  return { frames, labels, closes, marker };
}

function hex(n: number): string {
  return n.toString(16).padStart(2, "0");
}

function short(key: string): string {
  return key.length > 12 ? `${key.slice(0, 4)}…(${key.length})` : JSON.stringify(key);
}

/** A connection to one server that survives the batches that close it. */
export class BatchRunner {
  #port: number;
  #client: RawClient | undefined;

  constructor(port: number) {
    this.#port = port;
  }

  /** Sends the batch in one write and returns its responses. */
  async run(batch: Batch): Promise<BinaryReply[]> {
    this.#client ??= await RawClient.connect(this.#port);
    const client = this.#client;
    let total = 0;
    for (const f of batch.frames) total += f.length;
    const bytes = new Uint8Array(total);
    let pos = 0;
    for (const f of batch.frames) {
      bytes.set(f, pos);
      pos += f.length;
    }
    await client.send(bytes);
    const replies: BinaryReply[] = [];
    if (!batch.closes) {
      while (true) {
        const reply = await client.readBinary();
        replies.push(reply);
        if (reply.opcode === 0x0a && reply.opaque === batch.marker) return replies;
      }
    }
    while (true) {
      try {
        replies.push(await client.readBinary());
      } catch (err) {
        if (!(err as Error).message.startsWith("Connection closed")) throw err;
        client.close();
        this.#client = undefined;
        return replies;
      }
    }
  }

  close(): void {
    this.#client?.close();
    this.#client = undefined;
  }
}

/**
 * A response as comparable text: the raw frame in hex, except VERSION's text
 * and STAT's values (and the STAT lines themselves, whose sets differ), which
 * vary by server.
 */
export function normalize(replies: BinaryReply[]): string[] {
  const out: string[] = [];
  for (const r of replies) {
    if (r.opcode === 0x10 && r.status === 0 && r.key !== "") continue;
    if (r.opcode === 0x0b && r.status === 0) {
      out.push(`VERSION ok opaque=${r.opaque}`);
      continue;
    }
    out.push(describe(r));
  }
  return out;
}

/** A response frame in readable form: header fields, extras, key and value. */
export function describe(r: BinaryReply): string {
  const value = r.value.length > 64
    ? `${toHex(r.value.subarray(0, 32))}…(${r.value.length} bytes, sum ${checksum(r.value)})`
    : toHex(r.value);
  return `op=${hex(r.opcode)} status=${r.status.toString(16)} opaque=${r.opaque} cas=${r.cas} ` +
    `extras=${toHex(r.extras)} key=${JSON.stringify(r.key)} value=${value}`;
}

function toHex(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s;
}

function checksum(b: Uint8Array): number {
  let h = 0;
  for (const x of b) h = (Math.imul(h, 31) + x) >>> 0;
  return h;
}

/** Records the CAS of every successful keyed answer so later requests can use it. */
export function learnCas(batch: Batch, replies: BinaryReply[], state: WorkloadState): void {
  // Responses carry no key except GETK/GATK; map by opaque to the request's key.
  const keys = new Map<number, string>();
  for (const f of batch.frames) {
    const view = new DataView(f.buffer, f.byteOffset);
    const keyLength = view.getUint16(2);
    const extras = f[4];
    let key = "";
    for (let i = 0; i < keyLength; i++) key += String.fromCharCode(f[24 + extras + i]);
    keys.set(view.getUint32(12), key);
  }
  for (const r of replies) {
    const key = keys.get(r.opaque);
    if (key && r.status === 0 && r.cas !== 0n) state.casByKey.set(key, r.cas);
  }
}
