import type { Command } from "../command_context.ts";
import type { Item } from "../store/item.ts";

/** Arguments of {@linkcode deleteCommand}. */
export interface DeleteArgs {
  /** The key's bytes. */
  key: Uint8Array;
  /** Delete only this version (binary); 0 for any. @default {0} */
  cas?: number;
}

/** How a delete ends. */
export interface DeleteResult {
  status: "deleted" | "not_found" | "exists";
}

const RESULTS = {
  deleted: { status: "deleted" },
  not_found: { status: "not_found" },
  exists: { status: "exists" },
} as const satisfies Record<DeleteResult["status"], DeleteResult>;

/**
 * Deletes one item (text `delete`, binary DELETE), counting `delete_hits`
 * and `delete_misses`; a CAS that does not match counts as neither.
 *
 * @example Usage
 * ```ts
 * import { CommandContext } from "../command_context.ts";
 * import { deleteCommand } from "./delete_command.ts";
 * import assert from "node:assert/strict";
 *
 * const ctx = new CommandContext();
 * const key = new TextEncoder().encode("k");
 * assert.equal(ctx.run(deleteCommand, { key }).status, "not_found");
 * assert.equal(ctx.stats.c.delete_misses, 1);
 * ```
 */
export const deleteCommand: Command<DeleteArgs, DeleteResult> = {
  name: "delete",
  access: "write",
  run(ctx, args) {
    const { store } = ctx;
    const { key } = args;
    const now = ctx.now();
    if (ctx.detail.enabled) ctx.detail.recordDelete(key);
    // A delete counts in the slab class of the item it deletes.
    const item = store.get(key, { now, peek: true });
    const status = typeof item === "string"
      ? "not_found"
      : store.delete(key, { now, cas: args.cas ?? 0 });
    if (status === "deleted") {
      ctx.stats.c.delete_hits++;
      store.slabStats.countFor("delete_hits", item as Item);
    } else if (status === "not_found") ctx.stats.c.delete_misses++;
    return RESULTS[status];
  },
};
