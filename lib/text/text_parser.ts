import type { Request } from "../messages.ts";

/** Options of a {@linkcode TextParser}. */
export interface TextParserOptions {
  /** Largest item, in bytes. @default {1 MiB} */
  maxItemSize?: number;
}

/** Incremental text/meta protocol decoder. (Placeholder: being written.) */
export class TextParser {
  #closed = false;
  constructor(_options: TextParserOptions = {}) {}
  get closed(): boolean {
    return this.#closed;
  }
  get buffered(): number {
    return 0;
  }
  push(_chunk: Uint8Array, out: Request[]): void {
    this.#closed = true;
    out.push({ kind: "close" });
  }
}
