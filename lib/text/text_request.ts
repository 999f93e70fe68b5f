/**
 * A decoded text or meta protocol command.
 *
 * `words` are the command line's tokens as byte strings; `data` is the data
 * block of a storage command (without its `\r\n`), or `undefined`.
 * `error` is set when the line could not be accepted (the dispatcher answers
 * it as given).
 */
export interface TextRequest {
  kind: "text";
  words: string[];
  data?: Uint8Array;
  error?: string;
}
