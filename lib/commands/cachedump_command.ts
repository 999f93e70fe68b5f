import { ByteArena } from "../byte_arena.ts";
import { bytesToString } from "../bytes.ts";
import type { Command } from "../command_context.ts";

/** memcached's `MAX_NUMBER_OF_SLAB_CLASSES`: class ids must be below it. */
const CLASS_LIMIT = 64;

/** memcached stops a cachedump at 2 MiB of text. */
const DUMP_LIMIT = 2 * 1024 * 1024;

/** Arguments of {@linkcode cachedumpCommand}. */
export interface CachedumpArgs {
  /** Slab class. */
  classId: number;
  /** Items to list at most; 0 = all (up to 2 MiB of text). */
  limit: number;
}

/** The listing, or why there is none. */
export type CachedumpResult = { status: "ok"; text: string } | { status: "bad_class" };

/**
 * `stats cachedump CLASS LIMIT`: the items of one slab class, most recently
 * used first, one `ITEM key [N b; T s]` line each (`N` value bytes, `T` the
 * Unix time it expires, 0 for never), then `END`, as memcached lists its
 * COLD LRU. (Whether `-X` allows it is checked first, by the text protocol,
 * in memcached's order.)
 *
 * @example Usage
 * ```ts
 * import { CommandContext } from "../command_context.ts";
 * import { cachedumpCommand } from "./cachedump_command.ts";
 * import assert from "node:assert/strict";
 *
 * const ctx = new CommandContext();
 * ctx.store.set(new TextEncoder().encode("k"), new Uint8Array(3), { now: ctx.now() });
 * const result = ctx.run(cachedumpCommand, { classId: 1, limit: 0 });
 * assert.ok(result.status === "ok" && result.text === "ITEM k [3 b; 0 s]\r\nEND\r\n");
 * ```
 */
export const cachedumpCommand: Command<CachedumpArgs, CachedumpResult> = {
  name: "stats",
  access: "read",
  run(ctx, { classId, limit }) {
    if (classId >= CLASS_LIMIT) return { status: "bad_class" };
    const slabs = ctx.store.slabStats;
    let text = "";
    let shown = 0;
    const items = ctx.store.entries({
      now: ctx.now(),
      into: new ByteArena(),
      newestFirst: true,
      keysOnly: true,
    });
    for (const [key, item] of items) {
      if (limit !== 0 && shown >= limit) break;
      if (slabs.classOf(item) !== classId) continue;
      const name = bytesToString(key, 0, key.length);
      const line = `ITEM ${name} [${item.valueLength} b; ${item.exptime} s]\r\n`;
      if (text.length + line.length + 6 > DUMP_LIMIT) break;
      text += line;
      shown++;
    }
    return { status: "ok", text: text + "END\r\n" };
  },
};
