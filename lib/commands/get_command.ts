import type { Command } from "../command_context.ts";
import type { Item } from "../store.ts";
import { shapeOf } from "./shape_of.ts";

/** Arguments of {@linkcode getCommand}. */
export interface GetArgs {
  key: string;
}

/** How a get ends: the item, or a miss. */
export type GetResult = { status: "hit"; item: Item } | { status: "miss" };

const MISS: GetResult = { status: "miss" };

/**
 * Looks one key up, marking the item fetched and bumping it in the LRU,
 * counting `cmd_get` and `get_hits`/`get_misses` (text `get`/`gets`, one
 * run per key; binary GET, GETK and their quiet forms).
 *
 * @example Usage
 * ```ts
 * import { CommandContext } from "../command_context.ts";
 * import { getCommand } from "./get_command.ts";
 * import assert from "node:assert/strict";
 *
 * const ctx = new CommandContext();
 * ctx.store.store({ mode: "set", key: "k", value: new Uint8Array([0x76]) });
 * const result = ctx.run(getCommand, { key: "k" });
 * assert.ok(result.status === "hit" && result.item.value[0] === 0x76);
 * assert.equal(ctx.stats.c.get_hits, 1);
 * ```
 */
export const getCommand: Command<GetArgs, GetResult> = {
  name: "get",
  access: "read",
  run(ctx, args) {
    const { key } = args;
    const item = ctx.store.get(key);
    const c = ctx.stats.c;
    c.cmd_get++;
    if (ctx.detail.enabled) ctx.detail.recordGet(key, item !== undefined);
    if (item === undefined) {
      c.get_misses++;
      return MISS;
    }
    c.get_hits++;
    ctx.store.slabStats.countFor("get_hits", shapeOf(key, item));
    return { status: "hit", item };
  },
};
