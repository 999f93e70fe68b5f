import type { Command, CommandContext } from "../command_context.ts";
import { connsReport } from "../reports/conns_report.ts";
import { generalReport } from "../reports/general_report.ts";
import { itemsReport } from "../reports/items_report.ts";
import { settingsReport } from "../reports/settings_report.ts";
import { slabsReport } from "../reports/slabs_report.ts";
import type { StatLine } from "../reports/stat_line.ts";

/** Arguments of {@linkcode statsCommand}. */
export interface StatsArgs {
  /** `""` for the general stats, else the group (`settings`, `items`, …, `reset`). */
  group: string;
  /** The connection asking (`stats conns` shows it as `conn_parse_cmd`). @default {0} */
  connectionId?: number;
}

/** The lines of the group, or `"unknown"` for a group that does not exist. */
export type StatsResult = { status: "ok"; lines: StatLine[] } | { status: "unknown" };

const UNKNOWN: StatsResult = { status: "unknown" };

/**
 * `stats` and `stats <group>` (text `stats`, binary STAT): the group's lines
 * in memcached's order. `reset` clears every counter memcached's clears
 * (command, connection, item and per-class counters, `stats detail`), keeps
 * what is held (items, bytes, open connections), and has no lines.
 *
 * @example Usage
 * ```ts
 * import { CommandContext } from "../command_context.ts";
 * import { statsCommand } from "./stats_command.ts";
 * import assert from "node:assert/strict";
 *
 * const ctx = new CommandContext();
 * const result = ctx.run(statsCommand, { group: "settings" });
 * assert.ok(result.status === "ok" && result.lines[0][0] === "maxbytes");
 * assert.equal(ctx.run(statsCommand, { group: "nope" }).status, "unknown");
 * ```
 */
export const statsCommand: Command<StatsArgs, StatsResult> = {
  name: "stats",
  // `reset` clears counters, not items.
  access: "read",
  run(ctx, args) {
    const lines = report(ctx, args);
    return lines === undefined ? UNKNOWN : { status: "ok", lines };
  },
};

function report(ctx: CommandContext, args: StatsArgs): StatLine[] | undefined {
  switch (args.group) {
    case "":
      return generalReport(ctx);
    case "settings":
      return settingsReport(ctx);
    case "items":
      return itemsReport(ctx);
    case "slabs":
      return slabsReport(ctx);
    case "sizes":
      return [["sizes_status", "disabled"]];
    case "conns":
      return connsReport(ctx, args.connectionId ?? 0);
    case "reset":
      ctx.stats.reset();
      ctx.store.resetCounters();
      ctx.store.slabStats.reset();
      ctx.detail.reset();
      return [];
    default:
      return undefined;
  }
}
