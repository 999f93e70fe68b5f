/**
 * The values that flow through a connection's pipeline: decoded requests in,
 * responses out. Strings here are byte strings (one char per byte, 0–255).
 *
 * @module
 */
import type { TextRequest } from "./text/text_request.ts";

export type { TextRequest };

/** Extras of SET, ADD and REPLACE (and their quiet forms). */
export interface StorageExtras {
  family: "storage";
  /** Opaque client flags. */
  flags: number;
  /** Protocol expiry. */
  exptime: number;
}

/** Extras of INCREMENT and DECREMENT (and their quiet forms). */
export interface ArithmeticExtras {
  family: "arithmetic";
  /** Unsigned 64-bit amount. */
  delta: bigint;
  /** The value a missing counter is created with. */
  initial: bigint;
  /** Protocol expiry of a created counter; all ones (0xffffffff): do not create. */
  exptime: number;
}

/** Extras of TOUCH, GAT and GATK (and their quiet forms). */
export interface TouchExtras {
  family: "touch";
  /** The new protocol expiry. */
  exptime: number;
}

/** Extras of FLUSH (and FLUSHQ). */
export interface FlushExtras {
  family: "flush";
  /** Seconds (a protocol expiry) until the flush takes effect. */
  delay: number;
}

/** A binary request's extras, decoded for its opcode's family. */
export type BinaryExtras = StorageExtras | ArithmeticExtras | TouchExtras | FlushExtras;

/** A decoded binary protocol request. Owns its bytes: nothing aliases the read buffer. */
export interface BinaryRequest {
  kind: "binary";
  opcode: number;
  keyLength: number;
  extrasLength: number;
  bodyLength: number;
  opaque: number;
  /** The request's CAS as a number (exact below 2^53). */
  cas: number;
  /**
   * The extras, decoded when the opcode has them and they have that family's
   * length; `undefined` otherwise.
   */
  extras: BinaryExtras | undefined;
  /** The key as a byte string. */
  key: string;
  /** The value (body after extras and key). */
  value: Uint8Array;
}

/** The decoder gave up on the stream: send `reply` (if any), then close. */
export interface CloseRequest {
  kind: "close";
  reply?: Response;
}

/** Anything the frame decoder emits. */
export type Request = BinaryRequest | TextRequest | CloseRequest;

/** A binary protocol response. */
export interface BinaryResponse {
  kind: "binary";
  opcode: number;
  status: number;
  opaque: number;
  cas: number;
  /** When set, sent as 4 bytes of extras (GET family). */
  flags?: number;
  /** Key as a byte string ("" for none). */
  key: string;
  /** Body after extras and key: bytes, or a byte string (error texts, stats). */
  value: Uint8Array | string;
}

/** A text or meta protocol response: byte strings and byte arrays sent in order. */
export interface TextResponse {
  kind: "text";
  parts: (string | Uint8Array)[];
}

/** Send everything before this, then close the connection. */
export interface CloseResponse {
  kind: "close";
}

/** Anything the dispatcher emits. */
export type Response = BinaryResponse | TextResponse | CloseResponse;
