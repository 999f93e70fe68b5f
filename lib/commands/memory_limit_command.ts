import type { Command } from "../command_context.ts";

/** Arguments of {@linkcode memoryLimitCommand}. */
export interface MemoryLimitArgs {
  /** The new item memory limit, in bytes. */
  bytes: number;
}

const OK = { status: "ok" } as const;

/**
 * Changes the item memory limit, evicting down to it (text `cache_memlimit`).
 *
 * @example Usage
 * ```ts
 * import { CommandContext } from "../command_context.ts";
 * import { memoryLimitCommand } from "./memory_limit_command.ts";
 * import assert from "node:assert/strict";
 *
 * const ctx = new CommandContext();
 * ctx.run(memoryLimitCommand, { bytes: 8 * 1024 * 1024 });
 * assert.equal(ctx.store.memoryLimit, 8 * 1024 * 1024);
 * ```
 */
export const memoryLimitCommand: Command<MemoryLimitArgs, { status: "ok" }> = {
  name: "cache_memlimit",
  access: "write",
  run(ctx, args) {
    ctx.store.memoryLimit = args.bytes;
    return OK;
  },
};
