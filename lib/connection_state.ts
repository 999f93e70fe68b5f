import type { CommandContext } from "./command_context.ts";
import type { Response } from "./messages.ts";

/** Options of a {@linkcode ConnectionState}. */
export interface ConnectionStateOptions {
  /** Connection number, for logs. */
  id: number;
  /** The server's command context. */
  context: CommandContext;
}

/**
 * One connection's protocol state, owned by its dispatcher: who it is,
 * whether it authenticated, and the replies it has queued but memcached
 * would not have sent yet, which memcached may still drop, overwrite or
 * keep referencing:
 *
 * - a binary GET-family hit still queued holds its item, so an incr of that
 *   item copies the counter instead of rewriting it in place
 *   ({@linkcode ConnectionState.holdsItem});
 * - a text `get` with a key that is too long drops every queued reply
 *   ({@linkcode ConnectionState.dropUnsent});
 * - each text authentication reply overwrites the previous one while that
 *   is still the last queued ({@linkcode ConnectionState.replyAuth}).
 *
 * The dispatcher starts each run of requests with
 * {@linkcode ConnectionState.begin}; replies queued before count as sent.
 *
 * @example Usage
 * ```ts
 * import { CommandContext } from "./command_context.ts";
 * import { ConnectionState } from "./connection_state.ts";
 * import assert from "node:assert/strict";
 *
 * const connection = new ConnectionState({ id: 1, context: new CommandContext() });
 * const out = connection.begin();
 * connection.reply({ kind: "text", parts: ["VALUE k 0 1\r\nv\r\nEND\r\n"] });
 * connection.dropUnsent();
 * assert.deepEqual(out, []);
 * ```
 */
export class ConnectionState {
  /** Connection number, for logs. */
  readonly id: number;
  /** The server's command context: commands run through it. */
  readonly context: CommandContext;
  /** SASL or text `-Y` authentication done. */
  authenticated = false;
  #out: Response[] = [];
  /** Replies before this index of `#out` count as sent. */
  #sentBefore = 0;
  /** The last text authentication reply queued. */
  #authReply: Response | undefined;

  constructor(options: ConnectionStateOptions) {
    this.id = options.id;
    this.context = options.context;
  }

  /** Starts queueing into a new array, which it returns; everything queued before counts as sent. */
  begin(): Response[] {
    this.#out = [];
    this.#sentBefore = 0;
    return this.#out;
  }

  /** Queues a reply. */
  reply(res: Response): void {
    this.#out.push(res);
  }

  /** Queues the end of the connection, after everything queued so far. */
  close(): void {
    this.#out.push({ kind: "close" });
  }

  /** Whether the last reply queued closes the connection. */
  get closing(): boolean {
    const last = this.#out[this.#out.length - 1];
    return last !== undefined && last.kind === "close";
  }

  /** Marks where memcached writes out its queue (binary: at a NOOP or an error). */
  transmitted(): void {
    this.#sentBefore = this.#out.length;
  }

  /** Drops every reply not yet sent, as memcached does for a text `get` with a key too long. */
  dropUnsent(): void {
    this.#out.length = this.#sentBefore;
  }

  /**
   * Whether a binary GET-family hit queued and not yet sent holds item
   * version `cas`. (A function property, so it can be handed on as is.)
   */
  readonly holdsItem = (cas: number): boolean => {
    const out = this.#out;
    for (let i = this.#sentBefore; i < out.length; i++) {
      const res = out[i];
      if (res.kind === "binary" && res.flags !== undefined && res.cas === cas) return true;
    }
    return false;
  };

  /**
   * Queues a text authentication reply. memcached writes each of these over
   * the last one not yet sent, so of a pipelined run of them only the last
   * goes out.
   */
  replyAuth(res: Response): void {
    const out = this.#out;
    if (out.length > this.#sentBefore && out[out.length - 1] === this.#authReply) out.pop();
    out.push(res);
    this.#authReply = res;
  }
}
