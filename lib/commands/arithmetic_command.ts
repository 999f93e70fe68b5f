import type { Command } from "../command_context.ts";
import type { Item } from "../store/item.ts";

/** Arguments of {@linkcode arithmeticCommand}. */
export interface ArithmeticArgs {
  /** The key's bytes. */
  key: Uint8Array;
  op: "incr" | "decr";
  /** Unsigned 64-bit amount. */
  delta: bigint;
  /** The CAS the item must have (0: none). @default {0} */
  cas?: number;
  /**
   * Create a missing key with this value instead of missing (binary's
   * initial value unless the expiry is all ones; meta `ma` with `N`).
   */
  create?: { initial: bigint; exptime: number };
  /**
   * Whether a reply not yet sent still holds item version `cas`: memcached
   * then copies the counter instead of rewriting it in place.
   */
  heldByReply?: (cas: number) => boolean;
}

/** How an incr/decr ends. */
export type ArithmeticResult =
  | {
    status: "ok";
    /** The new value. */
    value: bigint;
    item: Item;
    /** The key was missing and `create` made it (with `value` the initial value). */
    created: boolean;
  }
  | { status: "not_found" | "non_numeric" | "exists" | "no_memory" }
  | {
    /** `create` could not store the new counter. */
    status: "not_created";
    /** For want of memory (else it was not stored). */
    outOfMemory: boolean;
  };

const RESULTS = {
  not_found: { status: "not_found" },
  non_numeric: { status: "non_numeric" },
  exists: { status: "exists" },
  no_memory: { status: "no_memory" },
} as const satisfies Record<string, ArithmeticResult>;

/**
 * incr and decr for every protocol (text `incr`/`decr`, binary INCREMENT and
 * DECREMENT, meta `ma`): unsigned 64-bit, incr wraps, decr stops at 0, the
 * counter rewritten in place or copied by the store's one rule. Counts
 * `incr_hits`/`decr_hits`, and `incr_misses`/`decr_misses` for a missing key
 * it does not create.
 *
 * @example Usage
 * ```ts
 * import { CommandContext } from "../command_context.ts";
 * import { arithmeticCommand } from "./arithmetic_command.ts";
 * import assert from "node:assert/strict";
 *
 * const ctx = new CommandContext();
 * const create = { initial: 10n, exptime: 0 };
 * const key = new TextEncoder().encode("n");
 * const first = ctx.run(arithmeticCommand, { key, op: "incr", delta: 5n, create });
 * assert.ok(first.status === "ok" && first.created && first.value === 10n);
 * const second = ctx.run(arithmeticCommand, { key, op: "incr", delta: 5n });
 * assert.ok(second.status === "ok" && second.value === 15n);
 * ```
 */
export const arithmeticCommand: Command<ArithmeticArgs, ArithmeticResult> = {
  name: "arithmetic",
  access: "write",
  run(ctx, args) {
    const { store } = ctx;
    const c = ctx.stats.c;
    const { key, op } = args;
    const now = ctx.now();
    const result = store.delta(key, {
      now,
      op,
      amount: args.delta,
      cas: args.cas,
      heldElsewhere: args.heldByReply,
    });
    switch (result.status) {
      case "ok":
        if (op === "incr") c.incr_hits++;
        else c.decr_hits++;
        store.slabStats.countFor(op === "incr" ? "incr_hits" : "decr_hits", result.item);
        return { status: "ok", value: result.value, item: result.item, created: false };
      case "not_found":
        break;
      default:
        return RESULTS[result.status];
    }
    const { create } = args;
    if (create === undefined) {
      if (op === "incr") c.incr_misses++;
      else c.decr_misses++;
      return RESULTS.not_found;
    }
    const digits = new TextEncoder().encode(create.initial.toString());
    const created = store.set(key, digits, { now, mode: "add", exptime: create.exptime });
    if (created.status === "stored") {
      return { status: "ok", value: create.initial, item: created.item, created: true };
    }
    return { status: "not_created", outOfMemory: created.status === "no_memory" };
  },
};
