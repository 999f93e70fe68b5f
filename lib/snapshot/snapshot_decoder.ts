import { crc32c } from "./crc32c.ts";
import { SnapshotError } from "./snapshot_error.ts";
import {
  END_MAGIC,
  getU64,
  HEADER_SIZE,
  MAGIC,
  RECORD_HEADER_SIZE,
  SnapshotHeader,
  startsLike,
  STATE_BINARY_KEY,
  STATE_FETCHED,
  STATE_STALE,
  STATE_TOKEN_SENT,
  TRAILER_SIZE,
} from "./snapshot_header.ts";
import { emptySnapshotItem, type SnapshotItem } from "./snapshot_store.ts";

/** Options of a {@linkcode SnapshotDecoder}. */
export interface SnapshotDecoderOptions {
  /**
   * Called for each record, in file order. The item and its byte views are
   * reused: valid only during the call. Without it the decoder only checks
   * the file (checksum and structure) and skips over keys and values.
   */
  onRecord?: (item: SnapshotItem) => void;
}

const KNOWN_STATE = STATE_FETCHED | STATE_BINARY_KEY | STATE_STALE | STATE_TOKEN_SENT;

/**
 * Decodes a snapshot file fed in chunks of any size, pure (no I/O): checks
 * the header as soon as it is complete, checksums the body, walks the
 * records and checks the trailer; {@linkcode SnapshotDecoder.end} reports
 * what is wrong, if anything. A record split across chunks is reassembled.
 *
 * Records are handed out while the body streams by, before the checksum at
 * the end is known: to apply nothing from a damaged file, decode it once
 * without `onRecord` (a check) and then again with it.
 *
 * @example Usage
 * ```ts
 * import { SnapshotDecoder } from "./snapshot_decoder.ts";
 * import { SnapshotEncoder } from "./snapshot_encoder.ts";
 * import assert from "node:assert/strict";
 *
 * const encoder = new SnapshotEncoder();
 * const { chunks, header } = encoder.finish({ casCounter: 7, writtenAt: 0 });
 * const decoder = new SnapshotDecoder();
 * decoder.push(header);
 * for (const chunk of chunks) decoder.push(chunk);
 * assert.equal(decoder.end().casCounter, 7);
 * ```
 */
export class SnapshotDecoder {
  #onRecord: ((item: SnapshotItem) => void) | undefined;
  /** File bytes consumed so far. */
  #offset = 0;
  #headerBytes = new Uint8Array(HEADER_SIZE);
  #header: SnapshotHeader | undefined;
  #trailer = new Uint8Array(TRAILER_SIZE);
  #crc = 0;
  /** The first structural fault in the body (reported after the checksum). */
  #fault: SnapshotError | undefined;
  // The record walk.
  #records = 0;
  #recordStart = 0; // body offset of the record being read
  #inData = false;
  #want = RECORD_HEADER_SIZE;
  #skip = 0;
  #pending = new Uint8Array(RECORD_HEADER_SIZE);
  #pendingFill = 0;
  #keyLength = 0;
  #view: DataView = new DataView(new ArrayBuffer(0));
  #item: SnapshotItem = emptySnapshotItem();

  constructor(options: SnapshotDecoderOptions = {}) {
    this.#onRecord = options.onRecord;
  }

  /** The header, once its 64 bytes have been pushed and found valid. */
  get header(): SnapshotHeader | undefined {
    return this.#header;
  }

  /**
   * Feeds the next bytes of the file.
   *
   * @throws {SnapshotError} A foreign, newer or damaged header; bytes past the trailer.
   */
  push(chunk: Uint8Array): void {
    let i = 0;
    if (this.#offset < HEADER_SIZE) {
      i = Math.min(HEADER_SIZE - this.#offset, chunk.length);
      this.#headerBytes.set(chunk.subarray(0, i), this.#offset);
      this.#offset += i;
      if (!startsLike(this.#headerBytes.subarray(0, this.#offset), MAGIC)) {
        throw new SnapshotError("foreign", "Not an mbserver snapshot (unknown magic bytes)");
      }
      if (this.#offset === HEADER_SIZE) this.#header = SnapshotHeader.decode(this.#headerBytes);
    }
    if (i === chunk.length) return;
    const header = this.#header!;
    const bodyEnd = HEADER_SIZE + header.bodyLength;
    if (this.#offset < bodyEnd) {
      const n = Math.min(bodyEnd - this.#offset, chunk.length - i);
      const body = chunk.subarray(i, i + n);
      this.#crc = crc32c(body, this.#crc);
      if (!this.#fault) this.#walk(body);
      this.#offset += n;
      i += n;
    }
    if (i === chunk.length) return;
    const at = this.#offset - bodyEnd;
    const n = Math.max(0, Math.min(TRAILER_SIZE - at, chunk.length - i));
    this.#trailer.set(chunk.subarray(i, i + n), Math.min(at, TRAILER_SIZE));
    this.#offset += n;
    if (i + n < chunk.length) {
      throw new SnapshotError(
        "malformed",
        `Longer than its header says (${header.fileLength} bytes)`,
      );
    }
  }

  /**
   * Ends the input and checks the file whole.
   *
   * @returns The header.
   * @throws {SnapshotError} Empty, truncated, checksum mismatch, malformed records or trailer.
   */
  end(): SnapshotHeader {
    if (this.#offset === 0) throw new SnapshotError("empty", "The file is empty");
    const header = this.#header;
    if (!header) {
      throw new SnapshotError(
        "truncated",
        `Truncated: ${this.#offset} bytes, shorter than the ${HEADER_SIZE}-byte header`,
      );
    }
    if (this.#offset < header.fileLength) {
      throw new SnapshotError(
        "truncated",
        `Truncated: ${this.#offset} of ${header.fileLength} bytes`,
      );
    }
    if (this.#crc !== header.bodyCrc) {
      throw new SnapshotError("checksum", "Body checksum mismatch");
    }
    if (this.#fault) throw this.#fault;
    if (this.#records !== header.itemCount) {
      throw new SnapshotError(
        "malformed",
        `Body holds ${this.#records} records, the header says ${header.itemCount}`,
      );
    }
    const view = new DataView(this.#trailer.buffer);
    if (!startsLike(this.#trailer, END_MAGIC) || getU64(view, 8) !== header.itemCount) {
      throw new SnapshotError("malformed", "Bad trailer");
    }
    return header;
  }

  /** Walks the records in a piece of the body. */
  #walk(bytes: Uint8Array): void {
    try {
      let i = 0;
      while (i < bytes.length) {
        if (this.#skip > 0) {
          const n = Math.min(this.#skip, bytes.length - i);
          this.#skip -= n;
          i += n;
          if (this.#skip === 0) this.#records++;
          continue;
        }
        const want = this.#want;
        let unit: Uint8Array;
        if (this.#pendingFill === 0 && bytes.length - i >= want) {
          unit = bytes.subarray(i, i + want);
          i += want;
        } else {
          if (this.#pending.length < want) this.#pending = new Uint8Array(want);
          const n = Math.min(want - this.#pendingFill, bytes.length - i);
          this.#pending.set(bytes.subarray(i, i + n), this.#pendingFill);
          this.#pendingFill += n;
          i += n;
          if (this.#pendingFill < want) return;
          unit = this.#pending.subarray(0, want);
          this.#pendingFill = 0;
        }
        if (this.#inData) this.#record(unit);
        else this.#recordHeader(unit);
      }
    } catch (err) {
      if (!(err instanceof SnapshotError)) throw err;
      this.#fault = err;
    }
  }

  #recordHeader(unit: Uint8Array): void {
    // One DataView per underlying buffer, not one per record.
    if (this.#view.buffer !== unit.buffer) this.#view = new DataView(unit.buffer);
    const view = this.#view;
    const at = unit.byteOffset;
    const item = this.#item;
    const keyLength = view.getUint16(at, true);
    const state = view.getUint8(at + 2);
    const valueLength = view.getUint32(at + 4, true);
    const cas = getU64(view, at + 12);
    const exptime = getU64(view, at + 20);
    const lastAccess = getU64(view, at + 28);
    const end = this.#recordStart + RECORD_HEADER_SIZE + keyLength + valueLength;
    const where = `record ${this.#records + 1} at body byte ${this.#recordStart}`;
    if (this.#records >= this.#header!.itemCount) {
      throw new SnapshotError(
        "malformed",
        `More records than the header's ${this.#header!.itemCount}`,
      );
    }
    if (
      keyLength === 0 || (state & ~KNOWN_STATE) !== 0 || view.getUint8(at + 3) !== 0 ||
      cas === undefined || exptime === undefined || lastAccess === undefined
    ) {
      throw new SnapshotError("malformed", `Malformed ${where}`);
    }
    if (end > this.#header!.bodyLength) {
      throw new SnapshotError("malformed", `The ${where} runs past the body`);
    }
    this.#recordStart = end;
    if (!this.#onRecord) {
      this.#skip = keyLength + valueLength;
      return;
    }
    item.flags = view.getUint32(at + 8, true);
    item.cas = cas;
    item.exptime = exptime;
    item.lastAccess = lastAccess;
    item.fetched = (state & STATE_FETCHED) !== 0;
    item.binaryKey = (state & STATE_BINARY_KEY) !== 0;
    item.stale = (state & STATE_STALE) !== 0;
    item.tokenSent = (state & STATE_TOKEN_SENT) !== 0;
    this.#keyLength = keyLength;
    this.#want = keyLength + valueLength;
    this.#inData = true;
  }

  #record(unit: Uint8Array): void {
    const item = this.#item;
    item.key = unit.subarray(0, this.#keyLength);
    item.value = unit.subarray(this.#keyLength);
    this.#want = RECORD_HEADER_SIZE;
    this.#inData = false;
    this.#records++;
    this.#onRecord!(item);
  }
}
