import type { Command } from "../command_context.ts";
import type { Item } from "../store.ts";
import { arithmeticCommand } from "./arithmetic_command.ts";
import type { MetaFlags } from "./meta_flags.ts";

/** Arguments of {@linkcode metaArithmeticCommand}. */
export interface MetaArithmeticArgs {
  /** The flags of the `ma` line. */
  meta: MetaFlags;
  /** What its `M` mode asks for. */
  op: "incr" | "decr";
}

/** How `ma` ends; `"opaque_too_long"` stops it at the `O` flag's place. */
export type MetaArithmeticResult =
  | {
    status: "ok";
    value: bigint;
    /** The counter (its `exptime` after `T`/`N`). */
    item: Item;
    /** `N` created it with the initial value (`J`). */
    created: boolean;
    /** Seconds to live as of the `t` flag's place (-1: never expires). */
    ttl: number;
  }
  | {
    status:
      | "not_found"
      | "non_numeric"
      | "exists"
      | "no_memory"
      | "not_created"
      | "opaque_too_long";
  };

const OPAQUE_TOO_LONG: MetaArithmeticResult = { status: "opaque_too_long" };
const NOT_CREATED: MetaArithmeticResult = { status: "not_created" };

/**
 * Meta arithmetic, as memcached 1.6.18's `ma`: {@linkcode arithmeticCommand}
 * with `C` as the CAS and `N` creating a missing counter at `J` (no expiry
 * until `N`'s applies), then `T` and `N` set the expiry in the order given.
 *
 * @example Usage
 * ```ts
 * import { CommandContext } from "../command_context.ts";
 * import { metaArithmeticCommand } from "./meta_arithmetic_command.ts";
 * import { parseMetaFlags } from "../text/parse_meta_flags.ts";
 * import assert from "node:assert/strict";
 *
 * const ctx = new CommandContext();
 * const parsed = parseMetaFlags(["ma", "n", "N0", "J5"], 2);
 * assert.ok(parsed.ok);
 * const result = ctx.run(metaArithmeticCommand, { meta: parsed.flags, op: "incr" });
 * assert.ok(result.status === "ok" && result.created && result.value === 5n);
 * ```
 */
export const metaArithmeticCommand: Command<MetaArithmeticArgs, MetaArithmeticResult> = {
  name: "ma",
  access: "write",
  run(ctx, { meta: f, op }) {
    const { store } = ctx;
    const result = arithmeticCommand.run(ctx, {
      key: f.key,
      op,
      delta: f.delta,
      cas: Number(f.reqCas),
      create: f.vivify ? { initial: f.initial, exptime: 0 } : undefined,
    });
    if (result.status === "not_created") return NOT_CREATED;
    if (result.status !== "ok") return result;
    const { item, created } = result;
    const now = store.now();
    let ttl = -1;
    for (const flag of f.order) {
      switch (flag) {
        case "T":
          store.setExpiry(item, store.expiry(f.exptime));
          break;
        case "N":
          if (created) store.setExpiry(item, store.expiry(f.autovivExptime));
          break;
        case "t":
          ttl = item.exptime === 0 ? -1 : (item.exptime - now) >>> 0;
          break;
        case "O":
          if (f.opaqueTooLong) return OPAQUE_TOO_LONG;
          break;
      }
    }
    return { status: "ok", value: result.value, item, created, ttl };
  },
};
