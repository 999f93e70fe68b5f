/**
 * The snapshot file format (version 1). All integers little-endian; u64
 * fields hold integers up to 2^53.
 *
 * ```
 * header, 64 bytes
 *    0  magic        89 4D 42 53 4E 41 50 0A   ("\x89MBSNAP\n")
 *    8  u32 version  1
 *   12  u32 header size  64
 *   16  u64 CAS counter (the last CAS value handed out)
 *   24  u64 written at, Unix milliseconds
 *   32  u64 item count
 *   40  u64 body length in bytes
 *   48  u32 CRC-32C of the body
 *   52  8 bytes, zero
 *   60  u32 CRC-32C of header bytes 0–59
 * body: item count records, least recently used first
 *    0  u16 key length (≥ 1)    2  u8 state bits: 1 fetched, 2 binary key, 4 stale, 8 token sent
 *    3  u8 zero                 4  u32 value length
 *    8  u32 client flags       12  u64 CAS
 *   20  u64 expiry, Unix seconds (0 = never)
 *   28  u64 last access, Unix seconds
 *   36  key bytes, then value bytes
 * trailer, 16 bytes
 *    0  magic        89 4D 42 53 45 4E 44 0A   ("\x89MBSEND\n")
 *    8  u64 item count (again)
 * ```
 *
 * The header checksum covers the body checksum, so together they cover
 * every byte; the trailer and the exact file length catch truncation.
 *
 * @module
 */
import { crc32c } from "./crc32c.ts";
import { SnapshotError } from "./snapshot_error.ts";

/** The format version this code writes and reads. */
export const SNAPSHOT_VERSION = 1;
/** Bytes of the header. */
export const HEADER_SIZE = 64;
/** Bytes of a record before its key. */
export const RECORD_HEADER_SIZE = 36;
/** Bytes of the trailer. */
export const TRAILER_SIZE = 16;
/** Record state bit: fetched since stored. */
export const STATE_FETCHED = 1;
/** Record state bit: meta protocol binary (base64) key. */
export const STATE_BINARY_KEY = 2;
/** Record state bit: meta protocol stale mark. */
export const STATE_STALE = 4;
/** Record state bit: meta protocol win token sent. */
export const STATE_TOKEN_SENT = 8;
/** The first eight bytes of a snapshot. */
export const MAGIC: Uint8Array = Uint8Array.of(0x89, 0x4d, 0x42, 0x53, 0x4e, 0x41, 0x50, 0x0a);
/** The first eight bytes of the trailer. */
export const END_MAGIC: Uint8Array = Uint8Array.of(0x89, 0x4d, 0x42, 0x53, 0x45, 0x4e, 0x44, 0x0a);

const TWO_32 = 0x1_0000_0000;

/**
 * Writes a u64 (an integer up to 2^53) at `at`, little-endian.
 *
 * @example Usage
 * ```ts
 * import { getU64, setU64 } from "./snapshot_header.ts";
 * import assert from "node:assert/strict";
 *
 * const view = new DataView(new ArrayBuffer(8));
 * setU64(view, 0, 2 ** 40 + 5);
 * assert.equal(getU64(view, 0), 2 ** 40 + 5);
 * ```
 */
export function setU64(view: DataView, at: number, n: number): void {
  view.setUint32(at, n >>> 0, true);
  view.setUint32(at + 4, Math.floor(n / TWO_32), true);
}

/**
 * Reads a little-endian u64 at `at`; `undefined` when it is beyond 2^53.
 *
 * @example Usage
 * ```ts
 * import { getU64 } from "./snapshot_header.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(getU64(new DataView(new Uint8Array(8).fill(0xff).buffer), 0), undefined);
 * ```
 */
export function getU64(view: DataView, at: number): number | undefined {
  const high = view.getUint32(at + 4, true);
  if (high >= 0x20_0000) return undefined;
  return high * TWO_32 + view.getUint32(at, true);
}

/**
 * Whether `bytes` starts with `prefix`, as far as `bytes` goes (a short file
 * that could still be a snapshot says true).
 *
 * @example Usage
 * ```ts
 * import { MAGIC, startsLike } from "./snapshot_header.ts";
 * import assert from "node:assert/strict";
 *
 * assert.ok(startsLike(MAGIC.subarray(0, 3), MAGIC));
 * assert.ok(!startsLike(new TextEncoder().encode("VALUE"), MAGIC));
 * ```
 */
export function startsLike(bytes: Uint8Array, prefix: Uint8Array): boolean {
  const n = Math.min(bytes.length, prefix.length);
  for (let i = 0; i < n; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

/**
 * A snapshot's header: what it holds and the body's checksum.
 *
 * @example Usage
 * ```ts
 * import { SnapshotHeader } from "./snapshot_header.ts";
 * import assert from "node:assert/strict";
 *
 * const header = new SnapshotHeader({
 *   casCounter: 42,
 *   writtenAt: 1_700_000_000_000,
 *   itemCount: 0,
 *   bodyLength: 0,
 *   bodyCrc: 0,
 * });
 * assert.deepEqual(SnapshotHeader.decode(header.encode()), header);
 * ```
 */
export class SnapshotHeader {
  /** The last CAS value the store had handed out. */
  casCounter: number;
  /** When the snapshot was written, Unix milliseconds. */
  writtenAt: number;
  /** Records in the body. */
  itemCount: number;
  /** Bytes of the body. */
  bodyLength: number;
  /** CRC-32C of the body. */
  bodyCrc: number;

  constructor(fields: {
    casCounter: number;
    writtenAt: number;
    itemCount: number;
    bodyLength: number;
    bodyCrc: number;
  }) {
    this.casCounter = fields.casCounter;
    this.writtenAt = fields.writtenAt;
    this.itemCount = fields.itemCount;
    this.bodyLength = fields.bodyLength;
    this.bodyCrc = fields.bodyCrc;
  }

  /** Bytes of the whole file this header describes. */
  get fileLength(): number {
    return HEADER_SIZE + this.bodyLength + TRAILER_SIZE;
  }

  /** The 64 header bytes. */
  encode(): Uint8Array {
    const bytes = new Uint8Array(HEADER_SIZE);
    const view = new DataView(bytes.buffer);
    bytes.set(MAGIC, 0);
    view.setUint32(8, SNAPSHOT_VERSION, true);
    view.setUint32(12, HEADER_SIZE, true);
    setU64(view, 16, this.casCounter);
    setU64(view, 24, this.writtenAt);
    setU64(view, 32, this.itemCount);
    setU64(view, 40, this.bodyLength);
    view.setUint32(48, this.bodyCrc, true);
    view.setUint32(60, crc32c(bytes.subarray(0, 60)), true);
    return bytes;
  }

  /**
   * Reads the 64 header bytes.
   *
   * @throws {SnapshotError} Foreign magic, newer version, or a bad header.
   */
  static decode(bytes: Uint8Array): SnapshotHeader {
    if (!startsLike(bytes, MAGIC)) {
      throw new SnapshotError("foreign", "Not an mbserver snapshot (unknown magic bytes)");
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const version = view.getUint32(8, true);
    if (version > SNAPSHOT_VERSION) {
      throw new SnapshotError(
        "newer",
        `Written in snapshot format version ${version}; this server reads version ${SNAPSHOT_VERSION}`,
      );
    }
    if (view.getUint32(60, true) !== crc32c(bytes.subarray(0, 60))) {
      throw new SnapshotError("checksum", "Header checksum mismatch");
    }
    const fields = {
      casCounter: getU64(view, 16),
      writtenAt: getU64(view, 24),
      itemCount: getU64(view, 32),
      bodyLength: getU64(view, 40),
      bodyCrc: view.getUint32(48, true),
    };
    if (
      version !== SNAPSHOT_VERSION || view.getUint32(12, true) !== HEADER_SIZE ||
      Object.values(fields).some((v) => v === undefined)
    ) {
      throw new SnapshotError("malformed", "Header fields out of range");
    }
    return new SnapshotHeader(fields as ConstructorParameters<typeof SnapshotHeader>[0]);
  }
}
