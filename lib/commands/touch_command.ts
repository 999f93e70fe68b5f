import type { Command } from "../command_context.ts";
import type { Item } from "../store.ts";
import { shapeOf } from "./shape_of.ts";

/** Arguments of {@linkcode touchCommand}. */
export interface TouchArgs {
  key: string;
  /** The new protocol expiry (0 never, up to 30 days relative, else Unix time). */
  exptime: number;
  /**
   * Counts as a get in `stats detail`, as memcached's `gat` and binary
   * TOUCH/GAT do (its text `touch` does not). @default {false}
   */
  detailGet?: boolean;
}

/** How a touch ends: the touched item, or a miss. */
export type TouchResult = { status: "hit"; item: Item } | { status: "miss" };

const MISS: TouchResult = { status: "miss" };

/**
 * Sets one item's expiry and fetches it, counting `cmd_touch` and
 * `touch_hits`/`touch_misses` (text `touch`, and `gat`/`gats` per key;
 * binary TOUCH, GAT, GATK and their quiet forms).
 *
 * @example Usage
 * ```ts
 * import { CommandContext } from "../command_context.ts";
 * import { touchCommand } from "./touch_command.ts";
 * import assert from "node:assert/strict";
 *
 * const ctx = new CommandContext();
 * ctx.store.store({ mode: "set", key: "k", value: new Uint8Array(1) });
 * assert.equal(ctx.run(touchCommand, { key: "k", exptime: 60 }).status, "hit");
 * assert.equal(ctx.stats.c.touch_hits, 1);
 * ```
 */
export const touchCommand: Command<TouchArgs, TouchResult> = {
  name: "touch",
  access: "write",
  run(ctx, args) {
    const { key } = args;
    const item = ctx.store.touch(key, args.exptime);
    const c = ctx.stats.c;
    c.cmd_touch++;
    if (args.detailGet && ctx.detail.enabled) ctx.detail.recordGet(key, item !== undefined);
    if (item === undefined) {
      c.touch_misses++;
      return MISS;
    }
    c.touch_hits++;
    ctx.store.slabStats.countFor("touch_hits", shapeOf(key, item));
    return { status: "hit", item };
  },
};
