/** The byte-level side of a connection: a `Deno.Conn`, or a double in tests and benches. */
export interface Duplex {
  read(p: Uint8Array): Promise<number | null>;
  write(p: Uint8Array): Promise<number>;
  close(): void;
}

/** Options of {@linkcode connWritable}. */
export interface ConnWritableOptions {
  /** Called with the size of every chunk written. */
  onWrite?: (n: number) => void;
  /** Called with each chunk once it is written whole: the writer holds it no more. */
  onWritten?: (chunk: Uint8Array) => void;
}

/**
 * A thin `WritableStream` over `conn.write`: each chunk written whole (short
 * writes resumed) before the next is taken, so a client that stops reading
 * pushes back on the whole pipeline instead of growing a buffer.
 *
 * @example Usage
 * ```ts ignore
 * const conn = await Deno.connect({ port: 11211 });
 * const writer = connWritable(conn).getWriter();
 * await writer.write(new TextEncoder().encode("version\r\n"));
 * ```
 */
export function connWritable(
  conn: Pick<Duplex, "write">,
  options: ConnWritableOptions = {},
): WritableStream<Uint8Array> {
  const onWrite = options.onWrite;
  const onWritten = options.onWritten;
  return new WritableStream<Uint8Array>({
    async write(chunk) {
      let done = 0;
      while (done < chunk.length) {
        done += await conn.write(done === 0 ? chunk : chunk.subarray(done));
      }
      onWrite?.(chunk.length);
      onWritten?.(chunk);
    },
  }, { highWaterMark: 1 });
}

/** Whether an error only means the peer or the server closed the connection. */
export function isDisconnect(err: unknown): boolean {
  return err instanceof Deno.errors.ConnectionReset ||
    err instanceof Deno.errors.BrokenPipe ||
    err instanceof Deno.errors.BadResource ||
    err instanceof Deno.errors.Interrupted ||
    err instanceof Deno.errors.NotConnected ||
    err instanceof Deno.errors.ConnectionAborted;
}
