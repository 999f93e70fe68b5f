import type { Command } from "../command_context.ts";

/** Arguments of {@linkcode metaDeleteCommand} (meta `md`). */
export interface MetaDeleteArgs {
  /** The key's bytes. */
  key: Uint8Array;
  /** `C`: act only if the item has this CAS (0 included). */
  cas?: number;
  /** `I`: mark the item stale (new CAS, win token cleared) instead of deleting it. */
  invalidate?: boolean;
  /** `T` with `I`: the stale item's new protocol expiry. */
  exptime?: number;
}

/** How `md` ends: `"deleted"` also stands for invalidated. */
export interface MetaDeleteResult {
  status: "deleted" | "not_found" | "exists";
}

const RESULTS = {
  deleted: { status: "deleted" },
  not_found: { status: "not_found" },
  exists: { status: "exists" },
} as const satisfies Record<MetaDeleteResult["status"], MetaDeleteResult>;

/**
 * Meta delete, as memcached 1.6.18's `md`: a missing item or a CAS that does
 * not match counts in `delete_misses`; a delete counts in `delete_hits`; an
 * invalidation (`I`) counts in neither.
 *
 * @example Usage
 * ```ts
 * import { CommandContext } from "../command_context.ts";
 * import { metaDeleteCommand } from "./meta_delete_command.ts";
 * import assert from "node:assert/strict";
 *
 * const ctx = new CommandContext();
 * const key = new TextEncoder().encode("k");
 * ctx.store.set(key, new Uint8Array(1), { now: ctx.now() });
 * assert.equal(ctx.run(metaDeleteCommand, { key, invalidate: true }).status, "deleted");
 * const item = ctx.store.get(key, { now: ctx.now(), peek: true });
 * assert.ok(typeof item !== "string" && item.stale);
 * ```
 */
export const metaDeleteCommand: Command<MetaDeleteArgs, MetaDeleteResult> = {
  name: "md",
  access: "write",
  run(ctx, args) {
    const { store } = ctx;
    const c = ctx.stats.c;
    const now = ctx.now();
    const item = store.get(args.key, { now, peek: true });
    if (typeof item === "string") {
      c.delete_misses++;
      return RESULTS.not_found;
    }
    if (args.cas !== undefined && item.cas !== args.cas) {
      c.delete_misses++;
      return RESULTS.exists;
    }
    if (args.invalidate) {
      if (args.exptime !== undefined) store.setExpiry(item, store.expiry(args.exptime, now));
      store.setMarks(item, { stale: true, tokenSent: false });
      store.renewCas(item);
    } else {
      c.delete_hits++;
      store.slabStats.countFor("delete_hits", item);
      store.delete(args.key, { now });
    }
    return RESULTS.deleted;
  },
};
