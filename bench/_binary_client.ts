/**
 * A minimal binary-protocol client for the benchmarks that load and read a
 * server (`memory.ts`, `snapshot.ts`): requests are written by the caller
 * with {@linkcode writeHeader}, responses read one at a time.
 *
 * @module
 */

/** The fields of a request header the benchmarks set; the rest are 0. */
export interface RequestHeader {
  opcode: number;
  /** @default {0} */
  keyLength?: number;
  /** @default {0} */
  extrasLength?: number;
  /** Extras, key and value together. @default {0} */
  bodyLength?: number;
}

/** Writes a 24-byte binary request header at `pos` of `out`. */
export function writeHeader(out: Uint8Array, pos: number, header: RequestHeader): void {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  out.fill(0, pos, pos + 24);
  out[pos] = 0x80;
  out[pos + 1] = header.opcode;
  view.setUint16(pos + 2, header.keyLength ?? 0);
  out[pos + 4] = header.extrasLength ?? 0;
  view.setUint32(pos + 8, header.bodyLength ?? 0);
}

/** One response: its opcode, status, key (as latin1) and value bytes (a copy). */
export interface BinaryResponse {
  opcode: number;
  status: number;
  key: string;
  value: Uint8Array;
}

/** One connection to a server speaking the binary protocol. */
export class BinaryClient {
  #conn: Deno.Conn;
  #buf = new Uint8Array(1 << 20);
  #len = 0;

  private constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  /** Connects to 127.0.0.1:`port`. */
  static async connect(port: number): Promise<BinaryClient> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.setNoDelay(true);
    return new BinaryClient(conn);
  }

  /** Writes all of `bytes`. */
  async send(bytes: Uint8Array): Promise<void> {
    for (let done = 0; done < bytes.length;) done += await this.#conn.write(bytes.subarray(done));
  }

  /** Reads one response. */
  async read(): Promise<BinaryResponse> {
    await this.#fill(24);
    const body = new DataView(this.#buf.buffer).getUint32(8);
    await this.#fill(24 + body);
    const keyLength = (this.#buf[2] << 8) | this.#buf[3];
    const extras = this.#buf[4];
    const keyStart = 24 + extras;
    const res = {
      opcode: this.#buf[1],
      status: (this.#buf[6] << 8) | this.#buf[7],
      key: String.fromCharCode(...this.#buf.subarray(keyStart, keyStart + keyLength)),
      value: this.#buf.slice(keyStart + keyLength, 24 + body),
    };
    this.#buf.copyWithin(0, 24 + body, this.#len);
    this.#len -= 24 + body;
    return res;
  }

  /** The general stats (a STAT request read up to its empty terminator). */
  async stats(): Promise<Map<string, string>> {
    const request = new Uint8Array(24);
    writeHeader(request, 0, { opcode: 0x10 });
    await this.send(request);
    const out = new Map<string, string>();
    for (let res = await this.read(); res.key !== ""; res = await this.read()) {
      out.set(res.key, new TextDecoder().decode(res.value));
    }
    return out;
  }

  /** Closes the connection. */
  close(): void {
    this.#conn.close();
  }

  async #fill(n: number): Promise<void> {
    if (n > this.#buf.length) {
      const bigger = new Uint8Array(n);
      bigger.set(this.#buf.subarray(0, this.#len));
      this.#buf = bigger;
    }
    while (this.#len < n) {
      const got = await this.#conn.read(this.#buf.subarray(this.#len));
      if (got === null) throw new Error("Server closed the connection");
      this.#len += got;
    }
  }
}
