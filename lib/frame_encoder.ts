import { HEADER_SIZE, RESPONSE_MAGIC } from "./binary/constants.ts";
import { drained } from "./backpressure.ts";
import { writeString, writeU32BE } from "./bytes.ts";
import type { BinaryResponse, Response, ResponseBatch } from "./messages.ts";

/**
 * A batch encoding to more than this is sent in pieces of this size, each
 * after the previous one was taken: one reply (a text `get` of many large
 * items) never needs a buffer of its whole size.
 */
export const MAX_CHUNK = 1024 * 1024;

/** Size of the largest arenas output chunks are cut from; the first is 1/64 of it. */
const ARENA_SIZE = 64 * 1024;

/**
 * Hands out output buffers cut one after another from an arena: a view costs
 * far less than a new `Uint8Array`. Nothing handed out is ever reused (a full
 * arena is left to the garbage collector), so a chunk stays intact however
 * long the writer takes with it.
 *
 * @example Usage
 * ```ts
 * import { OutputArena } from "./frame_encoder.ts";
 * import assert from "node:assert/strict";
 *
 * const arena = new OutputArena();
 * const a = arena.take(10);
 * const b = arena.take(10);
 * assert.equal(a.buffer, b.buffer);
 * assert.equal(b.byteOffset, a.byteOffset + 10);
 * ```
 */
export class OutputArena {
  #arena = new Uint8Array(0);
  #pos = 0;
  #spare: Uint8Array | undefined;

  /**
   * A buffer of `size` bytes that nobody else holds. Its contents are
   * unspecified (a recycled buffer is not cleared): fill all of it.
   */
  take(size: number): Uint8Array {
    if (size > ARENA_SIZE / 4) {
      const spare = this.#spare;
      if (spare !== undefined && spare.length >= size && spare.length <= size * 4) {
        this.#spare = undefined;
        return spare.subarray(0, size);
      }
      return new Uint8Array(size);
    }
    if (this.#arena.length - this.#pos < size) {
      // Start small (idle connections hold little), grow while in use.
      let next = Math.min(ARENA_SIZE, Math.max(ARENA_SIZE / 64, this.#arena.length * 2));
      while (next < size * 4) next *= 2;
      this.#arena = new Uint8Array(next);
      this.#pos = 0;
    }
    const start = this.#pos;
    this.#pos += size;
    return this.#arena.subarray(start, this.#pos);
  }

  /**
   * Takes back a large buffer from {@linkcode OutputArena.take} once nothing
   * reads it any more (the writer has written it), to be handed out again.
   */
  recycle(chunk: Uint8Array): void {
    if (chunk.byteOffset !== 0 || chunk.buffer.byteLength <= ARENA_SIZE / 4) return;
    if (this.#spare === undefined || this.#spare.length < chunk.buffer.byteLength) {
      this.#spare = new Uint8Array(chunk.buffer);
    }
  }
}

/**
 * Turns each batch of responses into one chunk of bytes: sizes the batch
 * first, then fills one buffer (cut from an {@linkcode OutputArena}), then
 * calls the batch's `encoded` (its buffers are no longer read). A `"close"`
 * response ends the stream after what came before it.
 *
 * @example Usage
 * ```ts
 * import { FrameEncoder } from "./frame_encoder.ts";
 * import assert from "node:assert/strict";
 *
 * const chunks = await Array.fromAsync(
 *   ReadableStream.from([[{ kind: "text" as const, parts: ["END\r\n"] }]])
 *     .pipeThrough(new FrameEncoder()),
 * );
 * assert.deepEqual(new TextDecoder().decode(chunks[0]), "END\r\n");
 * ```
 */
export class FrameEncoder extends TransformStream<ResponseBatch, Uint8Array> {
  #arena: OutputArena;
  #state: { closed: boolean };

  constructor() {
    const arena = new OutputArena();
    const state = { closed: false };
    super({
      transform(batch, controller) {
        const { size, end } = measureBatch(batch);
        const close = end < batch.length;
        if (close) state.closed = true;
        if (size > MAX_CHUNK) {
          return streamBatch(batch, end, close, controller).then(() => batch.encoded?.());
        }
        const bytes = fillBatch(batch, end, arena.take(size));
        batch.encoded?.();
        if (bytes.length > 0) controller.enqueue(bytes);
        if (close) controller.terminate();
        return undefined;
      },
    });
    this.#arena = arena;
    this.#state = state;
  }

  /** Whether a `"close"` response came through: the connection is to be closed. */
  get closeRequested(): boolean {
    return this.#state.closed;
  }

  /**
   * Takes back an output chunk once the connection has written it, so a
   * large buffer can be reused instead of allocated again. Never call it for
   * a chunk something still reads.
   */
  recycle(chunk: Uint8Array): void {
    this.#arena.recycle(chunk);
  }
}

/**
 * Encodes a batch up to its first `"close"` response, into a buffer from
 * `arena` (a new buffer without one).
 */
export function encodeBatch(
  batch: Response[],
  arena?: OutputArena,
): { bytes: Uint8Array; close: boolean } {
  const { size, end } = measureBatch(batch);
  const bytes = fillBatch(batch, end, arena ? arena.take(size) : new Uint8Array(size));
  return { bytes, close: end < batch.length };
}

/** The encoded size of a batch up to its first `"close"` (at `end`). */
function measureBatch(batch: Response[]): { size: number; end: number } {
  let size = 0;
  for (let i = 0; i < batch.length; i++) {
    const res = batch[i];
    if (res.kind === "close") return { size, end: i };
    size += res.kind === "binary" ? binarySize(res) : textSize(res.parts);
  }
  return { size, end: batch.length };
}

/** Encodes `batch[0..end)` into `bytes`, which is exactly its size. */
function fillBatch(batch: Response[], end: number, bytes: Uint8Array): Uint8Array {
  let pos = 0;
  for (let i = 0; i < end; i++) {
    const res = batch[i];
    if (res.kind === "binary") pos = writeBinary(bytes, pos, res);
    else if (res.kind === "text") pos = writeParts(bytes, pos, res.parts);
  }
  return bytes;
}

/** Sends an oversized batch in `MAX_CHUNK` pieces, each once the previous was taken. */
async function streamBatch(
  batch: Response[],
  end: number,
  close: boolean,
  controller: TransformStreamDefaultController<Uint8Array>,
): Promise<void> {
  let piece = new Uint8Array(MAX_CHUNK);
  let pos = 0;
  for (const segment of segments(batch, end)) {
    let from = 0;
    while (from < segment.length) {
      const n = Math.min(segment.length - from, MAX_CHUNK - pos);
      if (typeof segment === "string") writeString(piece, pos, segment.slice(from, from + n));
      else piece.set(segment.subarray(from, from + n), pos);
      pos += n;
      from += n;
      if (pos === MAX_CHUNK) {
        controller.enqueue(piece);
        if (!(await drained(controller))) return;
        piece = new Uint8Array(MAX_CHUNK);
        pos = 0;
      }
    }
  }
  if (pos > 0) controller.enqueue(piece.subarray(0, pos));
  if (close) controller.terminate();
}

/** The byte runs of `batch[0..end)` in order: headers, keys, values, text parts. */
function* segments(batch: Response[], end: number): Generator<Uint8Array | string> {
  for (let i = 0; i < end; i++) {
    const res = batch[i];
    if (res.kind === "text") {
      yield* res.parts;
    } else if (res.kind === "binary") {
      const head = new Uint8Array(binarySize(res) - res.value.length);
      writeBinaryHead(head, 0, res);
      yield head;
      yield res.value;
    }
  }
}

function binarySize(res: BinaryResponse): number {
  return HEADER_SIZE + (res.flags !== undefined ? 4 : 0) + res.key.length + res.value.length;
}

function textSize(parts: (string | Uint8Array)[]): number {
  let n = 0;
  for (const part of parts) n += part.length;
  return n;
}

function writeParts(out: Uint8Array, pos: number, parts: (string | Uint8Array)[]): number {
  for (const part of parts) {
    if (typeof part === "string") {
      pos = writeString(out, pos, part);
    } else {
      out.set(part, pos);
      pos += part.length;
    }
  }
  return pos;
}

function writeBinary(out: Uint8Array, pos: number, res: BinaryResponse): number {
  pos = writeBinaryHead(out, pos, res);
  if (typeof res.value === "string") return writeString(out, pos, res.value);
  out.set(res.value, pos);
  return pos + res.value.length;
}

/** Writes a binary response's header, extras and key (everything but the value). */
function writeBinaryHead(out: Uint8Array, pos: number, res: BinaryResponse): number {
  const extras = res.flags !== undefined ? 4 : 0;
  const body = extras + res.key.length + res.value.length;
  out[pos] = RESPONSE_MAGIC;
  out[pos + 1] = res.opcode;
  out[pos + 2] = res.key.length >>> 8;
  out[pos + 3] = res.key.length & 0xff;
  out[pos + 4] = extras;
  out[pos + 5] = 0;
  out[pos + 6] = res.status >>> 8;
  out[pos + 7] = res.status & 0xff;
  writeU32BE(out, pos + 8, body);
  writeU32BE(out, pos + 12, res.opaque);
  writeU32BE(out, pos + 16, Math.floor(res.cas / 0x1_0000_0000));
  writeU32BE(out, pos + 20, res.cas >>> 0);
  pos += HEADER_SIZE;
  if (res.flags !== undefined) {
    writeU32BE(out, pos, res.flags);
    pos += 4;
  }
  if (typeof res.key === "string") return writeString(out, pos, res.key);
  out.set(res.key, pos);
  return pos + res.key.length;
}
