import type { Command, CommandContext } from "../command_context.ts";
import { EMPTY } from "../bytes.ts";
import type { Item } from "../store/item.ts";
import type { ValueSink } from "../store/store.ts";
import type { MetaFlags } from "./meta_flags.ts";

/** Arguments of the meta get commands: the flags, and where a value is copied. */
export interface MetaGetArgs {
  meta: MetaFlags;
  /** Where the value is copied (`v`); without it the item comes without its value. */
  into?: ValueSink;
}

/** What `mg` found, for the protocol to spell. */
export interface MetaGetHit {
  status: "hit";
  /** The item (its `exptime` after `T`/`N`). */
  item: Item;
  /** Seconds to live as of the `t` flag's place (-1: never expires). */
  ttl: number;
  /** Seconds since the item was last stored or bumped (`l`). */
  age: number;
  /** It had been fetched before (`h`). */
  fetched: boolean;
  /** Its key is shown in base64 (`k` of an item stored with `b`). */
  binaryKey: boolean;
  /** A client already got the win for recaching it (`Z`). */
  tokenSent: boolean;
  /** It is stale (`X`). */
  stale: boolean;
  /** This client wins the right to recache it (`W`). */
  won: boolean;
}

/** How `mg` ends; `"opaque_too_long"` stops it at the `O` flag's place. */
export type MetaGetResult = MetaGetHit | { status: "miss" } | { status: "opaque_too_long" };

const MISS: MetaGetResult = { status: "miss" };
const OPAQUE_TOO_LONG: MetaGetResult = { status: "opaque_too_long" };

/**
 * Meta get, as memcached 1.6.18's `mg`: looks the item up (without a bump
 * when a flag needs the item first, bumping after), applies `T` and `R` in
 * the order given, hands out the recache win (`W`) to the first client that
 * sees a stale or soon-expiring item, and counts the command as a touch
 * (`T`) or a get. A read share is enough: the expiry and the win token are
 * changed atomically. With `N`, use {@linkcode metaGetOrCreateCommand}.
 *
 * @example Usage
 * ```ts
 * import { CommandContext } from "../command_context.ts";
 * import { metaGetCommand } from "./meta_get_command.ts";
 * import { parseMetaFlags } from "../text/parse_meta_flags.ts";
 * import assert from "node:assert/strict";
 *
 * const ctx = new CommandContext();
 * const keys = [new TextEncoder().encode("k")];
 * const parsed = parseMetaFlags({ words: ["mg", "", "t"], keys }, 2);
 * assert.ok(parsed.ok);
 * assert.equal(ctx.run(metaGetCommand, { meta: parsed.flags }).status, "miss");
 * ```
 */
export const metaGetCommand: Command<MetaGetArgs, MetaGetResult> = {
  name: "mg",
  access: "read",
  run: metaGet,
};

/**
 * Meta get with `N` (autovivify): as {@linkcode metaGetCommand}, and a
 * missing item is created empty with `N`'s expiry, its creator winning the
 * right to fill it. Creating needs the store lock for writing.
 *
 * @example Usage
 * ```ts
 * import { CommandContext } from "../command_context.ts";
 * import { metaGetOrCreateCommand } from "./meta_get_command.ts";
 * import { parseMetaFlags } from "../text/parse_meta_flags.ts";
 * import assert from "node:assert/strict";
 *
 * const ctx = new CommandContext();
 * const keys = [new TextEncoder().encode("k")];
 * const parsed = parseMetaFlags({ words: ["mg", "", "N30", "t"], keys }, 2);
 * assert.ok(parsed.ok);
 * const result = ctx.run(metaGetOrCreateCommand, { meta: parsed.flags });
 * assert.ok(result.status === "hit" && result.won && result.ttl === 30);
 * ```
 */
export const metaGetOrCreateCommand: Command<MetaGetArgs, MetaGetResult> = {
  name: "mg",
  access: "write",
  run: metaGet,
};

function metaGet(ctx: CommandContext, { meta: f, into }: MetaGetArgs): MetaGetResult {
  const { store } = ctx;
  const c = ctx.stats.c;
  const key = f.key;
  const now = ctx.now();
  let found = store.get(key, { now, into, peek: f.locked || f.noUpdate });
  let created = false;
  if (typeof found === "string" && f.vivify) {
    const result = store.set(key, EMPTY, { now, mode: "add" });
    if (result.status === "stored") {
      found = result.item;
      created = true;
    }
  }
  if (typeof found === "string") {
    c.cmd_get++;
    c.get_misses++;
    return MISS;
  }
  const item = found;
  let won = false;
  let ttlSet = false;
  let ttl = -1;
  for (const flag of f.order) {
    switch (flag) {
      case "T":
        ttlSet = true;
        store.setExpiry(item, store.expiry(f.exptime, now));
        break;
      case "N":
        if (created) {
          store.setExpiry(item, store.expiry(f.autovivExptime, now));
          won = true;
        }
        break;
      case "R":
        if (
          !item.tokenSent && !created && item.exptime !== 0 &&
          item.exptime < store.expiry(f.recacheTime, now)
        ) {
          won = true;
        }
        break;
      case "t":
        ttl = item.exptime === 0 ? -1 : (item.exptime - now) >>> 0;
        break;
      case "O":
        if (f.opaqueTooLong) return OPAQUE_TOO_LONG;
        break;
    }
  }
  const { tokenSent, stale } = item;
  if (stale && !tokenSent) won = true;
  // Two clients may see the same chance at once: the token goes to one.
  if (won) won = store.claimToken(item);
  const hit: MetaGetHit = {
    status: "hit",
    item,
    ttl,
    age: (now - item.time) >>> 0,
    fetched: item.fetched,
    binaryKey: item.binaryKey,
    tokenSent,
    stale,
    won,
  };
  if (f.locked && !f.noUpdate) store.get(key, { now }); // the delayed LRU bump
  if (ttlSet) {
    c.cmd_touch++;
    c.touch_hits++;
  } else {
    c.cmd_get++;
    c.get_hits++;
  }
  store.slabStats.countFor(ttlSet ? "touch_hits" : "get_hits", item);
  return hit;
}
