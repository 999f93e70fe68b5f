import type { Command } from "../command_context.ts";

/** Arguments of {@linkcode metaDebugCommand}. */
export interface MetaDebugArgs {
  /** The key (already decoded when given in base64). */
  key: string;
}

/** What `me` shows of an item, or a miss. */
export type MetaDebugResult =
  | {
    status: "hit";
    /** Seconds since it expired (negative: until it expires), -1 when it never does. */
    exp: number;
    /** Seconds since it was last stored or bumped. */
    lastAccess: number;
    cas: number;
    fetched: boolean;
    /** memcached's slab class for its size. */
    slabClass: number;
    /** Bytes it is charged, as memcached sizes it. */
    size: number;
    /** Its key is shown in base64. */
    binaryKey: boolean;
  }
  | { status: "miss" };

const MISS: MetaDebugResult = { status: "miss" };

/**
 * Meta debug (`me`): what memcached knows of an item, without fetching it;
 * counts `cmd_meta`.
 *
 * @example Usage
 * ```ts
 * import { CommandContext } from "../command_context.ts";
 * import { metaDebugCommand } from "./meta_debug_command.ts";
 * import assert from "node:assert/strict";
 *
 * const ctx = new CommandContext();
 * ctx.store.store({ mode: "set", key: "k", value: new Uint8Array(2) });
 * const result = ctx.run(metaDebugCommand, { key: "k" });
 * assert.ok(result.status === "hit" && result.exp === -1 && !result.fetched);
 * ```
 */
export const metaDebugCommand: Command<MetaDebugArgs, MetaDebugResult> = {
  name: "me",
  access: "read",
  run(ctx, { key }) {
    const { store } = ctx;
    const item = store.peek(key);
    ctx.stats.c.cmd_meta++;
    if (item === undefined) return MISS;
    const now = store.now();
    const size = store.itemSize({ key, valueLength: item.value.length, flags: item.flags });
    return {
      status: "hit",
      exp: item.exptime === 0 ? -1 : now - item.exptime,
      lastAccess: now - item.time,
      cas: item.cas,
      fetched: store.wasFetched(item),
      slabClass: slabClass(size, store.maxItemSize),
      size,
      binaryKey: item.binaryKey,
    };
  },
};

/** memcached's slab class sizes for the default `-n 48 -f 1.25`, up to half the item size limit. */
function slabClass(size: number, maxItemSize: number): number {
  const chunkMax = Math.floor(maxItemSize / 2);
  let s = 96;
  let id = 1;
  while (true) {
    if (s >= chunkMax / 1.25) return id;
    if (s % 8) s += 8 - (s % 8);
    if (size <= s) return id;
    s = Math.floor(s * 1.25);
    id++;
  }
}
