import type { Command } from "../command_context.ts";
import type { Item } from "../store/item.ts";
import type { ValueSink } from "../store/store.ts";

/** Arguments of {@linkcode touchCommand}. */
export interface TouchArgs {
  /** The key's bytes. */
  key: Uint8Array;
  /** The new protocol expiry (0 never, up to 30 days relative, else Unix time). */
  exptime: number;
  /** Where the value is copied (get-and-touch); without it the item comes without its value. */
  into?: ValueSink;
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
 * binary TOUCH, GAT, GATK and their quiet forms). A read share is enough:
 * the expiry is one 32-bit field, changed atomically.
 *
 * @example Usage
 * ```ts
 * import { CommandContext } from "../command_context.ts";
 * import { touchCommand } from "./touch_command.ts";
 * import assert from "node:assert/strict";
 *
 * const ctx = new CommandContext();
 * const key = new TextEncoder().encode("k");
 * ctx.store.set(key, new Uint8Array(1), { now: ctx.now() });
 * assert.equal(ctx.run(touchCommand, { key, exptime: 60 }).status, "hit");
 * assert.equal(ctx.stats.c.touch_hits, 1);
 * ```
 */
export const touchCommand: Command<TouchArgs, TouchResult> = {
  name: "touch",
  access: "read",
  run(ctx, args) {
    const { key } = args;
    const found = ctx.store.touch(key, { now: ctx.now(), exptime: args.exptime, into: args.into });
    const c = ctx.stats.c;
    c.cmd_touch++;
    if (args.detailGet && ctx.detail.enabled) ctx.detail.recordGet(key, typeof found !== "string");
    if (typeof found === "string") {
      c.touch_misses++;
      return MISS;
    }
    c.touch_hits++;
    ctx.store.slabStats.countFor("touch_hits", found);
    return { status: "hit", item: found };
  },
};
