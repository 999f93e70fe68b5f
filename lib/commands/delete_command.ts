import type { Command } from "../command_context.ts";
import { shapeOf } from "./shape_of.ts";

/** Arguments of {@linkcode deleteCommand}. */
export interface DeleteArgs {
  key: string;
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
 * assert.equal(ctx.run(deleteCommand, { key: "k" }).status, "not_found");
 * assert.equal(ctx.stats.c.delete_misses, 1);
 * ```
 */
export const deleteCommand: Command<DeleteArgs, DeleteResult> = {
  name: "delete",
  access: "write",
  run(ctx, args) {
    const { store } = ctx;
    const { key } = args;
    if (ctx.detail.enabled) ctx.detail.recordDelete(key);
    const item = store.peek(key);
    const status = item === undefined ? "not_found" : store.delete(key, args.cas ?? 0);
    if (status === "deleted") {
      ctx.stats.c.delete_hits++;
      store.slabStats.countFor("delete_hits", shapeOf(key, item!));
    } else if (status === "not_found") ctx.stats.c.delete_misses++;
    return RESULTS[status];
  },
};
