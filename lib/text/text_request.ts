/**
 * A decoded text or meta protocol command.
 *
 * `words` are the command line's tokens as byte strings (the line split on
 * spaces, as memcached's tokenizer splits it). For a storage command
 * (`set`, `add`, `replace`, `append`, `prepend`, `cas`, `ms`) whose line
 * announced a data block, `block` says how the block arrived and `data`
 * holds it without its terminator:
 *
 * - `"ok"`: the block ended in `\r\n`;
 * - `"bad_chunk"`: it did not (memcached answers `CLIENT_ERROR bad data chunk`);
 * - `"too_large"`: it was longer than any item can be, so it was swallowed
 *   unread and `data` is absent.
 */
export interface TextRequest {
  kind: "text";
  words: string[];
  data?: Uint8Array;
  block?: "ok" | "bad_chunk" | "too_large";
}
