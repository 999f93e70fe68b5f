import type { Command } from "../command_context.ts";

/** Arguments of {@linkcode flushCommand}. */
export interface FlushArgs {
  /**
   * Seconds (a protocol expiry) until the flush takes effect, 0 for now;
   * `undefined` when the client's delay did not parse, which memcached
   * counts as a flush and then refuses.
   */
  delay: number | undefined;
}

/** How a flush ends. */
export interface FlushResult {
  status: "ok" | "bad_delay";
}

const OK: FlushResult = { status: "ok" };
const BAD_DELAY: FlushResult = { status: "bad_delay" };

/**
 * Invalidates every item, now or once the delay passes (text `flush_all`,
 * binary FLUSH), counting `cmd_flush`.
 *
 * @example Usage
 * ```ts
 * import { CommandContext } from "../command_context.ts";
 * import { flushCommand } from "./flush_command.ts";
 * import assert from "node:assert/strict";
 *
 * const ctx = new CommandContext();
 * ctx.store.store({ mode: "set", key: "k", value: new Uint8Array(1) });
 * assert.equal(ctx.run(flushCommand, { delay: 0 }).status, "ok");
 * assert.equal(ctx.store.peek("k"), undefined);
 * ```
 */
export const flushCommand: Command<FlushArgs, FlushResult> = {
  name: "flush",
  access: "write",
  run(ctx, args) {
    ctx.stats.c.cmd_flush++;
    if (args.delay === undefined) return BAD_DELAY;
    ctx.store.flush(args.delay > 0 ? args.delay : 0);
    return OK;
  },
};
