import type { Command } from "../command_context.ts";

/** Arguments of {@linkcode detailCommand}. */
export interface DetailArgs {
  action: "on" | "off" | "dump";
}

/** `dump` carries the listing (`PREFIX …` lines, then `END\r\n`). */
export type DetailResult = { status: "ok"; dump?: string };

const OK: DetailResult = { status: "ok" };

/**
 * `stats detail on|off|dump` (text, and binary STAT `detail on` …): turns
 * per-prefix counting on or off, or lists the counts.
 *
 * @example Usage
 * ```ts
 * import { CommandContext } from "../command_context.ts";
 * import { detailCommand } from "./detail_command.ts";
 * import assert from "node:assert/strict";
 *
 * const ctx = new CommandContext();
 * ctx.run(detailCommand, { action: "on" });
 * ctx.detail.recordSet(new TextEncoder().encode("user:1"));
 * const result = ctx.run(detailCommand, { action: "dump" });
 * assert.equal(result.dump, "PREFIX user get 0 hit 0 set 1 del 0\r\nEND\r\n");
 * ```
 */
export const detailCommand: Command<DetailArgs, DetailResult> = {
  name: "stats",
  access: "none",
  run(ctx, { action }) {
    if (action === "dump") return { status: "ok", dump: ctx.detail.dump() };
    ctx.detail.enabled = action === "on";
    return OK;
  },
};
