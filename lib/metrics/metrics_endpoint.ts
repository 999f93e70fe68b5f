/** Options of a {@linkcode MetricsEndpoint}. */
export interface MetricsEndpointOptions {
  /** Address to listen on (the server's `-l`). */
  hostname: string;
  /** TCP port; 0 picks a free one. */
  port: number;
  /** Builds the page served at `/metrics` (Prometheus text format). */
  render: () => string;
  /** Connections served at once; more are closed as soon as they are accepted. @default {16} */
  maxConnections?: number;
  /**
   * Time for a whole exchange, from accept to the last byte of the reply:
   * slow, idle and stalled clients are cut off when it passes. @default {5000}
   */
  requestTimeoutMs?: number;
  /** Largest request line plus headers; a longer one gets 431. @default {8192} */
  maxHeaderBytes?: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** What a request head asks for, and the status line it gets. */
interface Reply {
  status: string;
  headers: string[];
  body: Uint8Array;
  /** HEAD: the headers of the body, without it. */
  headOnly: boolean;
}

/** Bytes read after the reply, while waiting for the client to close, at most. */
const DRAIN_LIMIT = 65536;

/**
 * A minimal HTTP/1.1 responder for Prometheus scrapes, on `Deno.listen`
 * rather than `Deno.serve` (which has no header or idle timeout, prints a
 * "Listening on" line and defaults to 0.0.0.0). It answers `GET /metrics` and
 * `HEAD /metrics`, 404 for other paths, 405 for other methods, 431 for heads
 * over `maxHeaderBytes` and 400 for what is not HTTP/1.x; one request per
 * connection (`Connection: close`); each connection gets `requestTimeoutMs`
 * for the whole exchange, and at most `maxConnections` are served at once.
 * It prints nothing and has no authentication.
 *
 * @example Usage
 * ```ts
 * import { MetricsEndpoint } from "./metrics_endpoint.ts";
 * import assert from "node:assert/strict";
 *
 * const endpoint = new MetricsEndpoint({
 *   hostname: "127.0.0.1",
 *   port: 0,
 *   render: () => "memcached_up 1\n",
 * });
 * const res = await fetch(`http://127.0.0.1:${endpoint.port}/metrics`);
 * assert.equal(await res.text(), "memcached_up 1\n");
 * await endpoint.close();
 * ```
 */
export class MetricsEndpoint {
  readonly #listener: Deno.Listener<Deno.TcpConn, Deno.NetAddr>;
  readonly #options: Required<MetricsEndpointOptions>;
  readonly #conns = new Set<Deno.TcpConn>();
  readonly #handlers = new Set<Promise<void>>();
  readonly #accepting: Promise<void>;
  #closed = false;

  constructor(options: MetricsEndpointOptions) {
    this.#options = {
      maxConnections: 16,
      requestTimeoutMs: 5000,
      maxHeaderBytes: 8192,
      ...options,
    };
    this.#listener = Deno.listen({ hostname: options.hostname, port: options.port });
    this.#accepting = this.#accept();
  }

  /** The port it listens on. */
  get port(): number {
    return this.#listener.addr.port;
  }

  /** Connections being served now. */
  get connections(): number {
    return this.#conns.size;
  }

  /** Stops listening, cuts open connections and waits until all is closed. Idempotent. */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#listener.close();
      for (const conn of this.#conns) closeQuietly(conn);
    }
    await this.#accepting;
    await Promise.all(this.#handlers);
  }

  async #accept(): Promise<void> {
    while (!this.#closed) {
      let conn: Deno.TcpConn;
      try {
        conn = await this.#listener.accept();
      } catch {
        if (this.#closed) return;
        // Out of file descriptors or the like: wait a little rather than spin.
        await new Promise((resolve) => setTimeout(resolve, 50));
        continue;
      }
      if (this.#conns.size >= this.#options.maxConnections || this.#closed) {
        closeQuietly(conn);
        continue;
      }
      this.#conns.add(conn);
      const handler = this.#serve(conn).finally(() => {
        this.#conns.delete(conn);
        this.#handlers.delete(handler);
      });
      this.#handlers.add(handler);
    }
  }

  async #serve(conn: Deno.TcpConn): Promise<void> {
    const timer = setTimeout(() => closeQuietly(conn), this.#options.requestTimeoutMs);
    try {
      const head = await readHead(conn, this.#options.maxHeaderBytes);
      if (head === undefined) return;
      const reply = head === "too large"
        ? plain("431 Request Header Fields Too Large", "request header too large\n")
        : this.#reply(head);
      await writeAll(conn, encodeReply(reply));
      await conn.closeWrite();
      await drain(conn);
    } catch {
      // The client went away or the deadline closed the connection.
    } finally {
      clearTimeout(timer);
      closeQuietly(conn);
    }
  }

  #reply(head: string): Reply {
    const requestLine = head.slice(0, head.indexOf("\n")).replace(/\r$/, "");
    const match = /^([A-Z]+) (\S+) HTTP\/1\.[01]$/.exec(requestLine);
    if (!match) return plain("400 Bad Request", "bad request\n");
    const [, method, target] = match;
    const path = target.split("?")[0];
    if (path !== "/metrics") return plain("404 Not Found", "not found: try /metrics\n");
    if (method !== "GET" && method !== "HEAD") {
      const reply = plain("405 Method Not Allowed", "method not allowed\n");
      reply.headers.push("Allow: GET, HEAD");
      return reply;
    }
    let body: Uint8Array;
    try {
      body = encoder.encode(this.#options.render());
    } catch {
      return plain("500 Internal Server Error", "metrics unavailable\n");
    }
    return {
      status: "200 OK",
      headers: ["Content-Type: text/plain; version=0.0.4; charset=utf-8"],
      body,
      headOnly: method === "HEAD",
    };
  }
}

function plain(status: string, text: string): Reply {
  return {
    status,
    headers: ["Content-Type: text/plain; charset=utf-8"],
    body: encoder.encode(text),
    headOnly: false,
  };
}

function encodeReply(reply: Reply): Uint8Array {
  const head = encoder.encode(
    `HTTP/1.1 ${reply.status}\r\n` +
      reply.headers.map((h) => `${h}\r\n`).join("") +
      `Content-Length: ${reply.body.length}\r\nConnection: close\r\n\r\n`,
  );
  if (reply.headOnly) return head;
  const out = new Uint8Array(head.length + reply.body.length);
  out.set(head);
  out.set(reply.body, head.length);
  return out;
}

/**
 * Reads up to the blank line that ends the request head. Returns the head,
 * `"too large"` when `limit` bytes hold no blank line, or undefined when the
 * client closes first.
 */
async function readHead(conn: Deno.Conn, limit: number): Promise<string | undefined> {
  const buf = new Uint8Array(limit);
  let filled = 0;
  while (filled < limit) {
    const n = await conn.read(buf.subarray(filled));
    if (n === null) return undefined;
    const from = Math.max(0, filled - 3);
    filled += n;
    const end = headEnd(buf, from, filled);
    if (end >= 0) return decoder.decode(buf.subarray(0, end));
  }
  return "too large";
}

/** Index just past `\r\n\r\n` (or `\n\n`) in `buf[from, to)`, or -1. */
function headEnd(buf: Uint8Array, from: number, to: number): number {
  for (let i = from; i < to; i++) {
    if (buf[i] !== 0x0a) continue;
    if (i + 1 < to && buf[i + 1] === 0x0a) return i + 2;
    if (i + 2 < to && buf[i + 1] === 0x0d && buf[i + 2] === 0x0a) return i + 3;
  }
  return -1;
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let done = 0;
  while (done < bytes.length) done += await conn.write(bytes.subarray(done));
}

/** Reads and drops what the client still sends until it closes, so closing does not reset the reply. */
async function drain(conn: Deno.Conn): Promise<void> {
  const buf = new Uint8Array(4096);
  let total = 0;
  while (total < DRAIN_LIMIT) {
    const n = await conn.read(buf);
    if (n === null) return;
    total += n;
  }
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // already closed
  }
}
