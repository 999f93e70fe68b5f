import type { Command } from "../command_context.ts";
import { EMPTY } from "../bytes.ts";
import type { Item } from "../store.ts";
import type { MetaFlags } from "./meta_flags.ts";
import { shapeOf } from "./shape_of.ts";

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
 * when a flag needs the item first, bumping after), creates it empty for
 * `N`, applies `T`, `N` and `R` in the order given, hands out the recache
 * win (`W`) to the first client that sees a stale or soon-expiring item, and
 * counts the command as a touch (`T`) or a get.
 *
 * @example Usage
 * ```ts
 * import { CommandContext } from "../command_context.ts";
 * import { metaGetCommand } from "./meta_get_command.ts";
 * import { parseMetaFlags } from "../text/parse_meta_flags.ts";
 * import assert from "node:assert/strict";
 *
 * const ctx = new CommandContext();
 * const parsed = parseMetaFlags(["mg", "k", "N30", "t"], 2);
 * assert.ok(parsed.ok);
 * const result = ctx.run(metaGetCommand, parsed.flags);
 * assert.ok(result.status === "hit" && result.won && result.ttl === 30);
 * ```
 */
export const metaGetCommand: Command<MetaFlags, MetaGetResult> = {
  name: "mg",
  // It may create the item, set its expiry and hand out the recache win.
  access: "write",
  run(ctx, f) {
    const { store } = ctx;
    const c = ctx.stats.c;
    const key = f.key;
    let item = f.locked || f.noUpdate ? store.peek(key) : store.get(key);
    let created = false;
    if (item === undefined && f.vivify) {
      item = store.store({ mode: "add", key, value: EMPTY }).item;
      created = item !== undefined;
    }
    if (item === undefined) {
      c.cmd_get++;
      c.get_misses++;
      return MISS;
    }
    const now = store.now();
    let won = false;
    let ttlSet = false;
    let ttl = -1;
    for (const flag of f.order) {
      switch (flag) {
        case "T":
          ttlSet = true;
          store.setExpiry(item, store.expiry(f.exptime));
          break;
        case "N":
          if (created) {
            store.setExpiry(item, store.expiry(f.autovivExptime));
            won = true;
          }
          break;
        case "R":
          if (
            !item.tokenSent && !created && item.exptime !== 0 &&
            item.exptime < store.expiry(f.recacheTime)
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
    const hit: MetaGetHit = {
      status: "hit",
      item,
      ttl,
      age: (now - item.time) >>> 0,
      fetched: store.wasFetched(item),
      binaryKey: item.binaryKey,
      tokenSent,
      stale,
      won,
    };
    if (won) item.tokenSent = true;
    if (f.locked && !f.noUpdate) store.get(key); // the delayed LRU bump
    if (ttlSet) {
      c.cmd_touch++;
      c.touch_hits++;
    } else {
      c.cmd_get++;
      c.get_hits++;
    }
    store.slabStats.countFor(ttlSet ? "touch_hits" : "get_hits", shapeOf(key, item));
    return hit;
  },
};
