import type { Command } from "../command_context.ts";
import type { Item } from "../store/item.ts";
import type { ValueSink } from "../store/store.ts";

/** Arguments of {@linkcode getCommand}. */
export interface GetArgs {
  /** The key's bytes (may be a view of a request: the store copies what it keeps). */
  key: Uint8Array;
  /** Where the value is copied; without it the item comes without its value. */
  into?: ValueSink;
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
 * import { ByteArena } from "../byte_arena.ts";
 * import { CommandContext } from "../command_context.ts";
 * import { getCommand } from "./get_command.ts";
 * import assert from "node:assert/strict";
 *
 * const ctx = new CommandContext();
 * const key = new TextEncoder().encode("k");
 * ctx.store.set(key, new Uint8Array([0x76]), { now: ctx.now() });
 * const result = ctx.run(getCommand, { key, into: new ByteArena() });
 * assert.ok(result.status === "hit" && result.item.value[0] === 0x76);
 * assert.equal(ctx.stats.c.get_hits, 1);
 * ```
 */
export const getCommand: Command<GetArgs, GetResult> = {
  name: "get",
  access: "read",
  run(ctx, args) {
    const { key } = args;
    const found = ctx.store.get(key, { now: ctx.now(), into: args.into, check: ctx.check });
    const c = ctx.stats.c;
    c.cmd_get++;
    if (ctx.detail.enabled) ctx.detail.recordGet(key, typeof found !== "string");
    if (typeof found === "string") {
      c.get_misses++;
      return MISS;
    }
    c.get_hits++;
    ctx.store.slabStats.countFor("get_hits", found);
    return { status: "hit", item: found };
  },
};
