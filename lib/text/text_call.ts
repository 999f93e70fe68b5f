import type { ConnectionState } from "../connection_state.ts";
import type { TextResponse } from "../messages.ts";
import { MAX_WORDS } from "./text_parser.ts";
import type { TextRequest } from "./text_request.ts";

/**
 * One text or meta command in flight: its request, its connection, and its
 * `noreply`, with memcached's two ways of answering (`out_string`, dropped
 * under `noreply`, and `out_errstring`, always sent).
 *
 * @example Usage
 * ```ts
 * import { CommandContext } from "../command_context.ts";
 * import { ConnectionState } from "../connection_state.ts";
 * import { TextCall } from "./text_call.ts";
 * import assert from "node:assert/strict";
 *
 * const connection = new ConnectionState({ id: 1, context: new CommandContext() });
 * const out = connection.begin();
 * const call = new TextCall({ kind: "text", words: ["delete", "k", "noreply"] }, connection);
 * assert.equal(call.setNoreply(), true);
 * call.reply("NOT_FOUND");
 * call.replyAlways("CLIENT_ERROR oops");
 * assert.equal(out.length, 1);
 * ```
 */
export class TextCall {
  readonly req: TextRequest;
  readonly connection: ConnectionState;
  /** memcached's `c->noreply`: replies through {@linkcode TextCall.reply} are dropped. */
  noreply = false;

  constructor(req: TextRequest, connection: ConnectionState) {
    this.req = req;
    this.connection = connection;
  }

  /** The command line's words. */
  get words(): string[] {
    return this.req.words;
  }

  /** memcached's token count: the words (at most 23 are split off) plus the terminal token. */
  get tokenCount(): number {
    return Math.min(this.req.words.length, MAX_WORDS) + 1;
  }

  /** `noreply` as memcached's `set_noreply_maybe`: the last token says so. */
  setNoreply(): boolean {
    this.noreply = this.req.words[this.tokenCount - 2] === "noreply";
    return this.noreply;
  }

  /** Sends one reply line, unless `noreply` (memcached's `out_string`). */
  reply(line: string): void {
    if (!this.noreply) this.send({ kind: "text", parts: [line + "\r\n"] });
  }

  /** Sends one reply line whatever `noreply` says (memcached's `out_errstring`). */
  replyAlways(line: string): void {
    this.send({ kind: "text", parts: [line + "\r\n"] });
  }

  /** Sends a reply as it is. */
  send(res: TextResponse): void {
    this.connection.reply(res);
  }
}
