/** The byte-level side of a connection that the streams need. */
export interface Duplex {
  read(p: Uint8Array): Promise<number | null>;
  write(p: Uint8Array): Promise<number>;
}

/** Options of {@linkcode connReadable}. */
export interface ConnReadableOptions {
  /** Size of the largest read arena; the largest read. @default {65536} */
  bufferSize?: number;
  /** Called with the size of every read. */
  onRead?: (n: number) => void;
}

/**
 * A thin `ReadableStream` over `conn.read`, nothing read ahead of demand
 * (high-water mark 0) so a stalled pipeline stops reading the socket.
 *
 * Reads go into an arena, one after another, and each chunk is a view of
 * exactly the bytes read: no copy and no allocation per read, and no chunk
 * is ever overwritten (a full arena is left to the garbage collector and a
 * new one started), so consumers may keep views of chunks. Deno's own
 * `conn.readable` allocates a fresh 64 KiB buffer per read instead.
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
  const size = options.bufferSize ?? 65536;
  let arena = new Uint8Array(0);
  let pos = 0;
  const onRead = options.onRead;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      // A new arena when less than a quarter is left: 1/16 of the size at
      // first (idle connections hold little), growing to the full size.
      if (arena.length - pos < arena.length / 4 || arena.length === 0) {
        arena = new Uint8Array(Math.min(size, Math.max(size / 16, arena.length * 4)));
        pos = 0;
      }
      let n: number | null;
      try {
        n = await conn.read(pos === 0 ? arena : arena.subarray(pos));
      } catch (err) {
        if (isDisconnect(err)) n = null;
        else throw err;
      }
      if (n === null) {
        controller.close();
        return;
      }
      onRead?.(n);
      controller.enqueue(arena.subarray(pos, pos + n));
      pos += n;
    },
  }, { highWaterMark: 0 });
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
  conn: Duplex,
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
