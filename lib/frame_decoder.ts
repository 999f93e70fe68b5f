import { BinaryParser } from "./binary/binary_parser.ts";
import { REQUEST_MAGIC } from "./binary/constants.ts";
import type { Request } from "./messages.ts";
import { TextParser } from "./text/text_parser.ts";

/** An incremental protocol decoder the {@linkcode FrameDecoder} delegates to. */
export interface Parser {
  /** Appends the requests `chunk` completes to `out`; must not keep views of `chunk`. */
  push(chunk: Uint8Array, out: Request[]): void;
  /** Whether the stream ended (a close request was emitted). */
  readonly closed: boolean;
  /** Bytes held waiting for the rest of a request. */
  readonly buffered: number;
}

/** Options of a {@linkcode FrameDecoder}. */
export interface FrameDecoderOptions {
  /** Largest item, in bytes; bounds what a parser will buffer. @default {1 MiB} */
  maxItemSize?: number;
  /** Called after each chunk with the requests it completed and the bytes held for more. */
  onDecoded?: (requests: number, buffered: number) => void;
  /**
   * Go on with this parser (protocol chosen, maybe a request half read) from
   * an earlier decoder of the same connection, instead of sniffing the first byte.
   */
  parser?: Parser;
  /** Called once, when the first byte has picked the connection's protocol (not for a `parser` handed over). */
  onProtocol?: (protocol: "binary" | "text") => void;
}

/**
 * Turns a connection's bytes into batches of requests: every request a chunk
 * completes, in one array. The first byte picks the protocol for the whole
 * connection: 0x80 binary, anything else text and meta. A connection that
 * builds a new decoder after a pause hands over the old one's
 * {@linkcode FrameDecoder.parser}, so neither the protocol nor a request half
 * read is lost.
 *
 * @example Usage
 * ```ts
 * import { FrameDecoder } from "./frame_decoder.ts";
 * import assert from "node:assert/strict";
 *
 * const noop = new Uint8Array(24);
 * noop[0] = 0x80;
 * noop[1] = 0x0a;
 * const batches = await Array.fromAsync(
 *   ReadableStream.from([noop.subarray(0, 5), noop.subarray(5)]).pipeThrough(new FrameDecoder()),
 * );
 * assert.deepEqual(batches.length, 1);
 * assert.deepEqual(batches[0][0].kind, "binary");
 * ```
 */
export class FrameDecoder extends TransformStream<Uint8Array, Request[]> {
  #state: { parser: Parser | undefined };

  constructor(options: FrameDecoderOptions = {}) {
    const maxItemSize = options.maxItemSize ?? 1024 * 1024;
    const onDecoded = options.onDecoded;
    const state = { parser: options.parser };
    super({
      transform(chunk, controller) {
        if (chunk.length === 0) return;
        let parser = state.parser;
        if (parser === undefined) {
          const binary = chunk[0] === REQUEST_MAGIC;
          parser = state.parser = binary
            ? new BinaryParser({ maxBodyLength: maxItemSize + 64 * 1024 })
            : new TextParser({ maxItemSize });
          options.onProtocol?.(binary ? "binary" : "text");
        }
        if (parser.closed) return;
        const out: Request[] = [];
        parser.push(chunk, out);
        onDecoded?.(out.length, parser.buffered);
        if (out.length > 0) controller.enqueue(out);
      },
    });
    this.#state = state;
  }

  /** The parser the first byte chose (or the one handed over); undefined before any byte. */
  get parser(): Parser | undefined {
    return this.#state.parser;
  }
}
