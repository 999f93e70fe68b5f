import type { Command, CommandContext } from "../command_context.ts";
import type { Item } from "../store/item.ts";
import type { SetResult, StoreMode } from "../store/store.ts";

/** Arguments of {@linkcode storeCommand}. */
export interface StoreArgs {
  /** The storage command, with any CAS rule the protocol applies already folded in. */
  mode: StoreMode;
  /** The key's bytes (may be a view of a request: the store copies them). */
  key: Uint8Array;
  /** The data; `undefined` when it was larger than any item and so never read. */
  value: Uint8Array | undefined;
  flags: number;
  /** Protocol expiry. */
  exptime: number;
  /** The CAS the item must have (0: none). */
  cas: number;
  /**
   * The data block did not end in `\r\n` (text, meta): the command counts as
   * a set, and nothing is stored.
   */
  badChunk?: boolean;
  /**
   * A value too large for any item also drops the key's current item (text
   * `set`, binary SET even with a CAS, every meta `ms`).
   */
  unlinkIfTooLarge?: boolean;
  /**
   * Count a value too large for any item in `store_too_large`, and memory
   * that cannot be had in `store_no_memory`, as memcached's text and meta
   * protocols do (its binary protocol does not). @default {true}
   */
  countFailures?: boolean;
  /**
   * Meta `ms` with `I` in `"cas"` mode: a CAS older than the item's still
   * stores the value, marked stale, keeping the old expiry and win token.
   */
  invalidate?: boolean;
  /** Meta `ms` with `b`: the stored item is shown with its key in base64. */
  binaryKey?: boolean;
  /**
   * Counts as a set in `stats detail`, stored or not, as memcached's text
   * and binary storage commands do (its meta `ms` does not). @default {false}
   */
  detailSet?: boolean;
}

/** How a storage command ends; `item` is the new item (without its value) when stored. */
export interface StoreCommandResult {
  status: SetResult["status"] | "bad_chunk";
  item?: Item;
}

const TOO_LARGE: StoreCommandResult = { status: "too_large" };
const BAD_CHUNK: StoreCommandResult = { status: "bad_chunk" };

/**
 * Runs set, add, replace, append, prepend or cas for any protocol, with
 * memcached's order and counters: a value too large for any item fails
 * before it counts as a set (`store_too_large`); then `cmd_set`; then a bad
 * data chunk fails; then the store, counting `cas_hits`, `cas_badval` and
 * `cas_misses` for `"cas"` mode and `store_no_memory` when memory runs out.
 *
 * @example Usage
 * ```ts
 * import { CommandContext } from "../command_context.ts";
 * import { storeCommand } from "./store_command.ts";
 * import assert from "node:assert/strict";
 *
 * const ctx = new CommandContext();
 * const value = new TextEncoder().encode("hello");
 * const key = new TextEncoder().encode("k");
 * const args = { mode: "add" as const, key, value, flags: 0, exptime: 0, cas: 0 };
 * assert.equal(ctx.run(storeCommand, args).status, "stored");
 * assert.equal(ctx.run(storeCommand, args).status, "not_stored");
 * assert.equal(ctx.stats.c.cmd_set, 2);
 * ```
 */
export const storeCommand: Command<StoreArgs, StoreCommandResult> = {
  name: "store",
  access: "write",
  run(ctx, args) {
    const { store } = ctx;
    const c = ctx.stats.c;
    const { mode, key, value } = args;
    const now = ctx.now();
    const countFailures = args.countFailures ?? true;
    if (args.detailSet && ctx.detail.enabled) ctx.detail.recordSet(key);
    if (
      value === undefined ||
      store.itemSize({ keyLength: key.length, valueLength: value.length, flags: args.flags }) >
        store.maxItemSize
    ) {
      if (countFailures) c.store_too_large++;
      if (args.unlinkIfTooLarge) store.delete(key, { now });
      return TOO_LARGE;
    }
    c.cmd_set++;
    const slabs = store.slabStats;
    slabs.countFor("cmd_set", {
      keyLength: key.length,
      valueLength: value.length,
      flags: args.flags,
    });
    if (args.badChunk) return BAD_CHUNK;
    // CAS hits and mismatches count in the class of the item they were checked against.
    const found = mode === "cas" ? store.get(key, { now, peek: true }) : undefined;
    const old = typeof found === "string" ? undefined : found;
    const result: StoreCommandResult = mode === "cas" && args.invalidate
      ? storeInvalidating(ctx, { ...args, value })
      : store.set(key, value, {
        now,
        mode,
        flags: args.flags,
        exptime: args.exptime,
        cas: args.cas,
      });
    switch (result.status) {
      case "stored":
        if (mode === "cas") {
          c.cas_hits++;
          if (old) slabs.countFor("cas_hits", old);
        }
        // Append and prepend build a fresh item, which does not keep the binary-key mark.
        if (args.binaryKey && mode !== "append" && mode !== "prepend") {
          store.setMarks(result.item!, { binaryKey: true });
        }
        break;
      case "exists":
        if (mode === "cas") {
          c.cas_badval++;
          if (old) slabs.countFor("cas_badval", old);
        }
        break;
      case "not_found":
        if (mode === "cas") c.cas_misses++;
        break;
      case "no_memory":
        if (countFailures) c.store_no_memory++;
        break;
    }
    return result;
  },
};

/** memcached's stale-CAS rule for `ms` with `I`: an older CAS stores a stale value. */
function storeInvalidating(
  ctx: CommandContext,
  args: StoreArgs & { value: Uint8Array },
): SetResult {
  const { store } = ctx;
  const { key, value, cas, flags } = args;
  const now = ctx.now();
  const old = store.get(key, { now, peek: true });
  if (typeof old === "string" || cas === 0 || old.cas === cas || cas > old.cas) {
    return store.set(key, value, { now, mode: "cas", flags, exptime: args.exptime, cas });
  }
  const { exptime, tokenSent } = old;
  const result = store.set(key, value, { now, mode: "set", flags });
  if (result.status === "stored") {
    store.setExpiry(result.item, exptime);
    store.setMarks(result.item, { stale: true, tokenSent });
  }
  return result;
}
