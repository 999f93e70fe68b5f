/**
 * The numbers of a storage command line (`set`, `add`, `replace`, `append`,
 * `prepend`, `cas`), parsed once by the parser. For `ms` only `length` is
 * read from the line (its other numbers are meta flags) and the rest are 0.
 */
export interface StorageLine {
  flags: number;
  /** Protocol expiry. */
  exptime: number;
  /** Bytes of the data block, without its `\r\n`. */
  length: number;
  /** The `cas` command's CAS (0 for the others). */
  cas: number;
}

/**
 * A decoded text or meta protocol command.
 *
 * `words` are the command line's tokens as byte strings (the line split on
 * spaces, as memcached's tokenizer splits it). A storage command whose line
 * memcached accepts carries its numbers in `storage`, and then its data
 * block: `block` says how the block arrived and `data` holds it without its
 * terminator:
 *
 * - `"ok"`: the block ended in `\r\n`;
 * - `"bad_chunk"`: it did not (memcached answers `CLIENT_ERROR bad data chunk`);
 * - `"too_large"`: it was longer than any item can be, so it was swallowed
 *   unread and `data` is absent.
 *
 * @example Usage
 * ```ts
 * import type { TextRequest } from "./text_request.ts";
 *
 * const request: TextRequest = { kind: "text", words: ["get", "k"] };
 * ```
 */
export interface TextRequest {
  kind: "text";
  words: string[];
  storage?: StorageLine;
  data?: Uint8Array;
  block?: "ok" | "bad_chunk" | "too_large";
}
