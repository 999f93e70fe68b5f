/**
 * A raw TCP client for wire-level assertions: send exact bytes, read exact
 * bytes back.
 *
 * @module
 */

const encoder = new TextEncoder();

/** A connection that reads into an internal buffer on demand. */
export class RawClient implements AsyncDisposable {
  #conn: Deno.Conn;
  #buf: Uint8Array = new Uint8Array(0);
  #closed = false;

  private constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  /** Connects to 127.0.0.1:port. */
  static async connect(port: number, hostname = "127.0.0.1"): Promise<RawClient> {
    const conn = await Deno.connect({ hostname, port });
    conn.setNoDelay(true);
    return new RawClient(conn);
  }

  /** This end's address as memcached's `stats conns` prints a client's: `tcp:127.0.0.1:PORT`. */
  get address(): string {
    const addr = this.#conn.localAddr as Deno.NetAddr;
    return `tcp:${addr.hostname}:${addr.port}`;
  }

  /** Sends bytes or a byte string (one char per byte). */
  async send(data: Uint8Array | string): Promise<void> {
    const bytes = typeof data === "string" ? latin1(data) : data;
    let done = 0;
    while (done < bytes.length) done += await this.#conn.write(bytes.subarray(done));
  }

  /** Reads exactly `n` bytes; throws if the peer closes first or the timeout passes. */
  async readExact(n: number, timeoutMs = 5000): Promise<Uint8Array> {
    await this.#fill((b) => b.length >= n, timeoutMs);
    const out = this.#buf.slice(0, n);
    this.#buf = this.#buf.slice(n);
    return out;
  }

  /** Reads through the first occurrence of byte string `marker`. */
  async readUntil(marker: string, timeoutMs = 5000): Promise<string> {
    const m = latin1(marker);
    let at = -1;
    await this.#fill((b) => (at = indexOf(b, m)) >= 0, timeoutMs);
    const out = this.#buf.slice(0, at + m.length);
    this.#buf = this.#buf.slice(at + m.length);
    return toLatin1(out);
  }

  /** Reads one `\r\n`-terminated line (returned with its terminator). */
  readLine(timeoutMs = 5000): Promise<string> {
    return this.readUntil("\r\n", timeoutMs);
  }

  /** Reads one binary response: header and body. */
  async readBinary(timeoutMs = 5000): Promise<BinaryReply> {
    const header = await this.readExact(24, timeoutMs);
    const view = new DataView(header.buffer);
    const bodyLength = view.getUint32(8);
    const body = await this.readExact(bodyLength, timeoutMs);
    const extrasLength = header[4];
    const keyLength = view.getUint16(2);
    return {
      magic: header[0],
      opcode: header[1],
      status: view.getUint16(6),
      opaque: view.getUint32(12),
      cas: view.getBigUint64(16),
      extras: body.slice(0, extrasLength),
      key: toLatin1(body.slice(extrasLength, extrasLength + keyLength)),
      value: body.slice(extrasLength + keyLength),
      raw: concat(header, body),
    };
  }

  /** Resolves true when the server closes the connection (EOF) within the timeout. */
  async closedByPeer(timeoutMs = 2000): Promise<boolean> {
    try {
      await this.#fill(() => false, timeoutMs);
    } catch (err) {
      return (err as Error).message.startsWith("Connection closed");
    }
    return false;
  }

  /** Everything received so far and not yet read. */
  get pending(): Uint8Array {
    return this.#buf;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }

  async #fill(done: (b: Uint8Array) => boolean, timeoutMs: number): Promise<void> {
    const chunk = new Uint8Array(65536);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Timed out after ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      while (!done(this.#buf)) {
        let n: number | null;
        try {
          n = await Promise.race([this.#conn.read(chunk), timeout]);
        } catch (err) {
          if (err instanceof Deno.errors.ConnectionReset) n = null;
          else throw err;
        }
        if (n === null) throw new Error("Connection closed by peer");
        this.#buf = concat(this.#buf, chunk.subarray(0, n));
      }
    } finally {
      clearTimeout(timer);
    }
  }
}

/** A parsed binary response. */
export interface BinaryReply {
  magic: number;
  opcode: number;
  status: number;
  opaque: number;
  cas: bigint;
  extras: Uint8Array;
  key: string;
  value: Uint8Array;
  raw: Uint8Array;
}

/** Fields of a binary request. */
export interface BinaryFrame {
  opcode: number;
  key?: string;
  extras?: Uint8Array;
  value?: Uint8Array | string;
  opaque?: number;
  cas?: bigint;
  /** Override the header's fields (for hostile frames). */
  magic?: number;
  keyLength?: number;
  extrasLength?: number;
  bodyLength?: number;
}

/** Encodes a binary request frame. */
export function binaryRequest(f: BinaryFrame): Uint8Array {
  const key = latin1(f.key ?? "");
  const extras = f.extras ?? new Uint8Array(0);
  const value = typeof f.value === "string" ? latin1(f.value) : f.value ?? new Uint8Array(0);
  const body = extras.length + key.length + value.length;
  const out = new Uint8Array(24 + body);
  const view = new DataView(out.buffer);
  out[0] = f.magic ?? 0x80;
  out[1] = f.opcode;
  view.setUint16(2, f.keyLength ?? key.length);
  out[4] = f.extrasLength ?? extras.length;
  view.setUint32(8, f.bodyLength ?? body);
  view.setUint32(12, f.opaque ?? 0);
  view.setBigUint64(16, f.cas ?? 0n);
  out.set(extras, 24);
  out.set(key, 24 + extras.length);
  out.set(value, 24 + extras.length + key.length);
  return out;
}

/** Big-endian 32-bit words as extras bytes. */
export function words(...values: number[]): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setUint32(i * 4, v >>> 0));
  return out;
}

/** A byte string as bytes (chars above 0xff are an error). */
export function latin1(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff) return encoder.encode(s);
    out[i] = c;
  }
  return out;
}

/** Bytes as a byte string. */
export function toLatin1(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
  return s;
}

/** Joins byte arrays into one. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

function indexOf(hay: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}
