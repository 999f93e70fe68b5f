/** The byte-level side of a connection that the streams need. */
export interface Duplex {
  read(p: Uint8Array): Promise<number | null>;
  write(p: Uint8Array): Promise<number>;
}

/** Options of {@linkcode connReadable}. */
export interface ConnReadableOptions {
  /** Size of the reused read buffer. @default {65536} */
  bufferSize?: number;
  /** Called with the size of every read. */
  onRead?: (n: number) => void;
}

/**
 * A thin `ReadableStream` over `conn.read`: one reused read buffer, each
 * chunk a copy of exactly the bytes read, nothing read ahead of demand
 * (high-water mark 0) so a stalled pipeline stops reading the socket.
 *
 * Deno's own `conn.readable` allocates a fresh 64 KiB buffer per read; this
 * costs one small copy instead.
 *
 * @example Usage
 * ```ts ignore
 * const conn = await Deno.connect({ port: 11211 });
 * for await (const chunk of connReadable(conn)) console.log(chunk.length);
 * ```
 */
export function connReadable(
  conn: Duplex,
  options: ConnReadableOptions = {},
): ReadableStream<Uint8Array> {
  const buffer = new Uint8Array(options.bufferSize ?? 65536);
  const onRead = options.onRead;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let n: number | null;
      try {
        n = await conn.read(buffer);
      } catch (err) {
        if (isDisconnect(err)) n = null;
        else throw err;
      }
      if (n === null) {
        controller.close();
        return;
      }
      onRead?.(n);
      controller.enqueue(buffer.slice(0, n));
    },
  }, { highWaterMark: 0 });
}

/** Options of {@linkcode connWritable}. */
export interface ConnWritableOptions {
  /** Called with the size of every chunk written. */
  onWrite?: (n: number) => void;
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
  conn: Duplex,
  options: ConnWritableOptions = {},
): WritableStream<Uint8Array> {
  const onWrite = options.onWrite;
  return new WritableStream<Uint8Array>({
    async write(chunk) {
      let done = 0;
      while (done < chunk.length) {
        done += await conn.write(done === 0 ? chunk : chunk.subarray(done));
      }
      onWrite?.(chunk.length);
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
