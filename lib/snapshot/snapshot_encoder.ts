import { crc32c } from "./crc32c.ts";
import {
  END_MAGIC,
  HEADER_SIZE,
  RECORD_HEADER_SIZE,
  setU64,
  SnapshotHeader,
  STATE_BINARY_KEY,
  STATE_FETCHED,
  STATE_STALE,
  STATE_TOKEN_SENT,
  TRAILER_SIZE,
} from "./snapshot_header.ts";
import type { SnapshotItem } from "./snapshot_store.ts";

/** Options of a {@linkcode SnapshotEncoder}. */
export interface SnapshotEncoderOptions {
  /** Bytes per output chunk. @default {1 MiB} */
  chunkSize?: number;
}

/**
 * Encodes items into snapshot body chunks, pure (no I/O). Items are copied
 * as they are added, so the caller can add them while holding a read share
 * of the store lock and write the chunks after releasing it.
 *
 * The header goes first in the file but is known last (item count, CAS
 * counter, checksum): write {@linkcode SnapshotEncoder.placeholder} first
 * and the header from {@linkcode SnapshotEncoder.finish} over it at the end.
 *
 * @example Usage
 * ```ts
 * import { SnapshotEncoder } from "./snapshot_encoder.ts";
 * import assert from "node:assert/strict";
 *
 * const encoder = new SnapshotEncoder();
 * const bytes = (s: string) => new TextEncoder().encode(s);
 * encoder.add({
 *   key: bytes("k"),
 *   value: bytes("v"),
 *   flags: 0,
 *   cas: 1,
 *   exptime: 0,
 *   lastAccess: 1_700_000_000,
 *   fetched: false,
 * });
 * const { chunks, header } = encoder.finish({ casCounter: 1, writtenAt: 1_700_000_000_000 });
 * assert.equal(header.length, 64);
 * assert.equal(chunks.reduce((n, c) => n + c.length, 0), 36 + 2 + 16);
 * ```
 */
export class SnapshotEncoder {
  #chunkSize: number;
  #chunk: Uint8Array;
  #view: DataView;
  #fill = 0;
  #ready: Uint8Array[] = [];
  #spare: Uint8Array[] = [];
  #readyBytes = 0;
  #crc = 0;
  #bodyLength = 0;
  #count = 0;

  constructor(options: SnapshotEncoderOptions = {}) {
    this.#chunkSize = options.chunkSize ?? 1024 * 1024;
    this.#chunk = new Uint8Array(this.#chunkSize);
    this.#view = new DataView(this.#chunk.buffer);
  }

  /** Zero bytes to hold the header's place at the start of the file. */
  get placeholder(): Uint8Array {
    return new Uint8Array(HEADER_SIZE);
  }

  /** Bytes encoded and not yet taken. */
  get buffered(): number {
    return this.#readyBytes + this.#fill;
  }

  /** Bytes of body encoded so far. */
  get bodyLength(): number {
    return this.#bodyLength;
  }

  /** Items added so far. */
  get count(): number {
    return this.#count;
  }

  /**
   * Appends one record, copying the item's bytes.
   *
   * @throws {RangeError} A key that is empty or longer than 65,535 bytes.
   */
  add(item: SnapshotItem): void {
    const keyLength = item.key.length;
    if (keyLength === 0 || keyLength > 0xffff) {
      throw new RangeError(`Cannot snapshot a key of ${keyLength} bytes (1 to 65535)`);
    }
    if (this.#fill + RECORD_HEADER_SIZE > this.#chunkSize) this.#seal();
    const view = this.#view;
    const at = this.#fill;
    view.setUint16(at, keyLength, true);
    view.setUint8(at + 2, stateBits(item));
    view.setUint8(at + 3, 0);
    view.setUint32(at + 4, item.value.length, true);
    view.setUint32(at + 8, item.flags >>> 0, true);
    setU64(view, at + 12, item.cas);
    setU64(view, at + 20, item.exptime);
    setU64(view, at + 28, item.lastAccess);
    this.#fill += RECORD_HEADER_SIZE;
    this.#copy(item.key);
    this.#copy(item.value);
    this.#bodyLength += RECORD_HEADER_SIZE + keyLength + item.value.length;
    this.#count++;
  }

  /**
   * Hands back a chunk from {@linkcode SnapshotEncoder.take} once it is
   * written, to be filled again (fewer large allocations, less GC).
   */
  recycle(chunk: Uint8Array): void {
    if (chunk.buffer.byteLength === this.#chunkSize && this.#spare.length < 2) {
      this.#spare.push(new Uint8Array(chunk.buffer as ArrayBuffer));
    }
  }

  /**
   * Takes the chunks encoded so far: the full ones, and with `all` the
   * partly filled one too (a writer that flushes after every slice).
   */
  take(all = false): Uint8Array[] {
    if (all && this.#fill > 0) this.#seal();
    const ready = this.#ready;
    this.#ready = [];
    this.#readyBytes = 0;
    return ready;
  }

  /**
   * Ends the body.
   *
   * @returns The chunks not yet taken, the trailer last, and the header to write at offset 0.
   */
  finish(options: { casCounter: number; writtenAt: number }): {
    chunks: Uint8Array[];
    header: Uint8Array;
  } {
    if (this.#fill > 0) this.#seal();
    const trailer = new Uint8Array(TRAILER_SIZE);
    trailer.set(END_MAGIC, 0);
    setU64(new DataView(trailer.buffer), 8, this.#count);
    const header = new SnapshotHeader({
      casCounter: options.casCounter,
      writtenAt: options.writtenAt,
      itemCount: this.#count,
      bodyLength: this.#bodyLength,
      bodyCrc: this.#crc,
    });
    return { chunks: [...this.take(), trailer], header: header.encode() };
  }

  #copy(bytes: Uint8Array): void {
    for (let done = 0; done < bytes.length;) {
      if (this.#fill === this.#chunkSize) this.#seal();
      const n = Math.min(bytes.length - done, this.#chunkSize - this.#fill);
      this.#chunk.set(bytes.subarray(done, done + n), this.#fill);
      this.#fill += n;
      done += n;
    }
  }

  /** Closes the current chunk (checksummed in order) and opens a new one. */
  #seal(): void {
    const sealed = this.#chunk.subarray(0, this.#fill);
    this.#crc = crc32c(sealed, this.#crc);
    this.#ready.push(sealed);
    this.#readyBytes += sealed.length;
    this.#chunk = this.#spare.pop() ?? new Uint8Array(this.#chunkSize);
    this.#view = new DataView(this.#chunk.buffer);
    this.#fill = 0;
  }
}

function stateBits(item: SnapshotItem): number {
  return (item.fetched ? STATE_FETCHED : 0) | (item.binaryKey ? STATE_BINARY_KEY : 0) |
    (item.stale ? STATE_STALE : 0) | (item.tokenSent ? STATE_TOKEN_SENT : 0);
}
