import { bytesToString, EMPTY } from "../bytes.ts";
import { INT_MAX, KEY_MAX_LENGTH } from "../constants.ts";
import type { Request } from "../messages.ts";
import { safeStrtol, safeStrtoul, safeStrtoull } from "./safe_strtol.ts";
import type { StorageLine, TextRequest } from "./text_request.ts";

/** Options of a {@linkcode TextParser}. */
export interface TextParserOptions {
  /** Largest item, in bytes; longer data blocks are swallowed unread. @default {1 MiB} */
  maxItemSize?: number;
  /**
   * Longest `get`/`gets` line, in bytes, before the connection is closed.
   * memcached grows its buffer without limit for these; we bound it.
   * @default {max(maxItemSize, 1 MiB)}
   */
  maxGetLine?: number;
}

/** A line still without its newline past this many bytes closes the connection (memcached's rule). */
export const MAX_LINE = 2048;

/** memcached's tokenizer stops splitting after this many tokens (`MAX_TOKENS - 1`). */
export const MAX_WORDS = 23;

const NL = 0x0a;
const CR = 0x0d;

const STORAGE = new Set(["set", "add", "replace", "append", "prepend"]);

/**
 * Incremental decoder of memcached's text and meta protocols: a byte-level
 * state machine that survives any split of its input (inside a line, a
 * number, a data block, between `\r` and `\n`). Every request a chunk
 * completes is appended to `out` in one call; nothing keeps a view of the
 * chunk (data blocks are copied).
 *
 * Lines end in `\r\n` or a bare `\n`. A line still unterminated after 2048
 * bytes closes the connection unless it is a `get`/`gets` (bounded by
 * `maxGetLine`). Storage commands' data blocks are read as memcached reads
 * them: `<bytes>` plus two, whether or not they end in `\r\n`; a block too
 * large for any item is swallowed without buffering it.
 *
 * @example Usage
 * ```ts
 * import { TextParser } from "./text_parser.ts";
 * import type { Request } from "../messages.ts";
 * import assert from "node:assert/strict";
 *
 * const parser = new TextParser();
 * const out: Request[] = [];
 * const bytes = new TextEncoder().encode("set k 0 0 2\r\nhi\r\nget k\r\n");
 * parser.push(bytes.subarray(0, 15), out);
 * parser.push(bytes.subarray(15), out);
 * assert.deepEqual(out.map((r) => r.kind === "text" && r.words[0]), ["set", "get"]);
 * ```
 */
export class TextParser {
  #closed = false;
  #maxItemSize: number;
  #maxGetLine: number;
  /** Bytes of an unfinished line. */
  #line = new Uint8Array(256);
  #lineLength = 0;
  /** The storage request waiting for its data block. */
  #pending: TextRequest | undefined;
  /** Bytes of the data block (with its terminator) still to come. */
  #need = 0;
  /** Where the data block goes; undefined while swallowing. */
  #block: Uint8Array | undefined;
  #blockFill = 0;

  constructor(options: TextParserOptions = {}) {
    this.#maxItemSize = options.maxItemSize ?? 1024 * 1024;
    this.#maxGetLine = options.maxGetLine ?? Math.max(this.#maxItemSize, 1024 * 1024);
  }

  /** Whether the stream ended (a close request was emitted). */
  get closed(): boolean {
    return this.#closed;
  }

  /** Bytes held waiting for the rest of a request. */
  get buffered(): number {
    return this.#lineLength + this.#blockFill;
  }

  /** Decodes what `chunk` completes into `out`; the chunk may be reused afterwards. */
  push(chunk: Uint8Array, out: Request[]): void {
    let pos = 0;
    while (pos < chunk.length && !this.#closed) {
      pos = this.#pending ? this.#readBlock(chunk, pos, out) : this.#readLine(chunk, pos, out);
    }
  }

  #readBlock(chunk: Uint8Array, pos: number, out: Request[]): number {
    const take = Math.min(this.#need, chunk.length - pos);
    if (this.#block) this.#block.set(chunk.subarray(pos, pos + take), this.#blockFill);
    this.#blockFill += this.#block ? take : 0;
    this.#need -= take;
    if (this.#need === 0) this.#finishBlock(out);
    return pos + take;
  }

  #finishBlock(out: Request[]): void {
    const req = this.#pending!;
    const block = this.#block;
    if (block) {
      const n = block.length - 2;
      req.block = block[n] === CR && block[n + 1] === NL ? "ok" : "bad_chunk";
      req.data = n === 0 ? EMPTY : block.subarray(0, n);
    } else {
      req.block = "too_large";
    }
    out.push(req);
    this.#pending = undefined;
    this.#block = undefined;
    this.#blockFill = 0;
  }

  #readLine(chunk: Uint8Array, pos: number, out: Request[]): number {
    const nl = chunk.indexOf(NL, pos);
    if (nl < 0) {
      this.#appendLine(chunk.subarray(pos));
      this.#checkLongLine(out);
      return chunk.length;
    }
    let line: Uint8Array;
    if (this.#lineLength > 0) {
      this.#appendLine(chunk.subarray(pos, nl));
      line = this.#line.subarray(0, this.#lineLength);
      this.#lineLength = 0;
    } else {
      line = chunk.subarray(pos, nl);
    }
    this.#onLine(line, out);
    if (this.#line.length > 64 * 1024 && this.#lineLength === 0) this.#line = new Uint8Array(256);
    return nl + 1;
  }

  #appendLine(bytes: Uint8Array): void {
    const need = this.#lineLength + bytes.length;
    if (need > this.#line.length) {
      const grown = new Uint8Array(Math.max(need, this.#line.length * 2));
      grown.set(this.#line.subarray(0, this.#lineLength));
      this.#line = grown;
    }
    this.#line.set(bytes, this.#lineLength);
    this.#lineLength = need;
  }

  /** memcached: no newline within 2048 bytes closes the connection, unless it is a multiget. */
  #checkLongLine(out: Request[]): void {
    if (this.#lineLength <= MAX_LINE) return;
    const line = this.#line;
    let i = 0;
    while (i < this.#lineLength && line[i] === 0x20) i++;
    const isGet = i <= 100 && line[i] === 0x67 && line[i + 1] === 0x65 && line[i + 2] === 0x74 &&
      (line[i + 3] === 0x20 || (line[i + 3] === 0x73 && line[i + 4] === 0x20));
    if (isGet && this.#lineLength <= this.#maxGetLine) return;
    this.#close(out);
  }

  #close(out: Request[]): void {
    this.#closed = true;
    this.#lineLength = 0;
    out.push({ kind: "close" });
  }

  #onLine(line: Uint8Array, out: Request[]): void {
    let end = line.length;
    if (end > 1 && line[end - 1] === CR) end--;
    const nul = line.subarray(0, end).indexOf(0);
    if (nul >= 0) end = nul; // memcached reads the line as a C string
    const words = tokenizeBytes(line, end);
    const storage = parseStorageLine(words);
    if (storage === undefined) {
      out.push({ kind: "text", words });
      return;
    }
    const req: TextRequest = { kind: "text", words, storage };
    const length = storage.length;
    this.#pending = req;
    this.#need = length + 2;
    this.#blockFill = 0;
    this.#block = length > this.#maxItemSize ? undefined : new Uint8Array(length + 2);
  }
}

/**
 * {@linkcode tokenize} over the bytes `line[0..end)`: each word a flat byte
 * string of its own (slices of one line string make slower keys).
 */
function tokenizeBytes(line: Uint8Array, end: number): string[] {
  const words: string[] = [];
  let start = 0;
  for (let i = 0; i <= end; i++) {
    if (i === end || line[i] === 0x20) {
      if (i > start) words.push(bytesToString(line, start, i));
      start = i + 1;
    }
  }
  return words;
}

/** Splits a command line on spaces, as memcached's `tokenize_command` does. */
export function tokenize(line: string): string[] {
  const words: string[] = [];
  let start = 0;
  for (let i = 0; i <= line.length; i++) {
    if (i === line.length || line.charCodeAt(i) === 0x20) {
      if (i > start) words.push(line.slice(start, i));
      start = i + 1;
    }
  }
  return words;
}

/**
 * The numbers of a storage command line, or `undefined` when memcached
 * would not read a data block after it (not a storage command, wrong token
 * count, bad key or numbers: the next bytes are then read as a command).
 *
 * @example Usage
 * ```ts
 * import { parseStorageLine } from "./text_parser.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(parseStorageLine(["cas", "k", "5", "0", "2", "9"]), {
 *   flags: 5,
 *   exptime: 0,
 *   length: 2,
 *   cas: 9,
 * });
 * assert.equal(parseStorageLine(["set", "k", "0", "0", "-1"]), undefined);
 * ```
 */
export function parseStorageLine(words: string[]): StorageLine | undefined {
  const cmd = words[0];
  if (cmd === undefined) return undefined;
  if (cmd === "ms") {
    // ntokens (words + the terminal token, capped at 24) must be 4..20.
    if (words.length < 3 || words.length > 19) return undefined;
    if (words[1].length > KEY_MAX_LENGTH) return undefined;
    const length = blockLength(words[2]);
    return length === undefined ? undefined : { flags: 0, exptime: 0, length, cas: 0 };
  }
  if (!STORAGE.has(cmd) && cmd !== "cas") return undefined;
  const withCas = cmd === "cas" ? 1 : 0;
  if (words.length !== 5 + withCas && words.length !== 6 + withCas) return undefined;
  if (words[1].length > KEY_MAX_LENGTH) return undefined;
  const flags = safeStrtoul(words[2]);
  const exptime = safeStrtol(words[3]);
  const length = safeStrtol(words[4]);
  const cas = withCas ? safeStrtoull(words[5]) : 0n;
  if (flags === undefined || exptime === undefined || length === undefined) return undefined;
  if (cas === undefined || length < 0 || length > INT_MAX - 2) return undefined;
  return { flags, exptime, length, cas: Number(cas) };
}

/** A data block length as memcached accepts it. */
function blockLength(word: string): number | undefined {
  const n = safeStrtol(word);
  return n === undefined || n < 0 || n > INT_MAX - 2 ? undefined : n;
}
