import { bytesToString, EMPTY, readU32BE } from "../bytes.ts";
import type { BinaryExtras, BinaryRequest, Request } from "../messages.ts";
import { HEADER_SIZE, Op, REQUEST_MAGIC, Status, STATUS_TEXT } from "./constants.ts";

/** Options of a {@linkcode BinaryParser}. */
export interface BinaryParserOptions {
  /**
   * Largest body accepted; a frame announcing more is answered with
   * "Too large." and the connection closes, before any of it is buffered.
   * @default {1 MiB + 64 KiB}
   */
  maxBodyLength?: number;
}

/**
 * An incremental decoder of binary protocol requests: feed it chunks split
 * anywhere, it appends every complete frame to `out`.
 *
 * Framing errors (wrong magic, key and extras longer than the body, a body
 * over the limit) end the stream with a {@linkcode CloseRequest}.
 *
 * @example Usage
 * ```ts
 * import { BinaryParser } from "./binary_parser.ts";
 * import type { Request } from "../messages.ts";
 * import assert from "node:assert/strict";
 *
 * const noop = new Uint8Array(24);
 * noop[0] = 0x80;
 * noop[1] = 0x0a;
 * const parser = new BinaryParser();
 * const out: Request[] = [];
 * parser.push(noop.subarray(0, 10), out);
 * parser.push(noop.subarray(10), out);
 * assert.deepEqual(out.length, 1);
 * ```
 */
export class BinaryParser {
  #pending = new Uint8Array(0);
  #pendingLength = 0;
  #maxBody: number;
  #closed = false;

  constructor(options: BinaryParserOptions = {}) {
    this.#maxBody = options.maxBodyLength ?? 1024 * 1024 + 64 * 1024;
  }

  /** Whether a framing error ended the stream. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Bytes held waiting for the rest of a frame. */
  get buffered(): number {
    return this.#pendingLength;
  }

  /** Decodes what `chunk` completes; the chunk may be reused by the caller afterwards. */
  push(chunk: Uint8Array, out: Request[]): void {
    if (this.#closed) return;
    let data = chunk;
    if (this.#pendingLength > 0) {
      this.#append(chunk);
      data = this.#pending.subarray(0, this.#pendingLength);
    }
    const used = this.#parse(data, out);
    const rest = data.length - used;
    if (this.#closed || rest === 0) {
      this.#pendingLength = 0;
    } else if (data === chunk) {
      this.#pendingLength = 0;
      this.#append(chunk.subarray(used));
    } else if (used > 0) {
      this.#pending.copyWithin(0, used, this.#pendingLength);
      this.#pendingLength = rest;
    }
    if (this.#pendingLength === 0 && this.#pending.length > 64 * 1024) {
      this.#pending = new Uint8Array(0);
    }
  }

  #append(bytes: Uint8Array): void {
    const need = this.#pendingLength + bytes.length;
    if (need > this.#pending.length) {
      const grown = new Uint8Array(Math.max(need, this.#pending.length * 2, 256));
      grown.set(this.#pending.subarray(0, this.#pendingLength));
      this.#pending = grown;
    }
    this.#pending.set(bytes, this.#pendingLength);
    this.#pendingLength = need;
  }

  /** Parses complete frames of `data` into `out`; returns the bytes consumed. */
  #parse(data: Uint8Array, out: Request[]): number {
    let pos = 0;
    while (data.length - pos >= HEADER_SIZE) {
      if (data[pos] !== REQUEST_MAGIC) {
        this.#closed = true;
        out.push({ kind: "close" });
        return pos;
      }
      const keyLength = (data[pos + 2] << 8) | data[pos + 3];
      const extrasLength = data[pos + 4];
      const bodyLength = readU32BE(data, pos + 8);
      if (keyLength + extrasLength > bodyLength) {
        return this.#fail(data, pos, Status.UNKNOWN_COMMAND, out);
      }
      if (bodyLength > this.#maxBody) {
        return this.#fail(data, pos, Status.E2BIG, out);
      }
      const end = pos + HEADER_SIZE + bodyLength;
      if (end > data.length) break;
      out.push(decode(data, pos));
      pos = end;
    }
    return pos;
  }

  #fail(data: Uint8Array, pos: number, status: number, out: Request[]): number {
    this.#closed = true;
    out.push({
      kind: "close",
      reply: {
        kind: "binary",
        opcode: data[pos + 1],
        status,
        opaque: readU32BE(data, pos + 12),
        cas: 0,
        key: "",
        value: STATUS_TEXT[status],
      },
    });
    return pos;
  }
}

/** The complete frame at `data[pos..]`. */
function decode(data: Uint8Array, pos: number): BinaryRequest {
  const keyLength = (data[pos + 2] << 8) | data[pos + 3];
  const extrasLength = data[pos + 4];
  const bodyLength = readU32BE(data, pos + 8);
  const extras = pos + HEADER_SIZE;
  const key = extras + extrasLength;
  const value = key + keyLength;
  const end = pos + HEADER_SIZE + bodyLength;
  return {
    kind: "binary",
    opcode: data[pos + 1],
    keyLength,
    extrasLength,
    bodyLength,
    opaque: readU32BE(data, pos + 12),
    cas: readU32BE(data, pos + 16) * 0x1_0000_0000 + readU32BE(data, pos + 20),
    extras: decodeExtras(data, pos),
    key: bytesToString(data, key, value),
    value: value === end ? EMPTY : data.slice(value, end),
  };
}

/** The extras of the frame at `data[pos..]`, if its opcode has them and they have their length. */
function decodeExtras(data: Uint8Array, pos: number): BinaryExtras | undefined {
  const extrasLength = data[pos + 4];
  if (extrasLength === 0) return undefined;
  const at = pos + HEADER_SIZE;
  switch (FAMILY[data[pos + 1]]) {
    case "storage":
      if (extrasLength !== 8) return undefined;
      return { family: "storage", flags: readU32BE(data, at), exptime: readU32BE(data, at + 4) };
    case "arithmetic":
      if (extrasLength !== 20) return undefined;
      return {
        family: "arithmetic",
        delta: readU64BE(data, at),
        initial: readU64BE(data, at + 8),
        exptime: readU32BE(data, at + 16),
      };
    case "touch":
      if (extrasLength !== 4) return undefined;
      return { family: "touch", exptime: readU32BE(data, at) };
    case "flush":
      if (extrasLength !== 4) return undefined;
      return { family: "flush", delay: readU32BE(data, at) };
    default:
      return undefined;
  }
}

/** Which opcodes carry which extras. */
const FAMILY: Readonly<Record<number, BinaryExtras["family"]>> = {
  [Op.SET]: "storage",
  [Op.SETQ]: "storage",
  [Op.ADD]: "storage",
  [Op.ADDQ]: "storage",
  [Op.REPLACE]: "storage",
  [Op.REPLACEQ]: "storage",
  [Op.INCREMENT]: "arithmetic",
  [Op.INCREMENTQ]: "arithmetic",
  [Op.DECREMENT]: "arithmetic",
  [Op.DECREMENTQ]: "arithmetic",
  [Op.TOUCH]: "touch",
  [Op.GAT]: "touch",
  [Op.GATQ]: "touch",
  [Op.GATK]: "touch",
  [Op.GATKQ]: "touch",
  [Op.FLUSH]: "flush",
  [Op.FLUSHQ]: "flush",
};

function readU64BE(data: Uint8Array, at: number): bigint {
  return BigInt(readU32BE(data, at)) << 32n | BigInt(readU32BE(data, at + 4));
}
